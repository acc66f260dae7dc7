/**
 * The conformance matrix: every backend × every store runs the recall-loop suite, and the stores
 * (and backends sharing weights) are compared across engines — like Kysely's DIALECTS.
 *
 * Filter with comma lists: `MNEMO_BACKENDS=llama.cpp/tiny MNEMO_STORES=hnsw/disk npx vitest run
 * --project conformance`. Each combination is its own describe block in the output.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import { loadOnnxBackend, prepareOnnxModel } from "@mnemo/backend-onnx";
import {
  type BackendFactory,
  createReferenceStore,
  describeCrossEngine,
  describeRecallLoop,
  type RecallLoopCapabilities,
  type StoreFactory,
} from "@mnemo/conformance";
import { openHnswStore } from "@mnemo/store-hnsw";
import { openQdrantStore } from "@mnemo/store-qdrant";
import { afterAll, describe, inject, it } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the qdrant-edge test server (packages/store-qdrant/test/global-setup.ts). */
    qdrantTestServerUrl: string;
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const TINY = join(root, ".mnemo", "models", "tiny-llama.gguf");
const GEMMA = join(root, ".mnemo", "models", "gemma-3-270m-q4_k_m.gguf");
const dir = mkdtempSync(join(tmpdir(), "mnemo-conformance-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface MatrixBackend {
  name: string;
  /** Why it cannot run here, or undefined. */
  unavailable: () => string | undefined;
  create: BackendFactory;
  /** Backends with the same `weights` are compared token for token. */
  weights: string;
  loop: RecallLoopCapabilities;
}
interface MatrixStore {
  name: string;
  create: StoreFactory;
}

const missing = (path: string) => () =>
  existsSync(path) ? undefined : `model file ${path} is missing (run pnpm setup)`;

const TINY_ONNX = join(root, ".mnemo", "models", "tiny-llama-onnx", "model.onnx");

/** The tiny model's ONNX export, prepared (inputs_embeds + last_hidden_state) once per run. */
let preparedTiny: string | undefined;
function tinyOnnx(): string {
  if (preparedTiny === undefined) {
    preparedTiny = join(dir, "tiny.mnemo.onnx");
    prepareOnnxModel(TINY_ONNX, preparedTiny);
  }
  return preparedTiny;
}

/** Every backend, listed once. */
const BACKENDS: MatrixBackend[] = [
  {
    name: "llama.cpp/tiny",
    unavailable: missing(TINY),
    create: () => loadLlamaCppBackend({ modelPath: TINY, threads: 1, contextSize: 256 }),
    weights: "tiny-llama",
    loop: { exactInjection: true },
  },
  {
    // The same weights as llama.cpp/tiny, exported to ONNX (packages/backend-onnx/tools).
    name: "onnx/tiny",
    unavailable: missing(TINY_ONNX),
    create: () =>
      loadOnnxBackend({
        modelPath: tinyOnnx(),
        tokenizerDir: dirname(TINY_ONNX),
        threads: 1,
        contextSize: 256,
      }),
    weights: "tiny-llama",
    loop: { exactInjection: true },
  },
  {
    // The real model for behaviour, in one case only (runtime).
    name: "llama.cpp/gemma-3-270m",
    unavailable: missing(GEMMA),
    create: () => loadLlamaCppBackend({ modelPath: GEMMA, threads: 1, contextSize: 256 }),
    weights: "gemma-3-270m",
    loop: { exactInjection: true, only: ["seed-scenario"] },
  },
];

/** Qdrant collections are named per combination and case (they outlive one store object). */
let qdrantCollections = 0;

/** Every store, listed once. */
const STORES: MatrixStore[] = [
  {
    name: "hnsw/memory",
    create: ({ dimensions, modelIdentity }) =>
      openHnswStore({ dimensions, ...(modelIdentity ? { modelIdentity } : {}) }),
  },
  {
    name: "hnsw/disk",
    create: ({ dimensions, location, modelIdentity }) =>
      openHnswStore({
        path: join(dir, location),
        dimensions,
        autoFlushMs: false,
        efSearch: 400,
        ...(modelIdentity ? { modelIdentity } : {}),
      }),
  },
  {
    // Qdrant's engine behind the OpenAPI-checked test server (started by the project's globalSetup).
    name: "qdrant/edge",
    create: ({ dimensions, location }) =>
      openQdrantStore({
        url: inject("qdrantTestServerUrl"),
        collection: `matrix_${++qdrantCollections}_${location}`.replace(/[^A-Za-z0-9_-]/g, "_"),
        dimensions,
      }),
  },
];

function selected<T extends { name: string }>(all: T[], env: string | undefined): T[] {
  if (!env) return all;
  const names = env
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !all.some((x) => x.name === n));
  if (unknown.length) {
    throw new Error(
      `unknown names ${unknown.join(", ")}; known: ${all.map((x) => x.name).join(", ")}`,
    );
  }
  return all.filter((x) => names.includes(x.name));
}

const backends = selected(BACKENDS, process.env.MNEMO_BACKENDS);
const stores = selected(STORES, process.env.MNEMO_STORES);

for (const backend of backends) {
  for (const store of stores) {
    const combo = `${backend.name} × ${store.name}`;
    const reason = backend.unavailable();
    if (reason !== undefined) {
      describe(combo, () => {
        console.warn(`[conformance] ${combo}: SKIPPED — ${reason}`);
        it.skip(`all cases [skipped: ${reason}]`, () => undefined);
      });
      continue;
    }
    describeRecallLoop(combo, backend.create, store.create, backend.loop);
  }
}

const available = backends.filter((b) => b.unavailable() === undefined);
for (const weights of new Set(BACKENDS.map((b) => b.weights))) {
  describeCrossEngine(`${weights} weights`, {
    backends: available.filter((b) => b.weights === weights),
  });
}
describeCrossEngine("stores", {
  stores,
  reference: { name: "reference (brute force)", create: createReferenceStore },
});

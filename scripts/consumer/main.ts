// The consumer test's program (scripts/consumer-test.mjs copies it into a fresh npm project that
// installed mnemo's packed tarballs): load a model, add memories, generate with a recall.
// Type-checked with tsc under the strictest settings, then run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadLlamaCppBackend, PINNED_NODE_LLAMA_CPP } from "@mnemo/backend-llamacpp";
import {
  createMemoryEncoder,
  encodeMemories,
  type GenerationEvent,
  generate,
  generateText,
  type Injection,
  isMnemoError,
  MnemoError,
} from "@mnemo/core";
import { type HnswStore, openHnswStore } from "@mnemo/store-hnsw";
import { openQdrantStore, pointId, type QdrantStoreOptions } from "@mnemo/store-qdrant";

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`consumer test: ${message}`);
}

const modelPath = process.env.MNEMO_CONSUMER_MODEL;
check(modelPath, "set MNEMO_CONSUMER_MODEL to a GGUF model");

const dir = mkdtempSync(join(tmpdir(), "mnemo-consumer-store-"));
const backend = await loadLlamaCppBackend({ modelPath, contextSize: 256 });
let store: HnswStore | undefined;
try {
  check(backend.info.hiddenWidth > 0, "model info");
  store = await openHnswStore({
    path: dir,
    dimensions: { keyWidth: backend.info.hiddenWidth, valueWidth: backend.info.embeddingWidth },
    modelIdentity: backend.info.identity,
  });
  const encoder = createMemoryEncoder(backend);
  await store.upsert(
    await encodeMemories(encoder, [
      { id: "birthday", text: "The user's birthday is 1 January 1990." },
      { id: "city", text: "The user lives in Hangzhou.", metadata: { topic: "home" } },
    ]),
  );
  await encoder.dispose();
  check((await store.count()) === 2, "two memories stored");

  const result = await generateText({
    backend,
    store,
    prompt: "Let me recall<recall>",
    recall: { trigger: "<recall>", topK: 2, temperature: 0, maxRecalls: 1 },
    sampling: { temperature: 0 },
    maxTokens: 8,
    seed: 1,
  });
  const injection: Injection | undefined = result.injections[0];
  check(injection !== undefined, "a memory was injected");
  check(["birthday", "city"].includes(injection.memoryId), "the injected memory is one of ours");
  check(Number.isFinite(injection.score), "the injection has a score");

  // The streaming API with a typed event union.
  const types = new Set<GenerationEvent["type"]>();
  for await (const event of generate({
    backend,
    store,
    prompt: "Let me recall<recall>",
    maxTokens: 2,
  }))
    types.add(event.type);
  check(types.has("memory-injected") && types.has("finish"), "events streamed");

  // Typed errors cross the package boundary as one class (one copy of @mnemo/core).
  const err = await openHnswStore({ dimensions: { keyWidth: 0, valueWidth: 1 } }).then(
    () => undefined,
    (e: unknown) => e,
  );
  check(
    err instanceof MnemoError && isMnemoError(err),
    "store errors are @mnemo/core's MnemoError",
  );

  // store-qdrant: only its API (no server here).
  const qdrant: QdrantStoreOptions = {
    url: "http://127.0.0.1:1",
    dimensions: { keyWidth: 4, valueWidth: 4 },
    retries: 0,
  };
  check(typeof openQdrantStore === "function" && qdrant.retries === 0, "store-qdrant loads");
  check(/^[0-9a-f-]{36}$/.test(pointId("default", "a")), "store-qdrant computes point ids");

  console.log(
    JSON.stringify({
      nodeLlamaCpp: PINNED_NODE_LLAMA_CPP,
      text: result.text,
      injection: {
        position: injection.position,
        memoryId: injection.memoryId,
        score: injection.score,
      },
      events: [...types],
    }),
  );
} finally {
  await store?.close();
  await backend.dispose();
  rmSync(dir, { recursive: true, force: true });
}

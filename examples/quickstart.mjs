// The README's "use it from code" example, runnable: `node examples/quickstart.mjs` after setup.
// Loads Gemma 3 270M (or MNEMO_MODEL), stores one memory, and generates from the seed's prompt.
import { fileURLToPath } from "node:url";
import { loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import { createMemoryEncoder, encodeMemories, generateText } from "@mnemo/core";
import { openHnswStore } from "@mnemo/store-hnsw";

const modelPath =
  process.env.MNEMO_MODEL ??
  fileURLToPath(new URL("../.mnemo/models/gemma-3-270m-q4_k_m.gguf", import.meta.url));

const backend = await loadLlamaCppBackend({ modelPath });
const store = await openHnswStore({
  // path: "./memories",  // a folder to keep memories on disk; omitted here: in memory
  dimensions: { keyWidth: backend.info.hiddenWidth, valueWidth: backend.info.embeddingWidth },
  modelIdentity: backend.info.identity,
});
const encoder = createMemoryEncoder(backend); // key = hidden state of the text's last token

await store.upsert(
  await encodeMemories(encoder, [
    { id: "birthday", text: "用户的生日是1990年1月1日" },
    { id: "city", text: "用户住在杭州" },
  ]),
);

const { text, injections } = await generateText({
  backend,
  store,
  prompt: "让我回忆一下<recall>",
  recall: { trigger: "<recall>", topK: 5, temperature: 0.1, topP: 0.9, maxRecalls: 1 },
  sampling: { temperature: 0.8, topP: 0.95, repetitionPenalty: 1.15 },
  maxTokens: 32,
  seed: 1,
});
console.log(text);
console.log(injections); // [{ position: 7, kvPosition: 7, score: 0.8…, memoryId: "birthday" | "city", … }]

await encoder.dispose();
await store.close();
await backend.dispose();

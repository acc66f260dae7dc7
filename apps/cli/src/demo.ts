/**
 * `mnemo demo`: the seed's scenario on a real model. Builds a small bank of personal facts
 * (Chinese and English) in a temporary store, then generates from "让我回忆一下<recall>" and an
 * English twin, printing the injection record the seed describes: (position, score).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createMemoryEncoder,
  encodeMemories,
  generateText,
  type MemoryInput,
  type ValueStrategy,
} from "@mnemo/core";
import { openHnswStore } from "@mnemo/store-hnsw";
import { type ModelOptions, openBackend } from "./context.js";
import { traceTable } from "./format.js";

/** The demo's memory bank. */
export const DEMO_MEMORIES: MemoryInput[] = [
  {
    id: "zh-birthday",
    text: "用户的生日是1990年1月1日",
    metadata: { lang: "zh", fact: "birthday" },
  },
  { id: "zh-city", text: "用户住在杭州", metadata: { lang: "zh", fact: "city" } },
  { id: "zh-pet", text: "用户的猫叫小白", metadata: { lang: "zh", fact: "pet" } },
  {
    id: "en-birthday",
    text: "The user's birthday is January 1, 1990.",
    metadata: { lang: "en", fact: "birthday" },
  },
  { id: "en-city", text: "The user lives in Hangzhou.", metadata: { lang: "en", fact: "city" } },
  {
    id: "en-pet",
    text: "The user's cat is called Snowball.",
    metadata: { lang: "en", fact: "pet" },
  },
];

/** The seed's prompt and its English twin. */
export const DEMO_PROMPTS = ["让我回忆一下<recall>", "Let me recall<recall>"];

export async function runDemo(
  options: ModelOptions & {
    seed: number;
    maxTokens: number;
    json?: boolean;
    value?: ValueStrategy;
  },
): Promise<void> {
  const { backend, modelPath } = await openBackend(options);
  const dir = await mkdtemp(join(tmpdir(), "mnemo-demo-"));
  const results = [];
  try {
    const store = await openHnswStore({
      path: dir,
      dimensions: { keyWidth: backend.info.hiddenWidth, valueWidth: backend.info.embeddingWidth },
      modelIdentity: backend.info.identity,
    });
    const encoder = createMemoryEncoder(backend, { value: options.value ?? "mean-embedding" });
    try {
      if (!options.json) {
        console.log(
          `model: ${backend.info.name} (${backend.info.architecture}, hidden width ${backend.info.hiddenWidth}) from ${modelPath}`,
        );
        console.log(
          `memory bank: ${DEMO_MEMORIES.length} memories, value = ${encoder.options.value}${encoder.options.value === "token-embeddings" ? " (one vector per token)" : " (one vector, as in the seed)"}`,
        );
      }
      await store.upsert(await encodeMemories(encoder, DEMO_MEMORIES));
      for (const prompt of DEMO_PROMPTS) {
        const promptTokens = backend.tokenize(prompt, { addSpecial: true, parseSpecial: true });
        const result = await generateText({
          backend,
          store,
          prompt,
          seed: options.seed,
          maxTokens: options.maxTokens,
          recall: { trigger: "<recall>", topK: 3, temperature: 0.1, topP: 0.9 },
          sampling: { repetitionPenalty: 1.15 },
        });
        const candidates = result.events.find((e) => e.type === "recall-candidates");
        results.push({
          prompt,
          promptTokens: promptTokens.length,
          text: result.text,
          injections: result.injections,
          candidates: candidates?.type === "recall-candidates" ? candidates.candidates : [],
          memoryInjectionPositions: result.injections.map((i) => [
            i.position,
            Number(i.score.toFixed(4)),
          ]),
        });
        if (options.json) continue;
        console.log(
          `\nprompt: ${prompt}   (${promptTokens.length} tokens, BOS included; the trigger is the last)`,
        );
        if (candidates?.type === "recall-candidates") {
          for (const c of candidates.candidates) {
            console.log(
              `  candidate ${c.memoryId.padEnd(12)} cos ${c.score.toFixed(4)}  p ${c.probability.toFixed(3)}  ${c.text ?? ""}`,
            );
          }
        }
        console.log(`output: ${prompt}\x1b[35m⟨memory⟩\x1b[0m${result.text}`);
        console.log(traceTable(result.injections));
        console.log(
          `memory_injection_positions = ${JSON.stringify(results.at(-1)?.memoryInjectionPositions)}`,
        );
      }
      if (options.json) console.log(JSON.stringify({ model: modelPath, results }, null, 2));
      else if (encoder.options.value !== "token-embeddings")
        console.log(
          "\nGemma 3 270M was never trained to read a memory from one injected vector: the memory steers the text rather than being recited. " +
            "Try `pnpm mnemo demo --value token-embeddings` to inject every token of a memory instead.",
        );
    } finally {
      await encoder.dispose();
      await store.close();
    }
  } finally {
    await backend.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

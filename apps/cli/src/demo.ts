/**
 * `mnemo demo`: the seed's scenario on a real model. Builds a small bank of personal facts
 * (Chinese and English) in a temporary store, then generates from "让我回忆一下<recall>" and an
 * English twin, printing the injection record the seed describes: (position, score).
 *
 * `mnemo demo --recall-model`: the same scenario on mnemo's recall demo model
 * (`@mnemo/model-recall-demo`), which was trained to write `<recall>` itself and to read a memory
 * from one injected vector: questions in its prompt template, answers that state the fact.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createMemoryEncoder,
  encodeMemories,
  formatPrompt,
  generateText,
  type MemoryEncoderOptions,
  type MemoryInput,
  MnemoError,
  type ValueStrategy,
} from "@mnemo/core";
import { openHnswStore } from "@mnemo/store-hnsw";
import { type ModelOptions, openBackend } from "./context.js";
import { paint, traceTable } from "./format.js";

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

/** Options of `mnemo demo`. */
export type DemoOptions = ModelOptions & {
  seed: number;
  /** Default 32 (Gemma), 96 (recall model: byte-level tokens). */
  maxTokens?: number;
  json?: boolean;
  value?: ValueStrategy;
  /** Run on `@mnemo/model-recall-demo` instead of Gemma 3 270M. */
  recallModel?: boolean;
  /** With `recallModel`: vectors per memory (default 1, the seed's one vector). */
  valueVectors?: number;
};

export async function runDemo(options: DemoOptions): Promise<void> {
  if (options.recallModel) return runRecallModelDemo(options);
  if (options.valueVectors !== undefined) {
    throw new MnemoError(
      "INVALID_OPTION",
      "--value-vectors applies to the recall demo model only: add --recall-model (Gemma was never trained to read several hidden-state vectors).",
    );
  }
  const maxTokens = options.maxTokens ?? 32;
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
          maxTokens,
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
        console.log(`output: ${prompt}${paint("35", "⟨memory⟩")}${result.text}`);
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

/**
 * The recall model's bank: one person (the user) with a birthday, a city and a pet, in zh and en,
 * one namespace per language (the model was trained on same-language memories only: a Chinese
 * memory sampled for an English question comes out as broken text).
 */
export const RECALL_DEMO_MEMORIES: MemoryInput[] = [
  {
    id: "zh-birthday",
    namespace: "zh",
    text: "用户的生日是1990年1月1日",
    metadata: { fact: "birthday" },
  },
  { id: "zh-city", namespace: "zh", text: "用户住在杭州", metadata: { fact: "city" } },
  { id: "zh-pet", namespace: "zh", text: "用户的宠物叫小白", metadata: { fact: "pet" } },
  {
    id: "en-birthday",
    namespace: "en",
    text: "The user's birthday is January 1, 1990",
    metadata: { fact: "birthday" },
  },
  {
    id: "en-city",
    namespace: "en",
    text: "The user lives in Hangzhou",
    metadata: { fact: "city" },
  },
  {
    id: "en-pet",
    namespace: "en",
    text: "The user's pet is called Snowball",
    metadata: { fact: "pet" },
  },
];

/**
 * The recall model's questions, each searched in its language's namespace. `reply` is put after
 * the prompt template: the seed's "让我回忆一下<recall>" (the prompt ends in the trigger), or nothing
 * (the model writes `<recall>`).
 */
export const RECALL_DEMO_QUESTIONS: {
  question: string;
  namespace: "zh" | "en";
  reply: string;
  expect: string;
}[] = [
  {
    question: "我的生日是哪天？",
    namespace: "zh",
    reply: "让我回忆一下<recall>",
    expect: "1990年1月1日",
  },
  { question: "我住在哪个城市？", namespace: "zh", reply: "", expect: "杭州" },
  { question: "我的宠物叫什么？", namespace: "zh", reply: "", expect: "小白" },
  {
    question: "When is my birthday?",
    namespace: "en",
    reply: "Let me recall. <recall>",
    expect: "January 1, 1990",
  },
  { question: "What is my home city?", namespace: "en", reply: "", expect: "Hangzhou" },
  { question: "What is my pet's name?", namespace: "en", reply: "", expect: "Snowball" },
];

/** What `@mnemo/model-recall-demo`'s model.json holds. */
interface RecallModelConfig {
  trigger: string;
  encoder: MemoryEncoderOptions;
  prompt: { template: string };
  stop: string[];
}

/** `@mnemo/model-recall-demo` is optional (a 13 MB model): loaded only for `--recall-model`. */
async function loadRecallModelPackage(): Promise<typeof import("@mnemo/model-recall-demo")> {
  try {
    return await import("@mnemo/model-recall-demo");
  } catch (error) {
    throw new MnemoError(
      "MODEL_NOT_FOUND",
      "`mnemo demo --recall-model` needs the optional package @mnemo/model-recall-demo: install it next to @mnemo/cli.",
      { cause: error },
    );
  }
}

/** Most vectors per memory the recall demo model was trained to read (its training drew n from 1, 2, 4, 8). */
const RECALL_MODEL_MAX_VALUE_VECTORS = 8;

async function runRecallModelDemo(options: DemoOptions): Promise<void> {
  // Refused before the model loads. Below 1 the encoder's own check answers (same code).
  if (options.valueVectors !== undefined && options.valueVectors > RECALL_MODEL_MAX_VALUE_VECTORS) {
    throw new MnemoError(
      "INVALID_OPTION",
      `--value-vectors ${options.valueVectors}: the recall demo model was trained to read 1 to ${RECALL_MODEL_MAX_VALUE_VECTORS} vectors per memory (more would go in as positions it never saw); pass a number from 1 to ${RECALL_MODEL_MAX_VALUE_VECTORS}.`,
    );
  }
  const pkg = await loadRecallModelPackage();
  const config = JSON.parse(await readFile(pkg.configPath, "utf8")) as RecallModelConfig;
  const { backend, modelPath } = await openBackend({
    ...options,
    model: options.model ?? pkg.modelPath,
  });
  const results = [];
  try {
    const store = await openHnswStore({
      dimensions: { keyWidth: backend.info.hiddenWidth, valueWidth: backend.info.embeddingWidth },
      modelIdentity: backend.info.identity,
    });
    // The seed's scenario: one vector per memory unless asked for more (model.json says 4).
    const encoder = createMemoryEncoder(backend, {
      ...config.encoder,
      valueVectors: options.valueVectors ?? 1,
    });
    try {
      if (!options.json) {
        console.log(
          `model: ${backend.info.name} (${backend.info.architecture}, hidden width ${backend.info.hiddenWidth}) from ${modelPath}`,
        );
        const bank = `memory bank: ${RECALL_DEMO_MEMORIES.length} memories in namespaces "zh" and "en" (each question searches its language's)`;
        console.log(
          encoder.options.valueVectors === 1
            ? `${bank}, key = value = hidden state at </s> of "<s>{text}</s>" (one vector, as in the seed)`
            : `${bank}, key = hidden state at </s> of "<s>{text}</s>"; value = it and the states at ${encoder.options.valueVectors - 1} "${encoder.options.valueFiller}" after it (${encoder.options.valueVectors} vectors)`,
        );
      }
      await store.upsert(await encodeMemories(encoder, RECALL_DEMO_MEMORIES));
      for (const q of RECALL_DEMO_QUESTIONS) {
        const prompt = formatPrompt(config.prompt.template, q.question) + q.reply;
        const promptTokens = backend.tokenize(prompt, { addSpecial: true, parseSpecial: true });
        const result = await generateText({
          backend,
          store,
          prompt,
          seed: options.seed,
          maxTokens: options.maxTokens ?? 96,
          stop: config.stop,
          sampling: { temperature: 0 },
          recall: {
            trigger: config.trigger,
            namespace: q.namespace,
            topK: 3,
            temperature: 0.1,
            topP: 0.9,
          },
        });
        const candidates = result.events.find((e) => e.type === "recall-candidates");
        results.push({
          question: q.question,
          namespace: q.namespace,
          prompt,
          promptTokens: promptTokens.length,
          text: result.text,
          expected: q.expect,
          correct: result.text.includes(q.expect),
          injections: result.injections,
          candidates: candidates?.type === "recall-candidates" ? candidates.candidates : [],
          memoryInjectionPositions: result.injections.map((i) => [
            i.position,
            Number(i.score.toFixed(4)),
          ]),
        });
        if (options.json) continue;
        const where = q.reply
          ? `the prompt ends in the trigger: the memory goes in at position ${promptTokens.length}`
          : "the model writes the trigger itself";
        console.log(
          `\nprompt: ${JSON.stringify(prompt)}   (${promptTokens.length} tokens, BOS included; ${where})`,
        );
        if (candidates?.type === "recall-candidates") {
          for (const c of candidates.candidates) {
            console.log(
              `  candidate ${c.memoryId.padEnd(12)} cos ${c.score.toFixed(4)}  p ${c.probability.toFixed(3)}  ${c.text ?? ""}`,
            );
          }
        }
        const memory = paint("35", "⟨memory⟩");
        const shown = q.reply
          ? `${q.reply}${memory}${result.text}`
          : result.text.replace(config.trigger, `${config.trigger}${memory}`);
        console.log(`output: ${shown}`);
        console.log(traceTable(result.injections));
        console.log(
          `memory_injection_positions = ${JSON.stringify(results.at(-1)?.memoryInjectionPositions)}`,
        );
      }
      const correct = results.filter((r) => r.correct).length;
      if (options.json) console.log(JSON.stringify({ model: modelPath, results }, null, 2));
      else
        console.log(
          `\n${correct}/${results.length} answers state the stored fact. The model was trained (packages/model-recall-demo) ` +
            `to read a memory from the ${encoder.options.valueVectors === 1 ? "one vector" : `${encoder.options.valueVectors} vectors`} injected after <recall>; the answer is that memory's sentence.`,
        );
    } finally {
      await encoder.dispose();
      await store.close();
    }
  } finally {
    await backend.dispose();
  }
}

/**
 * The recall demo model through mnemo's own loop (CI-sized): llama.cpp on the CPU, the
 * MemoryEncoder with model.json's settings, an in-memory HNSW store, `generateText`.
 *
 * Test items: `fixture.json`, written by
 *   python training/data.py --export-eval test/fixture.json --seed 20261129 --people 5 \
 *     --questions-per-person 2 --heldout-people 0 --general 0 --open-people 4
 * (5 new people with six memories each, two questions each in seen phrasing; 4 people whose values
 * are random strings never seen in training, two questions each). Measured on these: 10/10 exact
 * values both ways with ONE vector, wrong memory followed 5/5, random values 8/8 with model.json's
 * 4 vectors; on evaluate.py's items `eval/loop-eval.mjs` gives the numbers in eval-loop.json. The
 * thresholds below leave a margin for llama.cpp builds that differ slightly.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import {
  createMemoryEncoder,
  encodeMemories,
  formatPrompt,
  type GenerateTextResult,
  generateText,
  type InferenceBackend,
  type MemoryEncoder,
  type MemoryInput,
  type MemoryStore,
} from "@mnemo/core";
import { openHnswStore } from "@mnemo/store-hnsw";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const pkg = resolve(import.meta.dirname, "..");
const MODEL = join(pkg, "model", "mnemo-recall-demo.gguf");
const config = JSON.parse(readFileSync(join(pkg, "model", "model.json"), "utf8")) as {
  trigger: string;
  encoder: {
    value: "hidden-state";
    keyTemplate: string;
    addBos: boolean;
    valueVectors: number;
    valueFiller: string;
  };
  prompt: { template: string };
  stop: string[];
};

interface Person {
  lang: "zh" | "en";
  name: string;
  facts: Record<string, string>;
  memories: Record<string, string>;
}
interface Question {
  person: number;
  ftype: string;
  question: string;
}
const fixture = JSON.parse(readFileSync(join(pkg, "test", "fixture.json"), "utf8")) as {
  fact_types: string[];
  people: Person[];
  open_value_people: Person[];
  questions: { train_values_seen_phrasing: Question[]; open_values_seen_phrasing: Question[] };
};
const people = fixture.people;
const questions = fixture.questions.train_values_seen_phrasing;

/** A skip reason (printed) when the GGUF is missing or is a Git LFS pointer, else `undefined`. */
function missingModel(): string | undefined {
  if (existsSync(MODEL) && statSync(MODEL).size > 1_000_000) return undefined;
  const reason = `SKIPPED: ${MODEL} not found (or not the real file); the recall demo model ships in packages/model-recall-demo/model/.`;
  console.warn(reason);
  return reason;
}

/** The seed's prompt style, ending in the trigger: what the model writes before `<recall>`. */
const SEED_PREFIX = { zh: "让我回忆一下", en: "Let me recall. " };

describe.skipIf(missingModel())("recall demo model through mnemo's loop (llama.cpp, CPU)", () => {
  let backend: InferenceBackend;
  let encoder: MemoryEncoder;
  let store: MemoryStore;
  let triggerId: number;

  const promptOf = (q: string) => formatPrompt(config.prompt.template, q);
  const ask = (prompt: string, namespace: string): Promise<GenerateTextResult> =>
    generateText({
      backend,
      store,
      prompt,
      maxTokens: 96,
      stop: config.stop,
      sampling: { temperature: 0 },
      recall: { trigger: config.trigger, topK: 5, temperature: 0, namespace },
    });
  /** The answer: what follows the (last) trigger. */
  const answer = (r: GenerateTextResult) => r.text.slice(r.text.lastIndexOf(config.trigger) + 8);

  beforeAll(async () => {
    backend = await loadLlamaCppBackend({ modelPath: MODEL, threads: 1 });
    [triggerId] = backend.tokenize(config.trigger, { addSpecial: false, parseSpecial: true }) as [
      number,
    ];
    // The seed's mechanism: ONE vector per memory (model.json's default is 4; tested below).
    encoder = createMemoryEncoder(backend, { ...config.encoder, valueVectors: 1 });
    store = await openHnswStore({
      dimensions: { keyWidth: backend.info.hiddenWidth, valueWidth: backend.info.embeddingWidth },
      modelIdentity: backend.info.identity,
    });
    const inputs: MemoryInput[] = people.flatMap((p, i) =>
      fixture.fact_types.map((ft) => ({ id: `p${i}-${ft}`, text: p.memories[ft] as string })),
    );
    const records = await encodeMemories(encoder, inputs);
    // One namespace per person, one shared by all, one per single memory (wrong-memory control).
    await store.upsert(records.map((r) => ({ ...r, namespace: "all" })));
    await store.upsert(records.map((r) => ({ ...r, namespace: `p:${r.id.split("-")[0]}` })));
    await store.upsert(records.map((r) => ({ ...r, namespace: `one:${r.id}` })));
  });
  afterAll(async () => {
    await encoder?.dispose();
    await store?.close();
    await backend?.dispose();
  });

  it("model.json matches the model: <recall> is one token, hidden = embedding width", () => {
    expect(triggerId).toBe(259);
    expect(backend.info.hiddenWidth).toBe(backend.info.embeddingWidth);
    expect(encoder.options).toEqual({ ...config.encoder, valueVectors: 1 });
    expect(config.encoder.valueVectors).toBe(4);
    expect(
      backend.tokenize(config.encoder.valueFiller, { addSpecial: false, parseSpecial: true }),
    ).toEqual([261]); // <pad>
  });

  it("an n-vector value: vector 1 is the key, vector i the hidden state after i - 1 fillers", async () => {
    const four = createMemoryEncoder(backend, config.encoder);
    const text = people[0]?.memories.city as string;
    const got = await four.encode(text);
    await four.dispose();
    const width = backend.info.embeddingWidth;
    expect(got.value).toHaveLength(4 * width);
    expect(Array.from(got.value.subarray(0, width))).toEqual(Array.from(got.key));
    // Independently: the whole key text + fillers in ONE forward on a fresh sequence, last state.
    const keyTokens = backend.tokenize(config.encoder.keyTemplate.replace("{text}", text), {
      addSpecial: true,
      parseSpecial: true,
    });
    for (let i = 1; i < 4; i++) {
      const seq = await backend.createSequence();
      const out = await seq.forwardTokens([...keyTokens, ...Array(i).fill(261)], {
        wantHiddenState: true,
      });
      await seq.dispose();
      const want = out.hiddenState as Float32Array;
      const row = got.value.subarray(i * width, (i + 1) * width);
      let maxDiff = 0;
      let maxAbs = 0;
      for (let j = 0; j < width; j++) {
        maxDiff = Math.max(maxDiff, Math.abs((row[j] as number) - (want[j] as number)));
        maxAbs = Math.max(maxAbs, Math.abs(want[j] as number));
      }
      // llama.cpp's f16 KV cache: one position at a time vs one batch differ by rounding only.
      expect(maxDiff / maxAbs, `vector ${i + 1}`).toBeLessThan(1e-2);
    }
  });

  it("bad value-vector options are refused with INVALID_OPTION before any model call", () => {
    const bad = [
      { ...config.encoder, valueVectors: 0 },
      { ...config.encoder, valueVectors: 65 },
      { ...config.encoder, valueVectors: 2.5 },
      { ...config.encoder, valueFiller: "" },
      { ...config.encoder, valueFiller: "ab" }, // two tokens
      { ...config.encoder, value: "mean-embedding" as const },
    ];
    for (const options of bad)
      expect(() => createMemoryEncoder(backend, options), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: "INVALID_OPTION" }),
      );
  });

  it("model.json's 4 vectors per memory carry random values never seen in training", async () => {
    const four = createMemoryEncoder(backend, config.encoder);
    const open = fixture.open_value_people;
    let exact = 0;
    const asked = fixture.questions.open_values_seen_phrasing;
    for (const [k, q] of asked.entries()) {
      const p = open[q.person] as Person;
      const memory = p.memories[q.ftype] as string;
      const [rec] = await encodeMemories(four, [{ id: `o${k}`, text: memory, namespace: `o${k}` }]);
      await store.upsert([rec as NonNullable<typeof rec>]);
      const r = await ask(promptOf(q.question), `o${k}`);
      expect(r.injections[0]?.vectorCount, q.question).toBe(4);
      if (answer(r) === memory) exact++;
      else console.log(`  not exact: ${JSON.stringify(memory)} -> ${JSON.stringify(answer(r))}`);
    }
    await four.dispose();
    console.log(`random values through 4 vectors: exact memory text ${exact}/${asked.length}`);
    // measured 8/8 (stage 3's weights: 7/8); evaluate.py: 0.997 overall, 0.992 at 17–24 bytes
    expect(exact).toBeGreaterThanOrEqual(asked.length - 2);
  });

  it("the model writes <recall> itself; the injection sits right after it and the answer has the fact", async () => {
    let exact = 0;
    for (const q of questions) {
      const p = people[q.person] as Person;
      const r = await ask(promptOf(q.question), `p:p${q.person}`);
      const at = r.tokens.indexOf(triggerId);
      expect(at, q.question).toBeGreaterThanOrEqual(0);
      expect(r.injections, q.question).toHaveLength(1);
      const [inj] = r.injections;
      // position = tokens before the memory: prompt (BOS included) + generated tokens up to <recall>
      expect(inj?.position).toBe(r.usage.promptTokens + at + 1);
      expect(inj?.vectorCount).toBe(1);
      expect(r.finishReason).toBe("eos");
      if (
        inj?.memoryId === `p${q.person}-${q.ftype}` &&
        answer(r).includes(p.facts[q.ftype] ?? "?")
      )
        exact++;
    }
    console.log(`model-written <recall>: exact value ${exact}/${questions.length}`);
    expect(exact).toBeGreaterThanOrEqual(8); // measured 10/10
  });

  it('"让我回忆一下<recall>": the prompt ends in the trigger; injection at the prompt length, fact from the shared namespace', async () => {
    let exact = 0;
    for (const q of questions) {
      const p = people[q.person] as Person;
      const prompt = promptOf(q.question) + SEED_PREFIX[p.lang] + config.trigger;
      const promptTokens = backend.tokenize(prompt, { addSpecial: true, parseSpecial: true });
      expect(promptTokens.at(-1)).toBe(triggerId);
      const r = await ask(prompt, "all");
      expect(r.injections, prompt).toHaveLength(1);
      expect(r.injections[0]?.position).toBe(promptTokens.length);
      expect(r.injections[0]?.kvPosition).toBe(promptTokens.length);
      if (
        r.injections[0]?.memoryId === `p${q.person}-${q.ftype}` &&
        r.text.includes(p.facts[q.ftype] ?? "?")
      )
        exact++;
    }
    console.log(`prompt ending in <recall>: exact value ${exact}/${questions.length}`);
    expect(exact).toBeGreaterThanOrEqual(8); // measured 10/10 with stage 11's weights (9/10 with stage 10's)
  });

  it("wrong-memory control: another person's memory of the same type gives that person's value", async () => {
    let follows = 0;
    let givesRight = 0;
    const some = questions.filter((_, i) => i % 2 === 0); // 5 questions, one per person
    for (const q of some) {
      const p = people[q.person] as Person;
      const wi = q.person + 2 < people.length ? q.person + 2 : q.person - 2; // same language
      const w = people[wi] as Person;
      const wrongId = `p${wi}-${q.ftype}`;
      const r = await ask(promptOf(q.question), `one:${wrongId}`);
      expect(r.injections[0]?.memoryId).toBe(wrongId);
      const a = answer(r);
      if (a.includes(w.facts[q.ftype] ?? "?")) follows++;
      if (a.includes(p.facts[q.ftype] ?? "?")) givesRight++;
    }
    console.log(`wrong memory: follows ${follows}/${some.length}, right value ${givesRight}`);
    expect(follows).toBeGreaterThanOrEqual(4); // measured 5/5
    expect(givesRight).toBe(0);
  });
});

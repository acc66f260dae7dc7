/**
 * The recall loop on real engines: llama.cpp (tiny deterministic model for exact checks, Gemma 3
 * 270M for behaviour) × the HNSW store. Every expectation is computed independently of the loop.
 */

import { loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import {
  cosineSimilarity,
  createMemoryEncoder,
  encodeMemories,
  type GenerationEvent,
  generate,
  generateText,
  type InferenceBackend,
  memoryProbabilities,
} from "@mnemo/core";
import { type HnswStore, openHnswStore } from "@mnemo/store-hnsw";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GEMMA_MODEL, missing, TINY_MODEL } from "./models.js";

async function newStore(backend: InferenceBackend): Promise<HnswStore> {
  return openHnswStore({
    dimensions: { keyWidth: backend.info.hiddenWidth, valueWidth: backend.info.embeddingWidth },
    modelIdentity: backend.info.identity,
  });
}

/** Greedy continuation computed by hand: one forward per step, argmax of the logits. */
async function greedyByHand(
  backend: InferenceBackend,
  prompt: number[],
  n: number,
): Promise<number[]> {
  const seq = await backend.createSequence();
  try {
    let { logits } = await seq.forwardTokens(prompt);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let t = 1; t < logits.length; t++)
        if ((logits[t] as number) > (logits[best] as number)) best = t;
      out.push(best);
      ({ logits } = await seq.forwardTokens([best]));
    }
    return out;
  } finally {
    await seq.dispose();
  }
}

const GREEDY = { temperature: 0 } as const;

describe.skipIf(missing(TINY_MODEL))("recall loop × llama.cpp × HNSW (tiny model, exact)", () => {
  let backend: InferenceBackend;
  let store: HnswStore;
  const RECALL = 259; // <recall> in the tiny model's vocabulary (scripts/make-tiny-model.py)

  beforeAll(async () => {
    backend = await loadLlamaCppBackend({ modelPath: TINY_MODEL, threads: 1, contextSize: 512 });
    store = await newStore(backend);
  });
  afterAll(async () => {
    await store?.close();
    await backend?.dispose();
  });

  it("the model has the <recall> token the tests assume", () => {
    expect(backend.tokenize("<recall>", { addSpecial: false })).toEqual([RECALL]);
  });

  it("without recall, greedy generation equals a hand-rolled greedy loop (KV reuse = step-by-step forward)", async () => {
    const prompt = backend.tokenize("hello world", { addSpecial: true });
    const r = await generateText({
      backend,
      prompt,
      recall: false,
      sampling: GREEDY,
      maxTokens: 12,
      stopAtEos: false,
    });
    expect(r.tokens).toEqual(await greedyByHand(backend, prompt, 12));
  });

  it("KV reuse equals recomputation: each generated token is the argmax of a fresh prefill of everything before it", async () => {
    const prompt = backend.tokenize("the cat", { addSpecial: true });
    const r = await generateText({
      backend,
      prompt,
      recall: false,
      sampling: GREEDY,
      maxTokens: 8,
      stopAtEos: false,
    });
    for (let i = 0; i < r.tokens.length; i++) {
      const seq = await backend.createSequence();
      const { logits } = await seq.forwardTokens([...prompt, ...r.tokens.slice(0, i)]);
      await seq.dispose();
      let best = 0;
      for (let t = 1; t < logits.length; t++)
        if ((logits[t] as number) > (logits[best] as number)) best = t;
      expect(r.tokens[i]).toBe(best);
    }
  });

  it("injecting a memory's token-embedding rows after <recall> equals feeding the memory's tokens", async () => {
    const encoder = createMemoryEncoder(backend, { value: "token-embeddings" });
    const memoryText = "the world";
    await store.upsert(
      await encodeMemories(encoder, [{ id: "only", text: memoryText, namespace: "inject" }]),
    );
    await encoder.dispose();
    const prompt = backend.tokenize("hello <recall>", { addSpecial: true });
    const withRecall = await generateText({
      backend,
      store,
      prompt,
      recall: { trigger: RECALL, namespace: "inject", temperature: 0 },
      sampling: GREEDY,
      maxTokens: 10,
      stopAtEos: false,
    });
    const memoryTokens = backend.tokenize(memoryText, { addSpecial: false });
    const expected = await greedyByHand(backend, [...prompt, ...memoryTokens], 10);
    expect(withRecall.injections).toHaveLength(1);
    expect(withRecall.injections[0]).toMatchObject({
      position: prompt.length,
      kvPosition: prompt.length,
      vectorCount: memoryTokens.length,
      memoryId: "only",
    });
    expect(withRecall.tokens).toEqual(expected);
  });

  it("seed scenario: one injection at position = prompt tokens, score = cosine(query, key), query = hidden state of the trigger", async () => {
    const encoder = createMemoryEncoder(backend);
    const texts = ["alpha", "beta gamma", "delta", "epsilon zeta eta"];
    await store.upsert(
      await encodeMemories(
        encoder,
        texts.map((text, i) => ({ id: `s${i}`, text, namespace: "seed" })),
      ),
    );
    await encoder.dispose();
    const prompt = backend.tokenize("hello <recall>", { addSpecial: true });
    const events: GenerationEvent[] = [];
    for await (const e of generate({
      backend,
      store,
      prompt,
      recall: { trigger: RECALL, namespace: "seed", temperature: 0 },
      sampling: GREEDY,
      maxTokens: 5,
    })) {
      events.push(e);
    }
    const finish = events.at(-1);
    if (finish?.type !== "finish") throw new Error(`no finish: ${JSON.stringify(finish)}`);
    expect(finish.injections).toHaveLength(1);
    const injection = finish.injections[0];
    expect(injection?.position).toBe(prompt.length);

    // The query, recomputed on a fresh sequence.
    const seq = await backend.createSequence();
    const { hiddenState } = await seq.forwardTokens(prompt, { wantHiddenState: true });
    await seq.dispose();
    const start = events.find((e) => e.type === "recall-start");
    if (start?.type !== "recall-start" || !hiddenState) throw new Error("no query");
    for (let i = 0; i < hiddenState.length; i++)
      expect(start.query[i]).toBeCloseTo(hiddenState[i] as number, 5);

    // The best memory by brute force over the stored keys.
    const stored = await store.get(
      texts.map((_, i) => `s${i}`),
      "seed",
    );
    const scores = stored.map((m) => cosineSimilarity(hiddenState, m?.key ?? []));
    const best = scores.indexOf(Math.max(...scores));
    expect(injection?.memoryId).toBe(`s${best}`);
    expect(injection?.score).toBeCloseTo(scores[best] as number, 5);
  });

  it("a generated trigger recalls: the memory goes in after the generated token", async () => {
    const prompt = backend.tokenize("hello world", { addSpecial: true });
    const plain = await greedyByHand(backend, prompt, 6);
    const trigger = plain[3] as number; // the model's own 4th token becomes the trigger
    const first = plain.indexOf(trigger);
    await store.upsert([
      {
        id: "g",
        namespace: "gen",
        key: new Float32Array(backend.info.hiddenWidth).fill(1),
        value: await backend.tokenEmbeddings([5]),
      },
    ]);
    const r = await generateText({
      backend,
      store,
      prompt,
      recall: { trigger, namespace: "gen", maxRecalls: 1 },
      sampling: GREEDY,
      maxTokens: 6,
      stopAtEos: false,
    });
    expect(r.injections).toHaveLength(1);
    expect(r.injections[0]?.position).toBe(prompt.length + first + 1);
    expect(r.tokens.slice(0, first + 1)).toEqual(plain.slice(0, first + 1));
    // After the injected vector, the tokens are those of feeding token 5 (its embedding row) there.
    const afterInjection = await greedyByHand(
      backend,
      [...prompt, ...plain.slice(0, first + 1), 5],
      6 - first - 1,
    );
    expect(r.tokens.slice(first + 1)).toEqual(afterInjection);
  });

  it("memory sampling frequencies over seeded runs match softmax(score / T) restricted to top-p", async () => {
    const encoder = createMemoryEncoder(backend);
    const texts = ["a", "b", "c", "d", "e", "f"];
    await store.upsert(
      await encodeMemories(
        encoder,
        texts.map((text, i) => ({ id: `f${i}`, text, namespace: "freq" })),
      ),
    );
    await encoder.dispose();
    const prompt = backend.tokenize("x<recall>", { addSpecial: true });
    const recall = { trigger: RECALL, namespace: "freq", topK: 4, temperature: 0.02, topP: 0.95 };
    const counts = new Map<string, number>();
    let candidates: { memoryId: string; score: number }[] = [];
    const runs = 400;
    for (let seed = 0; seed < runs; seed++) {
      const r = await generateText({
        backend,
        store,
        prompt,
        recall,
        sampling: GREEDY,
        maxTokens: 1,
        seed,
      });
      const ev = r.events.find((e) => e.type === "recall-candidates");
      if (ev?.type === "recall-candidates") candidates = ev.candidates;
      const id = r.injections[0]?.memoryId ?? "none";
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const probs = memoryProbabilities(
      candidates.map((c) => c.score),
      recall.temperature,
      recall.topP,
    );
    candidates.forEach((c, i) => {
      const p = probs[i] as number;
      const n = counts.get(c.memoryId) ?? 0;
      const sd = Math.sqrt(runs * p * (1 - p));
      expect(Math.abs(n - runs * p)).toBeLessThanOrEqual(4.5 * sd + 2);
    });
    expect([...counts.keys()].every((id) => candidates.some((c) => c.memoryId === id))).toBe(true);
  });

  it("abort stops the engine mid-generation", async () => {
    const controller = new AbortController();
    let tokens = 0;
    let finish: GenerationEvent | undefined;
    for await (const e of generate({
      backend,
      prompt: "hello",
      recall: false,
      maxTokens: 400,
      stopAtEos: false,
      signal: controller.signal,
    })) {
      if (e.type === "token" && ++tokens === 5) controller.abort();
      if (e.type === "finish") finish = e;
    }
    expect(finish).toMatchObject({ type: "finish", finishReason: "aborted" });
    expect(tokens).toBe(5);
  });
});

describe.skipIf(missing(GEMMA_MODEL))("recall loop × llama.cpp × HNSW (Gemma 3 270M)", () => {
  let backend: InferenceBackend;
  let store: HnswStore;

  beforeAll(async () => {
    backend = await loadLlamaCppBackend({ modelPath: GEMMA_MODEL, contextSize: 1024 });
    store = await newStore(backend);
    const encoder = createMemoryEncoder(backend);
    await store.upsert(
      await encodeMemories(encoder, [
        { id: "birthday", text: "用户的生日是1990年1月1日" },
        { id: "city", text: "用户住在杭州" },
        { id: "en-birthday", text: "The user's birthday is January 1, 1990." },
      ]),
    );
    await encoder.dispose();
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await backend?.dispose();
  });

  it("the seed's prompt: a text trigger of several tokens, one injection at position = prompt token count", async () => {
    const prompt = "让我回忆一下<recall>";
    const promptTokens = backend.tokenize(prompt, { addSpecial: true });
    expect(backend.tokenize("<recall>", { addSpecial: false }).length).toBeGreaterThan(1);
    const r = await generateText({
      backend,
      store,
      prompt,
      // One recall: Gemma tends to write "<recall>" again after it, which would recall again.
      recall: { temperature: 0, maxRecalls: 1 },
      maxTokens: 16,
      seed: 3,
    });
    expect(r.injections).toHaveLength(1);
    const injection = r.injections[0];
    expect(injection?.position).toBe(promptTokens.length);
    expect(injection?.kvPosition).toBe(promptTokens.length);
    const start = r.events.find((e) => e.type === "recall-start");
    const [memory] = await store.get([injection?.memoryId ?? ""]);
    if (start?.type !== "recall-start" || !memory) throw new Error("missing query or memory");
    expect(injection?.score).toBeCloseTo(cosineSimilarity(start.query, memory.key), 5);
    // The last sampled token is never forwarded unless generation went on after it (EOS ends it).
    const forwarded = r.finishReason === "eos" ? r.tokens.length : r.tokens.length - 1;
    expect(r.usage.kvPositions).toBe(promptTokens.length + 1 + forwarded);
  });

  it("streams Chinese text whole: no delta holds a broken character", async () => {
    const r = await generateText({
      backend,
      prompt: "请用中文介绍一下杭州。",
      recall: false,
      maxTokens: 24,
      seed: 1,
      sampling: { temperature: 0 },
    });
    const deltas = r.events.flatMap((e) =>
      e.type === "token" || e.type === "text" ? [e.text] : [],
    );
    expect(deltas.join("")).toBe(r.text);
    expect(/[\u4e00-\u9fff]/.test(r.text)).toBe(true);
    if (!r.text.includes("\uFFFD")) expect(deltas.some((d) => d.includes("\uFFFD"))).toBe(false);
    // Tokens whose bytes end mid-character give an empty delta, not half a character.
    const byteTokens = r.tokens.filter((t) => {
      const b = backend.tokenBytes(t);
      return (
        b.length > 0 && new TextDecoder("utf-8", { fatal: false }).decode(b).includes("\uFFFD")
      );
    });
    if (byteTokens.length > 0) expect(deltas.some((d) => d === "")).toBe(true);
  });

  it("stop strings end generation before the stop text", async () => {
    const r = await generateText({
      backend,
      prompt: "Count: 1, 2, 3, 4,",
      recall: false,
      maxTokens: 40,
      stop: ["7"],
      sampling: { temperature: 0 },
    });
    expect(r.finishReason).toBe("stop-string");
    expect(r.text.includes("7")).toBe(false);
  });
});

/**
 * `describeRecallLoop`: core's generation loop on a real backend × a real store, checked against
 * expectations the suite computes on its own: the query recomputed on a fresh sequence, top-k by
 * float64 brute force, the memory distribution from softmax + top-p written here, greedy
 * continuations by a hand-rolled argmax loop.
 */
import {
  type GenerateOptions,
  type GenerationEvent,
  generateText,
  type InferenceBackend,
  type Injection,
  type MemoryRecord,
  type MemoryStore,
  type RecallPolicy,
} from "@mnemo/core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { stripUndefined } from "./backend-suite.js";
import type { RecallLoopCapabilities, RecallLoopCaseId } from "./capabilities.js";
import {
  type BackendFactory,
  defineCase,
  LOG_PREFIX,
  notSelected,
  type StoreFactory,
  uniqueLocation,
} from "./harness.js";
import {
  argmax,
  bruteForceTopK,
  expectedMemoryDistribution,
  type RankedId,
  referenceCosine,
} from "./reference.js";

/** Default memory texts of the recall-loop suite. */
export const DEFAULT_MEMORY_TEXTS: readonly string[] = [
  "用户的生日是1990年1月1日",
  "用户住在杭州",
  "The user's birthday is January 1, 1990.",
  "The user likes green tea.",
  "明天下午三点开会",
  "The cat is called Miso.",
];

const FACTS = "facts";
const GREEDY = { temperature: 0 } as const;

/**
 * Greedy continuation computed by hand (one forward per step, argmax of the logits), without the
 * loop: the expected side of the loop's greedy checks.
 * @param backend the model
 * @param prompt token ids fed first
 * @param n tokens to generate
 */
export async function greedyByHand(
  backend: InferenceBackend,
  prompt: readonly number[],
  n: number,
): Promise<number[]> {
  const seq = await backend.createSequence();
  try {
    let { logits } = await seq.forwardTokens(prompt);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const best = argmax(logits);
      out.push(best);
      if (i + 1 < n) ({ logits } = await seq.forwardTokens([best]));
    }
    return out;
  } finally {
    await seq.dispose();
  }
}

/**
 * Registers the recall-loop conformance cases of one backend × store pair in a `describe` block.
 *
 * ```ts
 * describeRecallLoop("llama.cpp × hnsw", loadBackend, openStore, { exactInjection: true });
 * ```
 *
 * @param name shown in the block's title
 * @param backendFactory loads the backend (once, in `beforeAll`)
 * @param storeFactory opens the store (once, with the model's widths and identity)
 * @param capabilities the trigger, exactness and sizes
 */
export function describeRecallLoop(
  name: string,
  backendFactory: BackendFactory,
  storeFactory: StoreFactory,
  capabilities: RecallLoopCapabilities,
): void {
  const suite = `recall loop conformance: ${name}`;
  const caps = {
    trigger: "<recall>" as number | string,
    promptText: "让我回忆一下",
    memoryTexts: DEFAULT_MEMORY_TEXTS,
    samplingRuns: 300,
    ...stripUndefined(capabilities),
  };
  const skip = (id: RecallLoopCaseId): string | undefined => notSelected(id, capabilities.only);
  const needsExact = (id: RecallLoopCaseId): string | undefined =>
    skip(id) ??
    (capabilities.exactInjection
      ? undefined
      : "capabilities.exactInjection is false: greedy tokens after an injection cannot be compared exactly");

  describe(suite, () => {
    let backend: InferenceBackend;
    let store: MemoryStore;
    /** The memories as written (the expected side reads these, not the store). */
    let facts: MemoryRecord[] = [];
    /** The seed prompt: BOS + promptText + trigger. */
    let prompt: number[] = [];
    /** The query recomputed on a fresh sequence, and the exact ranking of the facts. */
    let query: Float32Array;
    let ranking: RankedId[] = [];

    beforeAll(async () => {
      backend = await backendFactory();
      const { hiddenWidth, embeddingWidth, identity } = backend.info;
      store = await storeFactory({
        dimensions: { keyWidth: hiddenWidth, valueWidth: embeddingWidth },
        location: uniqueLocation(name),
        modelIdentity: identity,
      });
      prompt =
        typeof caps.trigger === "number"
          ? [...backend.tokenize(caps.promptText, { addSpecial: true }), caps.trigger]
          : backend.tokenize(caps.promptText + caps.trigger, {
              addSpecial: true,
              parseSpecial: true,
            });
      // Keys: hidden state of each text's last token (as queries are made); values: the mean of
      // its token-embedding rows. Computed here, not with core's encoder.
      const seq = await backend.createSequence();
      facts = [];
      for (const [i, text] of caps.memoryTexts.entries()) {
        await seq.truncate(0);
        const out = await seq.forwardTokens(backend.tokenize(text, { addSpecial: true }), {
          wantHiddenState: true,
        });
        const rows = await backend.tokenEmbeddings(backend.tokenize(text, { addSpecial: false }));
        const value = new Float32Array(embeddingWidth);
        const n = rows.length / embeddingWidth;
        for (let r = 0; r < n; r++)
          for (let j = 0; j < embeddingWidth; j++)
            value[j] = (value[j] as number) + (rows[r * embeddingWidth + j] as number) / n;
        facts.push({
          id: `fact${i}`,
          namespace: FACTS,
          key: out.hiddenState as Float32Array,
          value,
          text,
        });
      }
      await seq.truncate(0);
      query = (await seq.forwardTokens(prompt, { wantHiddenState: true }))
        .hiddenState as Float32Array;
      await seq.dispose();
      await store.upsert(facts);
      ranking = bruteForceTopK(query, facts, facts.length);
    });
    afterAll(async () => {
      await store?.close();
      await backend?.dispose();
    });

    function recall(policy: RecallPolicy): RecallPolicy {
      return { trigger: caps.trigger, namespace: FACTS, ...policy };
    }
    function run(options: Partial<GenerateOptions>) {
      return generateText({
        backend,
        store,
        prompt,
        sampling: GREEDY,
        maxTokens: 4,
        stopAtEos: false,
        ...options,
      });
    }

    defineCase(
      suite,
      "seed-scenario: a prompt ending in the trigger → one injection at position = prompt tokens, score = cosine(query, key)",
      skip("seed-scenario"),
      async () => {
        const r = await run({ recall: recall({ temperature: 0, maxRecalls: 1 }) });
        expect(r.injections).toHaveLength(1);
        const injection = r.injections[0] as Injection;
        expect(injection.position).toBe(prompt.length);
        expect(injection.kvPosition).toBe(prompt.length);
        expect(injection.vectorCount).toBe(1);
        const start = r.events.find((e) => e.type === "recall-start");
        if (start?.type !== "recall-start") throw new Error("no recall-start event");
        expect(start.position).toBe(prompt.length);
        expect(referenceCosine(start.query, query)).toBeGreaterThan(1 - 1e-6);
        const best = ranking[0] as RankedId;
        const second = ranking[1];
        const fact = facts.find((f) => f.id === injection.memoryId);
        expect(fact, `injected ${injection.memoryId}`).toBeDefined();
        expect(injection.score).toBeCloseTo(referenceCosine(query, fact?.key ?? []), 5);
        if (second === undefined || best.score - second.score > 1e-5) {
          expect(injection.memoryId).toBe(best.id);
        }
        console.log(
          `${LOG_PREFIX} ${name}: seed scenario injected ${injection.memoryId} at position ${injection.position}, score ${injection.score.toFixed(4)}`,
        );
      },
    );

    defineCase(
      suite,
      "memory-sampling: frequencies over seeded runs match softmax(score / T) restricted to top-p",
      skip("memory-sampling"),
      async () => {
        const topK = Math.min(4, facts.length);
        const scores = ranking.slice(0, topK).map((c) => c.score);
        // A temperature that spreads the mass over several candidates, whatever the model.
        const spread = (scores[0] as number) - (scores[topK - 1] as number);
        const temperature = spread > 1e-6 ? spread / 2 : 0.05;
        const topP = 0.9;
        const expected = expectedMemoryDistribution(scores, temperature, topP);
        expect(expected.filter((p) => p > 0).length, "candidates left by top-p").toBeGreaterThan(1);
        const runs = caps.samplingRuns;
        const counts = new Map<string, number>();
        const policy = recall({ topK, temperature, topP, maxRecalls: 1 });
        for (let seed = 0; seed < runs; seed++) {
          const r = await run({ recall: policy, maxTokens: 1, seed });
          const id = r.injections[0]?.memoryId ?? "none";
          counts.set(id, (counts.get(id) ?? 0) + 1);
          if (seed === 0) {
            const ev = r.events.find((e) => e.type === "recall-candidates");
            if (ev?.type !== "recall-candidates") throw new Error("no recall-candidates event");
            for (const [i, c] of ranking.slice(0, topK).entries()) {
              const shown = ev.candidates.find((x) => x.memoryId === c.id);
              expect(shown?.probability, `probability of ${c.id}`).toBeCloseTo(
                expected[i] as number,
                6,
              );
            }
          }
        }
        const table = ranking.slice(0, topK).map((c, i) => {
          const p = expected[i] as number;
          const n = counts.get(c.id) ?? 0;
          return { id: c.id, p, n };
        });
        console.log(
          `${LOG_PREFIX} ${name}: ${runs} runs, T=${temperature.toPrecision(3)}, topP=${topP}: ${table.map((t) => `${t.id} ${t.n}/${(t.p * runs).toFixed(1)}`).join(", ")}`,
        );
        for (const { id, p, n } of table) {
          const sd = Math.sqrt(runs * p * (1 - p));
          // 4.5 standard deviations (+2 for tiny p): a false alarm about once in 10^5 runs
          expect(
            Math.abs(n - runs * p),
            `${id}: drawn ${n} times, expected ${runs * p}`,
          ).toBeLessThanOrEqual(4.5 * sd + 2);
          if (p === 0) expect(n, `${id} is cut by top-p`).toBe(0);
        }
        const known = new Set(table.map((t) => t.id));
        for (const id of counts.keys()) expect(known.has(id), `drew ${id}`).toBe(true);
      },
    );

    defineCase(
      suite,
      "temperature-zero: temperature 0 always picks the best memory",
      skip("temperature-zero"),
      async () => {
        const best = ranking[0] as RankedId;
        const tied = ranking.filter((c) => best.score - c.score <= 1e-5).map((c) => c.id);
        for (let seed = 0; seed < 8; seed++) {
          const r = await run({
            recall: recall({ temperature: 0 }),
            sampling: { temperature: 1 },
            maxTokens: 1,
            seed,
          });
          expect(tied).toContain(r.injections[0]?.memoryId);
          expect(r.injections[0]?.probability).toBe(1);
        }
      },
    );

    defineCase(
      suite,
      "min-score: candidates below minScore are never injected; none qualifying → no injection",
      skip("min-score"),
      async () => {
        const [best, second] = ranking as [RankedId, RankedId];
        if (best.score - second.score > 1e-4) {
          const minScore = (best.score + second.score) / 2;
          for (let seed = 0; seed < 5; seed++) {
            const r = await run({
              recall: recall({ temperature: 1, topP: 1, minScore }),
              maxTokens: 1,
              seed,
            });
            expect(r.injections[0]?.memoryId).toBe(best.id);
            const ev = r.events.find((e) => e.type === "recall-candidates");
            if (ev?.type !== "recall-candidates") throw new Error("no recall-candidates event");
            for (const c of ev.candidates) expect(c.score).toBeGreaterThanOrEqual(minScore);
          }
        }
        const above = Math.min(1, best.score + 1e-3);
        const none = await run({ recall: recall({ minScore: above }), maxTokens: 5 });
        expect(none.injections).toEqual([]);
        const skipped = none.events.find((e) => e.type === "recall-skipped");
        expect(skipped).toMatchObject({ reason: "below-min-score", position: prompt.length });
        expect(none.tokens).toEqual(await greedyByHand(backend, prompt, 5));
      },
    );

    defineCase(
      suite,
      "max-recalls: no injection beyond maxRecalls; later triggers are skipped",
      skip("max-recalls"),
      async () => {
        const zero = await run({ recall: recall({ maxRecalls: 0 }), maxTokens: 5 });
        expect(zero.injections).toEqual([]);
        expect(zero.events.find((e) => e.type === "recall-skipped")).toMatchObject({
          reason: "max-recalls",
        });
        expect(zero.tokens).toEqual(await greedyByHand(backend, prompt, 5));

        // A trigger the model generates twice. The memory is the row of the token the model would
        // generate next anyway, so (exact injection) the generation after it is predictable.
        const base = backend.tokenize(caps.promptText, { addSpecial: true });
        const n = 24;
        const plain = await greedyByHand(backend, base, n);
        const pick = pickRepeatedTrigger(plain, base.at(-1) as number);
        if (!pick) {
          console.warn(
            `${LOG_PREFIX} ${name}: the greedy continuation repeats no token; only maxRecalls 0 was checked`,
          );
          return;
        }
        const { trigger, first } = pick;
        const ns = uniqueLocation("maxrecalls");
        await store.upsert([
          {
            id: "next",
            namespace: ns,
            key: new Float32Array(backend.info.hiddenWidth).fill(1),
            value: await backend.tokenEmbeddings([plain[first + 1] as number]),
          },
        ]);
        const r = await run({
          prompt: base,
          recall: { trigger, namespace: ns, maxRecalls: 1, temperature: 0 },
          maxTokens: n - 1,
        });
        expect(r.injections).toHaveLength(1);
        expect(r.injections[0]?.position).toBe(base.length + first + 1);
        const fedAfter = r.tokens.slice(first + 1, -1).filter((t) => t === trigger).length;
        const skippedMax = r.events.filter(
          (e) => e.type === "recall-skipped" && e.reason === "max-recalls",
        ).length;
        expect(skippedMax).toBe(fedAfter);
        if (capabilities.exactInjection) {
          expect(r.tokens).toEqual([...plain.slice(0, first + 1), ...plain.slice(first + 2)]);
          expect(skippedMax).toBeGreaterThan(0);
        }
      },
    );

    defineCase(
      suite,
      "generated-trigger: a trigger the model generates recalls, right after that token",
      skip("generated-trigger"),
      async () => {
        const base = backend.tokenize(caps.promptText, { addSpecial: true });
        const plain = await greedyByHand(backend, base, 8);
        const trigger = plain[3] as number;
        const first = plain.indexOf(trigger);
        const x = base[1] ?? 0;
        const ns = uniqueLocation("generated");
        await store.upsert([
          {
            id: "g",
            namespace: ns,
            key: new Float32Array(backend.info.hiddenWidth).fill(1),
            value: await backend.tokenEmbeddings([x]),
          },
        ]);
        const r = await run({
          prompt: base,
          recall: { trigger, namespace: ns, maxRecalls: 1 },
          maxTokens: 8,
        });
        expect(r.injections).toHaveLength(1);
        expect(r.injections[0]?.position).toBe(base.length + first + 1);
        expect(r.injections[0]?.kvPosition).toBe(base.length + first + 1);
        expect(r.tokens.slice(0, first + 1)).toEqual(plain.slice(0, first + 1));
        if (capabilities.exactInjection) {
          const after = await greedyByHand(
            backend,
            [...base, ...plain.slice(0, first + 1), x],
            8 - first - 1,
          );
          expect(r.tokens.slice(first + 1)).toEqual(after);
        }
      },
    );

    defineCase(
      suite,
      "events-agree: the recorded injections, the event stream and the final text agree",
      skip("events-agree"),
      async () => {
        const scores = ranking.slice(0, 3).map((c) => c.score);
        const temperature = Math.max(((scores[0] as number) - (scores[2] as number)) / 2, 1e-3);
        const r = await run({
          recall: recall({ topK: 3, temperature, topP: 1 }),
          sampling: { temperature: 0.8, topK: 20 },
          maxTokens: 10,
          seed: 11,
        });
        await expectEventsAgree(backend, store, prompt.length, r.events);
        expect(r.injections.length).toBeGreaterThanOrEqual(1);
      },
    );

    defineCase(
      suite,
      "inject-memory-tokens: injecting a memory's token-embedding rows equals feeding its tokens (greedy)",
      needsExact("inject-memory-tokens"),
      async () => {
        const text = caps.memoryTexts[2] ?? "the world";
        const tokens = backend.tokenize(text, { addSpecial: false });
        const ns = uniqueLocation("rows");
        await store.upsert([
          {
            id: "rows",
            namespace: ns,
            key: facts[0]?.key as Float32Array,
            value: await backend.tokenEmbeddings(tokens),
            text,
          },
        ]);
        const r = await run({ recall: recall({ namespace: ns, temperature: 0 }), maxTokens: 8 });
        expect(r.injections).toHaveLength(1);
        expect(r.injections[0]).toMatchObject({
          position: prompt.length,
          kvPosition: prompt.length,
          vectorCount: tokens.length,
          memoryId: "rows",
        });
        expect(r.tokens).toEqual(await greedyByHand(backend, [...prompt, ...tokens], 8));
      },
    );
  });
}

/** A token of `plain` seen at i and again at j > i + 1 (and not equal to the prompt's last). */
function pickRepeatedTrigger(
  plain: readonly number[],
  promptLast: number,
): { trigger: number; first: number } | undefined {
  for (let i = 0; i < plain.length - 2; i++) {
    const t = plain[i] as number;
    if (t === promptLast || plain.indexOf(t) !== i) continue;
    if (plain.indexOf(t, i + 2) > 0) return { trigger: t, first: i };
  }
  return undefined;
}

/**
 * Asserts that one generation's events agree with each other: token events = finish tokens, text
 * = the tokens' bytes decoded, injections = memory-injected events, each preceded by its
 * recall-start and recall-candidates, KV positions and usage add up, scores = cosine(query, key).
 * @param backend the model that generated (for `tokenBytes` and widths)
 * @param store the store searched (the injected memories are read back from it)
 * @param promptTokens the prompt's token count
 * @param events every event of one generation, in order
 */
export async function expectEventsAgree(
  backend: InferenceBackend,
  store: MemoryStore,
  promptTokens: number,
  events: readonly GenerationEvent[],
): Promise<void> {
  expect(events[0]).toMatchObject({ type: "start", promptTokens });
  const finish = events.at(-1);
  if (finish?.type !== "finish") throw new Error(`the last event is ${finish?.type}`);
  expect(events.some((e) => e.type === "error")).toBe(false);
  const tokens: number[] = [];
  let text = "";
  const injected: Injection[] = [];
  let vectors = 0;
  let lastStart: Extract<GenerationEvent, { type: "recall-start" }> | undefined;
  let lastCandidates: Extract<GenerationEvent, { type: "recall-candidates" }> | undefined;
  for (const e of events) {
    if (e.type === "token") {
      expect(e.position, "token positions are consecutive").toBe(promptTokens + tokens.length);
      tokens.push(e.token);
      text += e.text;
    } else if (e.type === "text") text += e.text;
    else if (e.type === "recall-start") lastStart = e;
    else if (e.type === "recall-candidates") {
      lastCandidates = e;
      const total = e.candidates.reduce((a, c) => a + c.probability, 0);
      expect(total).toBeCloseTo(1, 9);
    } else if (e.type === "memory-injected") {
      const inj = e.injection;
      expect(lastStart?.position).toBe(inj.position);
      expect(lastCandidates?.position).toBe(inj.position);
      const chosen = lastCandidates?.candidates[lastCandidates.chosen];
      expect(chosen).toMatchObject({
        memoryId: inj.memoryId,
        score: inj.score,
        probability: inj.probability,
      });
      expect(inj.position).toBe(promptTokens + tokens.length);
      expect(inj.kvPosition).toBe(inj.position + vectors);
      const [memory] = await store.get([inj.memoryId], inj.namespace);
      expect(memory, `memory ${inj.memoryId}`).toBeDefined();
      expect(inj.vectorCount).toBe((memory?.value.length ?? 0) / backend.info.embeddingWidth);
      expect(inj.score).toBeCloseTo(referenceCosine(lastStart?.query ?? [], memory?.key ?? []), 5);
      vectors += inj.vectorCount;
      injected.push(inj);
    }
  }
  expect(finish.tokens).toEqual(tokens);
  expect(finish.injections).toEqual(injected);
  expect(finish.text).toBe(text);
  const bytes = Buffer.concat(tokens.map((t) => backend.tokenBytes(t)));
  expect(finish.text).toBe(new TextDecoder().decode(bytes));
  expect(finish.usage).toMatchObject({
    promptTokens,
    completionTokens: tokens.length,
    injectedVectors: vectors,
  });
  // the last sampled token is forwarded only when generation went on after it
  const forwarded = finish.finishReason === "eos" ? tokens.length : tokens.length - 1;
  expect(finish.usage.kvPositions).toBe(promptTokens + vectors + forwarded);
}

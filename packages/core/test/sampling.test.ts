import { describe, expect, it } from "vitest";
import { createRandom } from "../src/random.js";
import {
  drawIndex,
  memoryProbabilities,
  resolveSamplingOptions,
  sampleToken,
  tokenDistribution,
} from "../src/sampling.js";
import { TriggerDetector } from "../src/text.js";

/** Independent reference: full sort, float64 softmax, HF-order filters, written out plainly. */
function referenceDistribution(
  logits: number[],
  o: { temperature: number; topK: number; topP: number; minP: number },
): Map<number, number> {
  const order = logits.map((l, i) => ({ l, i })).sort((a, b) => b.l - a.l || a.i - b.i);
  let kept = o.topK > 0 ? order.slice(0, o.topK) : order;
  const z = kept.reduce((s, x) => s + Math.exp(x.l / o.temperature), 0);
  let probs = kept.map((x) => ({ i: x.i, p: Math.exp(x.l / o.temperature) / z }));
  let acc = 0;
  const nucleus: typeof probs = [];
  for (const x of probs) {
    nucleus.push(x);
    acc += x.p;
    if (acc >= o.topP) break;
  }
  probs = nucleus;
  const pmax = probs[0]?.p ?? 0;
  probs = probs.filter((x, k) => k === 0 || x.p >= o.minP * pmax);
  kept = [];
  const total = probs.reduce((s, x) => s + x.p, 0);
  return new Map(probs.map((x) => [x.i, x.p / total]));
}

/** Chi-square statistic of observed counts against expected probabilities. */
function chiSquare(counts: Map<number, number>, expected: Map<number, number>, n: number): number {
  let chi = 0;
  for (const [id, p] of expected) chi += ((counts.get(id) ?? 0) - n * p) ** 2 / (n * p);
  for (const id of counts.keys()) if (!expected.has(id)) return Number.POSITIVE_INFINITY;
  return chi;
}

describe("token sampler", () => {
  const rng = createRandom(7);
  const logits = Array.from({ length: 50 }, () => rng.next() * 6 - 3);
  const settings = [
    { temperature: 1, topK: 0, topP: 1, minP: 0 },
    { temperature: 0.7, topK: 10, topP: 0.9, minP: 0 },
    { temperature: 1.3, topK: 0, topP: 0.8, minP: 0.1 },
    { temperature: 0.5, topK: 5, topP: 1, minP: 0.05 },
  ];
  for (const s of settings) {
    it(`exact probabilities match an independent computation (${JSON.stringify(s)})`, () => {
      const o = resolveSamplingOptions(s);
      const dist = tokenDistribution(Float32Array.from(logits), o);
      const ref = referenceDistribution(Array.from(Float32Array.from(logits)), s);
      expect(dist.ids.length).toBe(ref.size);
      for (const [k, id] of dist.ids.entries())
        expect(dist.probs[k]).toBeCloseTo(ref.get(id) as number, 9);
    });

    it(`draw frequencies follow those probabilities (chi-square, ${JSON.stringify(s)})`, () => {
      const o = resolveSamplingOptions(s);
      const ref = referenceDistribution(Array.from(Float32Array.from(logits)), s);
      const random = createRandom(123);
      const n = 20000;
      const counts = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const t = sampleToken(Float32Array.from(logits), o, random);
        counts.set(t, (counts.get(t) ?? 0) + 1);
      }
      // 99.9% quantile of chi-square with k-1 dof is below k-1 + 4.5·sqrt(2(k-1)) + 10 for these k.
      const dof = ref.size - 1;
      expect(chiSquare(counts, ref, n)).toBeLessThan(
        dof + 4.5 * Math.sqrt(2 * Math.max(dof, 1)) + 10,
      );
    });
  }

  it("temperature 0 is the argmax", () => {
    const o = resolveSamplingOptions({ temperature: 0 });
    const f32 = Array.from(Float32Array.from(logits));
    const best = f32.indexOf(Math.max(...f32));
    expect(sampleToken(Float32Array.from(logits), o, createRandom(1))).toBe(best);
  });

  it("repetition penalty divides positive and multiplies negative logits of recent tokens", () => {
    const l = Float32Array.of(2, -1, 1.9, 0);
    const o = resolveSamplingOptions({
      temperature: 1,
      topK: 0,
      topP: 1,
      minP: 0,
      repetitionPenalty: 2,
    });
    const d = tokenDistribution(l, o, [0, 1]);
    // Expected logits after the penalty, from the float32 inputs: 2/2, -1·2, 1.9, 0.
    const ref = [1, -2, Math.fround(1.9), 0].map(Math.exp);
    const z = ref.reduce((a, b) => a + b, 0);
    for (const [k, id] of d.ids.entries())
      expect(d.probs[k]).toBeCloseTo((ref[id] as number) / z, 9);
  });

  it("same seed, same tokens", () => {
    const o = resolveSamplingOptions({ temperature: 1 });
    const a = Array.from({ length: 20 }, (_, i) =>
      sampleToken(Float32Array.from(logits), o, createRandom(i)),
    );
    const b = Array.from({ length: 20 }, (_, i) =>
      sampleToken(Float32Array.from(logits), o, createRandom(i)),
    );
    expect(a).toEqual(b);
  });
});

describe("memory sampler", () => {
  it("softmax(score/T) restricted to top-p, checked by hand", () => {
    const scores = [0.9, 0.85, 0.5, 0.1];
    const T = 0.1;
    const e = scores.map((s) => Math.exp(s / T));
    const z = e.reduce((a, b) => a + b, 0);
    const p = e.map((x) => x / z);
    // top-p 0.9: p0 ≈ 0.6219, p0 + p1 ≈ 0.999 ≥ 0.9 → keep two.
    expect(p[0] as number).toBeLessThan(0.9);
    expect((p[0] as number) + (p[1] as number)).toBeGreaterThanOrEqual(0.9);
    const got = memoryProbabilities(scores, T, 0.9);
    const kept = (p[0] as number) + (p[1] as number);
    expect(got[0]).toBeCloseTo((p[0] as number) / kept, 12);
    expect(got[1]).toBeCloseTo((p[1] as number) / kept, 12);
    expect(got[2]).toBe(0);
    expect(got[3]).toBe(0);
  });

  it("temperature 0 picks the best", () => {
    expect(memoryProbabilities([0.2, 0.7, 0.5], 0, 0.9)).toEqual([0, 1, 0]);
  });

  it("draw frequencies over seeded runs match the probabilities", () => {
    const probs = memoryProbabilities([0.8, 0.75, 0.7, 0.2], 0.05, 0.95);
    const n = 20000;
    const counts = [0, 0, 0, 0];
    const random = createRandom(99);
    for (let i = 0; i < n; i++) (counts[drawIndex(probs, random)] as number)++;
    probs.forEach((p, i) => {
      const sd = Math.sqrt(n * p * (1 - p));
      expect(Math.abs((counts[i] as number) - n * p)).toBeLessThanOrEqual(5 * sd + 1);
    });
  });
});

describe("trigger detector", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it("text trigger over several tokens fires on the last one only", () => {
    const d = new TriggerDetector("<recall>");
    const pieces = ["hello ", "<", "rec", "all", ">"];
    const hits = pieces.map((p, i) => d.push(i, enc(p)));
    expect(hits).toEqual([false, false, false, false, true]);
    expect(d.push(9, enc(" x"))).toBe(false);
  });
  it("token trigger compares ids", () => {
    const d = new TriggerDetector(42);
    expect(d.push(41, enc("<recall>"))).toBe(false);
    expect(d.push(42, enc(""))).toBe(true);
  });
});

import { MnemoError } from "./errors.js";
import type { Random } from "./random.js";

/**
 * Token sampling settings. Applied in the order of Hugging Face `generate()`'s logits processors:
 * repetition penalty → temperature → top-k → top-p → min-p → draw.
 */
export interface SamplingOptions {
  /** Softmax temperature ≥ 0; 0 = greedy (argmax). Default 0.8. */
  temperature?: number;
  /** Keep only the `topK` most likely tokens; 0 = off. Default 40. */
  topK?: number;
  /** Nucleus sampling (Holtzman et al. 2019): keep the smallest set with cumulative probability ≥ topP, in (0, 1]. Default 0.95. */
  topP?: number;
  /** Min-p (Nguyen et al. 2024): drop tokens whose probability is below `minP × p(max)`, in [0, 1). Default 0.05. */
  minP?: number;
  /**
   * Repetition penalty (Keskar et al. 2019, CTRL) ≥ 1 applied to tokens among the last
   * `repetitionLastN` tokens: positive logits are divided by it, negative ones multiplied. 1 = off (default).
   */
  repetitionPenalty?: number;
  /** How many recent tokens the repetition penalty looks at. Default 64. */
  repetitionLastN?: number;
}

/** {@link SamplingOptions} with every default filled in. */
export type ResolvedSamplingOptions = Required<SamplingOptions>;

/** Defaults for {@link SamplingOptions}. */
export const DEFAULT_SAMPLING: ResolvedSamplingOptions = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1,
  repetitionLastN: 64,
};

function invalid(name: string, value: unknown, rule: string): never {
  throw new MnemoError("INVALID_OPTION", `${name} must be ${rule}; got ${String(value)}.`, {
    details: { option: name, value },
  });
}

/** @internal shared option checks (also used by the recall policy). */
export function checkNumber(
  name: string,
  value: unknown,
  ok: (v: number) => boolean,
  rule: string,
): number {
  if (typeof value !== "number" || Number.isNaN(value) || !ok(value)) invalid(name, value, rule);
  return value;
}

/**
 * Fills defaults and validates.
 * @throws MnemoError `INVALID_OPTION` (e.g. negative temperature, topP outside (0, 1], topK < 0)
 */
export function resolveSamplingOptions(options: SamplingOptions = {}): ResolvedSamplingOptions {
  const o = { ...DEFAULT_SAMPLING, ...stripUndefined(options) };
  checkNumber(
    "temperature",
    o.temperature,
    (v) => v >= 0 && Number.isFinite(v),
    "a finite number ≥ 0",
  );
  checkNumber("topK", o.topK, (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0 (0 = off)");
  checkNumber("topP", o.topP, (v) => v > 0 && v <= 1, "in (0, 1]");
  checkNumber("minP", o.minP, (v) => v >= 0 && v < 1, "in [0, 1)");
  checkNumber(
    "repetitionPenalty",
    o.repetitionPenalty,
    (v) => v >= 1 && Number.isFinite(v),
    "a finite number ≥ 1",
  );
  checkNumber(
    "repetitionLastN",
    o.repetitionLastN,
    (v) => Number.isInteger(v) && v >= 0,
    "an integer ≥ 0",
  );
  return o;
}

/** @internal */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A sparse probability distribution over token ids: `probs[i]` is the probability of `ids[i]`, descending. */
export interface TokenDistribution {
  /** Token ids, most probable first. */
  ids: Int32Array;
  /** Their probabilities (summing to 1), descending. */
  probs: Float64Array;
}

/**
 * Logits more than this many nats below the best (after temperature) are dropped before sorting.
 * e^-30 ≈ 9e-14 per token: even over a 262k vocabulary the mass dropped is < 3e-8, while sorting
 * a few hundred candidates instead of the whole vocabulary keeps a decode step cheap.
 */
const LOGIT_WINDOW = 30;

/**
 * The exact distribution the token sampler draws from, after every processor.
 * With temperature 0 it is the argmax with probability 1 (ties: lowest id).
 * @param logits `Float32Array` of length `vocabSize`
 * @param recent recently generated/prompt token ids (for the repetition penalty), oldest first
 */
export function tokenDistribution(
  logits: Float32Array,
  options: ResolvedSamplingOptions,
  recent: readonly number[] = [],
): TokenDistribution {
  const penalized = applyRepetitionPenalty(logits, options, recent);
  const view = penalized ?? logits;
  if (options.temperature === 0) {
    // Hot path of greedy decoding (262k logits for Gemma): one pass, one read per element.
    let best = 0;
    let bestValue = view[0] as number;
    for (let i = 1; i < view.length; i++) {
      const v = view[i] as number;
      if (v > bestValue) {
        bestValue = v;
        best = i;
      }
    }
    if (!Number.isFinite(bestValue)) throw nonFiniteLogits();
    return { ids: Int32Array.of(best), probs: Float64Array.of(1) };
  }
  const t = options.temperature;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < view.length; i++) if ((view[i] as number) > max) max = view[i] as number;
  if (!Number.isFinite(max)) throw nonFiniteLogits();
  const floor = max - LOGIT_WINDOW * t;
  const cand: number[] = [];
  for (let i = 0; i < view.length; i++) if ((view[i] as number) >= floor) cand.push(i);
  cand.sort((a, b) => (view[b] as number) - (view[a] as number) || a - b);
  let n = cand.length;
  if (options.topK > 0 && options.topK < n) n = options.topK;
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.exp(((view[cand[i] as number] as number) - max) / t);
    probs[i] = p;
    sum += p;
  }
  for (let i = 0; i < n; i++) (probs[i] as number) /= sum;
  // top-p: smallest prefix whose mass reaches topP (always at least one token).
  if (options.topP < 1) {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += probs[i] as number;
      if (acc >= options.topP) {
        n = i + 1;
        break;
      }
    }
  }
  // min-p: relative to the most likely token.
  if (options.minP > 0) {
    const threshold = options.minP * (probs[0] as number);
    let keep = 1;
    while (keep < n && (probs[keep] as number) >= threshold) keep++;
    n = keep;
  }
  const out = probs.slice(0, n);
  let total = 0;
  for (const p of out) total += p;
  for (let i = 0; i < n; i++) (out[i] as number) /= total;
  return { ids: Int32Array.from(cand.slice(0, n)), probs: out };
}

/** A model that produced NaN/±Infinity everywhere has broken weights or inputs: say so. */
function nonFiniteLogits(): MnemoError {
  return new MnemoError(
    "BACKEND_FAILURE",
    "The model produced non-finite logits (NaN or ±Infinity): its weights or the injected vectors are broken.",
  );
}

function applyRepetitionPenalty(
  logits: Float32Array,
  options: ResolvedSamplingOptions,
  recent: readonly number[],
): Float32Array | undefined {
  if (options.repetitionPenalty === 1 || options.repetitionLastN === 0 || recent.length === 0)
    return undefined;
  const out = logits.slice();
  const seen = new Set(recent.slice(-options.repetitionLastN));
  for (const id of seen) {
    if (id < 0 || id >= out.length) continue;
    const v = out[id] as number;
    out[id] = v > 0 ? v / options.repetitionPenalty : v * options.repetitionPenalty;
  }
  return out;
}

/** Draws index `i` with probability `probs[i]` (probabilities summing to 1). */
export function drawIndex(probs: ArrayLike<number>, random: Random): number {
  const u = random.next();
  let acc = 0;
  for (let i = 0; i < probs.length; i++) {
    acc += probs[i] as number;
    if (u < acc) return i;
  }
  // Floating-point slack: fall back to the last index with non-zero probability.
  for (let i = probs.length - 1; i >= 0; i--) if ((probs[i] as number) > 0) return i;
  return 0;
}

/**
 * Samples the next token from `logits`.
 * @returns the token id
 */
export function sampleToken(
  logits: Float32Array,
  options: ResolvedSamplingOptions,
  random: Random,
  recent: readonly number[] = [],
): number {
  const dist = tokenDistribution(logits, options, recent);
  return dist.ids[drawIndex(dist.probs, random)] as number;
}

/**
 * The probabilities with which the seed's `_sample_memory_embedding_from_db` picks among the top-k
 * candidates: softmax(score / temperature), then top-p (nucleus) over that, renormalised.
 * Temperature 0 = argmax (the first of equal best scores).
 * @param scores cosine similarities of the candidates, best first
 * @returns one probability per candidate (0 for those cut by top-p), summing to 1
 */
export function memoryProbabilities(
  scores: readonly number[],
  temperature: number,
  topP: number,
): number[] {
  const n = scores.length;
  if (n === 0) return [];
  const probs = new Array<number>(n).fill(0);
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < n; i++) if ((scores[i] as number) > (scores[best] as number)) best = i;
    probs[best] = 1;
    return probs;
  }
  const max = Math.max(...scores);
  let sum = 0;
  const raw = scores.map((s) => {
    const e = Math.exp((s - max) / temperature);
    sum += e;
    return e;
  });
  const order = raw
    .map((_, i) => i)
    .sort((a, b) => (raw[b] as number) - (raw[a] as number) || a - b);
  let acc = 0;
  let kept = 0;
  for (const i of order) {
    probs[i] = (raw[i] as number) / sum;
    acc += probs[i] as number;
    kept++;
    if (acc >= topP) break;
  }
  let total = 0;
  for (let k = 0; k < kept; k++) total += probs[order[k] as number] as number;
  return probs.map((p) => p / total);
}

/**
 * Independent reference math for the suites' expectations. Nothing here calls `@mnemo/core`'s
 * vector or sampling helpers: an expectation computed with the code under test proves nothing.
 */

/** A deterministic pseudo-random source (mulberry32): same seed, same numbers. */
export type Rng = () => number;

/**
 * Creates a deterministic pseudo-random generator (mulberry32) returning floats in [0, 1).
 * @param seed any integer (low 32 bits used)
 */
export function seededRandom(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A vector of `width` standard-normal values (Box–Muller), as `Float32Array`.
 * @param rng the random source
 * @param width number of values
 */
export function gaussianVector(rng: Rng, width: number): Float32Array {
  const v = new Float32Array(width);
  for (let i = 0; i < width; i++) {
    const u = Math.max(rng(), 1e-12);
    v[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  }
  return v;
}

/**
 * Cosine similarity `a·b / (|a||b|)` accumulated in float64. `NaN` when either vector is zero.
 * @param a first vector
 * @param b second vector of the same length
 */
export function referenceCosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine of lengths ${a.length} and ${b.length}`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

/** One entry of a ranking: a memory id and its cosine score. */
export interface RankedId {
  /** Memory id. */
  id: string;
  /** Cosine similarity to the query. */
  score: number;
}

/**
 * Exact top-k by cosine similarity (float64), best first, ties by id.
 * @param query the query vector
 * @param items candidates with their keys
 * @param k how many to return at most
 */
export function bruteForceTopK(
  query: ArrayLike<number>,
  items: readonly { id: string; key: ArrayLike<number> }[],
  k: number,
): RankedId[] {
  return items
    .map((m) => ({ id: m.id, score: referenceCosine(query, m.key) }))
    .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
    .slice(0, k);
}

/**
 * Compares a ranking with the exact one: same length, scores within `tolerance`, ids equal wherever
 * the expected score is not tied (within `tolerance`) with a neighbour. Returns a description of
 * the first difference, or `undefined` when they agree.
 */
export function compareRankings(
  got: readonly RankedId[],
  want: readonly RankedId[],
  tolerance = 1e-5,
): string | undefined {
  if (got.length !== want.length) {
    return `got ${got.length} results, expected ${want.length} (${JSON.stringify(want.map((w) => w.id))})`;
  }
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as RankedId;
    const w = want[i] as RankedId;
    if (!(Math.abs(g.score - w.score) <= tolerance)) {
      return `rank ${i}: score ${g.score} (id ${g.id}), expected ${w.score} (id ${w.id})`;
    }
    const prev = want[i - 1];
    const next = want[i + 1];
    const tied =
      (prev !== undefined && Math.abs(prev.score - w.score) <= tolerance) ||
      (next !== undefined && Math.abs(next.score - w.score) <= tolerance);
    if (!tied && g.id !== w.id) return `rank ${i}: id ${g.id}, expected ${w.id}`;
  }
  return undefined;
}

/**
 * The distribution the recall policy samples a memory from, computed from scratch:
 * softmax(score / temperature) over the candidates, then the smallest best-first prefix whose mass
 * reaches `topP` (nucleus), renormalised. Temperature 0 gives the first best score probability 1.
 * @param scores candidate scores, best first
 */
export function expectedMemoryDistribution(
  scores: readonly number[],
  temperature: number,
  topP: number,
): number[] {
  const n = scores.length;
  const out = new Array<number>(n).fill(0);
  if (n === 0) return out;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < n; i++) if ((scores[i] as number) > (scores[best] as number)) best = i;
    out[best] = 1;
    return out;
  }
  const logits = scores.map((s) => s / temperature);
  const max = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - max));
  const total = weights.reduce((a, b) => a + b, 0);
  const order = [...weights.keys()].sort(
    (a, b) => (weights[b] as number) - (weights[a] as number) || a - b,
  );
  let mass = 0;
  const kept: number[] = [];
  for (const i of order) {
    kept.push(i);
    mass += (weights[i] as number) / total;
    if (mass >= topP) break;
  }
  const keptWeight = kept.reduce((a, i) => a + (weights[i] as number), 0);
  for (const i of kept) out[i] = (weights[i] as number) / keptWeight;
  return out;
}

/** Largest absolute element-wise difference of two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (Number.isNaN(d)) return Number.NaN; // a NaN never passes a tolerance
    if (d > m) m = d;
  }
  return m;
}

/** Index of the largest value (the first one on ties). */
export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if ((a[i] as number) > (a[best] as number)) best = i;
  return best;
}

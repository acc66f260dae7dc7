import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MemoryRecord } from "@mnemo/core";

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal sample (Box–Muller). */
export function gauss(r: () => number): number {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

export function randomVector(r: () => number, width: number): Float32Array {
  const v = new Float32Array(width);
  for (let i = 0; i < width; i++) v[i] = gauss(r);
  return v;
}

/** `n` records with random keys/values, ids `${prefix}${i}`. */
export function randomRecords(
  r: () => number,
  n: number,
  keyWidth: number,
  valueWidth: number,
  extra: (i: number) => Partial<MemoryRecord> = () => ({}),
  prefix = "m",
): MemoryRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    key: randomVector(r, keyWidth),
    value: randomVector(r, valueWidth),
    text: `memory ${i}`,
    ...extra(i),
  }));
}

/** Independent float64 cosine similarity (does not use @mnemo/core). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
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

/** Exact top-k by cosine over `records`, best first. */
export function bruteForce(
  query: ArrayLike<number>,
  records: readonly MemoryRecord[],
  k: number,
): { id: string; score: number }[] {
  return records
    .map((m) => ({ id: m.id, score: cosine(query, m.key) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

/** A fresh temp directory; call the returned cleanup when done. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "mnemo-store-hnsw-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Asserts that `got` matches the exact `want` ranking: same length, scores within 1e-5, and ids
 * equal wherever the score is not tied (within 1e-6) with a neighbour.
 */
export function sameRanking(
  got: { id: string; score: number }[],
  want: { id: string; score: number }[],
): string | undefined {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as { id: string; score: number };
    const w = want[i] as { id: string; score: number };
    if (Math.abs(g.score - w.score) > 1e-5) return `score[${i}] ${g.score} != ${w.score}`;
    const tied =
      (i > 0 && Math.abs((want[i - 1]?.score ?? 0) - w.score) < 1e-6) ||
      (i + 1 < want.length && Math.abs((want[i + 1]?.score ?? 0) - w.score) < 1e-6);
    if (!tied && g.id !== w.id) return `id[${i}] ${g.id} != ${w.id}`;
  }
  return undefined;
}

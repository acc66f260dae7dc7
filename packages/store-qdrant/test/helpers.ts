import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import type { MemoryRecord } from "@mnemo/core";
import { inject } from "vitest";

/** A server the suite runs against. */
export interface Target {
  name: string;
  url: string;
  apiKey?: string;
  /** True for the qdrant-edge test server: it records spec violations and injects faults. */
  testServer: boolean;
}

/**
 * The servers this suite runs against: the qdrant-edge test server always, and a real Qdrant when
 * `QDRANT_URL` is set (`QDRANT_API_KEY` optional). Without it the real-Qdrant run is skipped and
 * says why.
 */
export function targets(): { target: Target; skip?: string }[] {
  const real = process.env.QDRANT_URL;
  const apiKey = process.env.QDRANT_API_KEY;
  return [
    {
      target: {
        name: "qdrant-edge test server",
        url: inject("qdrantTestServerUrl"),
        testServer: true,
      },
    },
    real
      ? {
          target: {
            name: `real Qdrant at ${real}`,
            url: real,
            testServer: false,
            ...(apiKey ? { apiKey } : {}),
          },
        }
      : {
          target: { name: "real Qdrant", url: "", testServer: false },
          skip: "QDRANT_URL is not set: set it (and QDRANT_API_KEY if needed) to run this suite against a real Qdrant server",
        },
  ];
}

/** A collection name no other test uses. */
export function uniqueCollection(prefix = "mnemo_test"): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

/** Calls a test-server control endpoint (`/__test__/...`). */
export async function control(target: Target, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${target.url}/__test__/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.json();
}

/** Deletes a collection with a plain REST call (cleanup). */
export async function dropCollection(target: Target, collection: string): Promise<void> {
  await fetch(`${target.url}/collections/${collection}`, {
    method: "DELETE",
    headers: target.apiKey ? { "api-key": target.apiKey } : {},
  }).catch(() => undefined);
}

/** Creates a collection with a raw REST body (to build mismatching collections). */
export async function createRawCollection(
  target: Target,
  collection: string,
  body: unknown,
): Promise<void> {
  const res = await fetch(`${target.url}/collections/${collection}`, {
    method: "PUT",
    headers: {
      "Content-Type": "application/json",
      ...(target.apiKey ? { "api-key": target.apiKey } : {}),
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`creating ${collection} failed: ${res.status} ${await res.text()}`);
}

/** A local TCP port with nothing listening on it (bound, then closed). */
export async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

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

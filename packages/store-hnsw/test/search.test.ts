import type { MemoryRecord, Metadata } from "@mnemo/core";
import { afterAll, describe, expect, it } from "vitest";
import { type HnswStore, openHnswStore } from "../src/index.js";
import { bruteForce, randomRecords, randomVector, rng, sameRanking, tempDir } from "./helpers.js";

const W = 32;
const dims = { keyWidth: W, valueWidth: 4 };
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Namespaces of several sizes: the big one goes through the graph, the small ones are exact. */
async function populated(options: Record<string, unknown>): Promise<{
  store: HnswStore;
  byNs: Map<string, MemoryRecord[]>;
}> {
  const { dir, cleanup } = await tempDir();
  const store = await openHnswStore({
    path: dir,
    dimensions: dims,
    autoFlushMs: false,
    ...options,
  });
  cleanups.push(async () => {
    await store.close().catch(() => {});
    await cleanup();
  });
  const r = rng(42);
  const byNs = new Map<string, MemoryRecord[]>();
  for (const [ns, n] of [
    ["big", 3000],
    ["mid", 400],
    ["small", 7],
  ] as const) {
    // same ids in every namespace, different keys
    const recs = randomRecords(r, n, W, 4, (i) => ({
      namespace: ns,
      metadata: { tag: `t${i % 3}`, odd: i % 2 === 1, ns },
    }));
    byNs.set(ns, recs);
    for (let i = 0; i < recs.length; i += 500) await store.upsert(recs.slice(i, i + 500));
  }
  return { store, byNs };
}

// HNSW is approximate: a generous ef makes the graph's top-10 equal to the exact one on this data,
// so the comparison checks the store (namespaces, filters, scores, fallbacks), not hnswlib's recall.
const variants = [
  ["default thresholds", { efSearch: 400 }],
  ["graph forced", { exactSearchThreshold: 0, exactSearchFraction: 0, efSearch: 400 }],
] as const;

describe.each(variants)("search (%s)", (_name, options) => {
  let ctx: Awaited<ReturnType<typeof populated>>;
  it("builds", async () => {
    ctx = await populated(options);
    expect(await ctx.store.count()).toBe(3407);
  });

  it("top-k ids and scores equal exact brute force, per namespace", async () => {
    const r = rng(7);
    for (const [ns, recs] of ctx.byNs) {
      for (let t = 0; t < 20; t++) {
        const q = randomVector(r, W);
        for (const k of [1, 10]) {
          const hits = await ctx.store.search(q, { topK: k, namespace: ns });
          const got = hits.map((h) => ({ id: h.memory.id, score: h.score }));
          const want = bruteForce(q, recs, k);
          expect(sameRanking(got, want), `${ns} k=${k}`).toBeUndefined();
          for (const h of hits) expect(h.memory.namespace).toBe(ns);
        }
      }
    }
  });

  it("never leaks namespaces, even for a query equal to another namespace's key", async () => {
    const big = ctx.byNs.get("big") as MemoryRecord[];
    const small = ctx.byNs.get("small") as MemoryRecord[];
    for (const rec of big.slice(0, 20)) {
      const hits = await ctx.store.search(rec.key, { topK: 50, namespace: "small" });
      expect(hits).toHaveLength(small.length);
      for (const h of hits) expect(h.memory.namespace).toBe("small");
    }
    for (const rec of small) {
      const hits = await ctx.store.search(rec.key, { topK: 5, namespace: "big" });
      expect(hits).toHaveLength(5);
      for (const h of hits) expect(h.memory.namespace).toBe("big");
      const self = await ctx.store.search(rec.key, { topK: 1, namespace: "small" });
      expect(self[0]?.memory.id).toBe(rec.id);
      expect(self[0]?.score).toBeCloseTo(1, 6);
    }
  });

  it("applies metadata equality filters exactly", async () => {
    const r = rng(9);
    for (const [ns, recs] of ctx.byNs) {
      const filters: Metadata[] = [{ tag: "t1" }, { tag: "t2", odd: true }, { odd: false, ns }];
      for (const filter of filters) {
        const subset = recs.filter((m) =>
          Object.entries(filter).every(([k, v]) => m.metadata?.[k] === v),
        );
        for (let t = 0; t < 5; t++) {
          const q = randomVector(r, W);
          const hits = await ctx.store.search(q, { topK: 10, namespace: ns, filter });
          const want = bruteForce(q, subset, 10);
          const got = hits.map((h) => ({ id: h.memory.id, score: h.score }));
          expect(sameRanking(got, want), `${ns} ${JSON.stringify(filter)}`).toBeUndefined();
        }
      }
    }
    const none = await ctx.store.search(randomVector(r, W), {
      topK: 3,
      namespace: "big",
      filter: { tag: "absent" },
    });
    expect(none).toEqual([]);
  });

  it("returns min(topK, count) and [] for unknown namespaces", async () => {
    const q = randomVector(rng(11), W);
    expect(await ctx.store.search(q, { topK: 100, namespace: "small" })).toHaveLength(7);
    expect(await ctx.store.search(q, { topK: 5000, namespace: "mid" })).toHaveLength(400);
    expect(await ctx.store.search(q, { topK: 1_000_000, namespace: "big" })).toHaveLength(3000);
    expect(await ctx.store.search(q, { topK: 3, namespace: "unknown" })).toEqual([]);
    expect(await ctx.store.search(q, { topK: 3 })).toEqual([]);
  });

  it("keeps exactness after deletes and replacements", async () => {
    const big = ctx.byNs.get("big") as MemoryRecord[];
    const r = rng(13);
    const removed = big.slice(0, 300).map((m) => m.id);
    expect(await ctx.store.delete(removed, "big")).toBe(300);
    const replaced = big.slice(300, 600).map((m) => ({ ...m, key: randomVector(r, W) }));
    await ctx.store.upsert(replaced);
    const now = [...replaced, ...big.slice(600)];
    for (let t = 0; t < 20; t++) {
      const q = randomVector(r, W);
      const hits = await ctx.store.search(q, { topK: 10, namespace: "big" });
      const got = hits.map((h) => ({ id: h.memory.id, score: h.score }));
      expect(sameRanking(got, bruteForce(q, now, 10))).toBeUndefined();
    }
    expect(await ctx.store.count("big")).toBe(2700);
  });
});

it("uses the graph (approximate) on the single-namespace fast path and scores exactly", async () => {
  const store = await openHnswStore({ dimensions: { keyWidth: 64, valueWidth: 2 } });
  const r = rng(21);
  const recs = randomRecords(r, 4000, 64, 2);
  await store.upsert(recs);
  let hit = 0;
  for (let t = 0; t < 30; t++) {
    const q = randomVector(r, 64);
    const hits = await store.search(q, { topK: 10 });
    expect(hits).toHaveLength(10);
    const want = new Set(bruteForce(q, recs, 10).map((w) => w.id));
    for (const h of hits) {
      if (want.has(h.memory.id)) hit++;
      // the score is the exact cosine with the stored key, whatever hnswlib said
      const rec = recs[Number(h.memory.id.slice(1))] as MemoryRecord;
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let i = 0; i < 64; i++) {
        ab += (q[i] as number) * (rec.key[i] as number);
        aa += (q[i] as number) ** 2;
        bb += (rec.key[i] as number) ** 2;
      }
      expect(Math.abs(h.score - ab / Math.sqrt(aa * bb))).toBeLessThan(1e-9);
    }
    for (let i = 1; i < hits.length; i++) {
      expect(hits[i - 1]?.score ?? 0).toBeGreaterThanOrEqual(hits[i]?.score ?? 0);
    }
  }
  expect(hit / 300).toBeGreaterThan(0.9);
  await store.close();
});

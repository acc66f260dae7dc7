import { isMnemoError, type MemoryRecord } from "@mnemo/core";
import { afterEach, describe, expect, it } from "vitest";
import { type HnswStore, openHnswStore } from "../src/index.js";
import { bruteForce, randomRecords, randomVector, rng, sameRanking, tempDir } from "./helpers.js";

const dims = { keyWidth: 16, valueWidth: 8 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function open(
  extra: Record<string, unknown> = {},
): Promise<{ store: HnswStore; dir: string }> {
  const { dir, cleanup } = await tempDir();
  const store = await openHnswStore({ path: dir, dimensions: dims, autoFlushMs: false, ...extra });
  cleanups.push(async () => {
    await store.close().catch(() => {});
    await cleanup();
  });
  return { store, dir };
}

describe("records", () => {
  it("upserts, gets, counts, lists, deletes, names namespaces", async () => {
    const { store } = await open();
    const r = rng(1);
    const a = randomRecords(r, 5, 16, 8, (i) => ({ metadata: { i, even: i % 2 === 0 } }));
    const b = randomRecords(r, 3, 16, 8, () => ({ namespace: "other" }));
    await store.upsert([...a, ...b]);
    expect(await store.count()).toBe(8);
    expect(await store.count("default")).toBe(5);
    expect(await store.count("other")).toBe(3);
    expect(await store.count("nope")).toBe(0);
    expect(await store.namespaces()).toEqual(["default", "other"]);

    const got = await store.get(["m1", "zzz", "m4"]);
    expect(got[1]).toBeUndefined();
    expect(got[0]?.id).toBe("m1");
    expect(got[0]?.namespace).toBe("default");
    expect(got[0]?.text).toBe("memory 1");
    expect(got[0]?.metadata).toEqual({ i: 1, even: false });
    expect(Array.from(got[0]?.key ?? [])).toEqual(Array.from(a[1]?.key ?? []));
    expect(Array.from(got[2]?.value ?? [])).toEqual(Array.from(a[4]?.value ?? []));
    // same id, other namespace, other record
    expect((await store.get(["m1"], "other"))[0]?.key).toEqual(b[1]?.key);

    const listed = await store.list({ filter: { even: true } });
    expect(listed.map((m) => m.id)).toEqual(["m0", "m2", "m4"]);
    expect((await store.list({ limit: 2, offset: 1 })).map((m) => m.id)).toEqual(["m1", "m2"]);
    expect((await store.list({ namespace: "other" })).length).toBe(3);

    expect(await store.delete(["m0", "m0", "nope", "m1"])).toBe(2);
    expect(await store.count()).toBe(6);
    expect((await store.get(["m0"]))[0]).toBeUndefined();
    expect(await store.delete(["m0", "m1", "m2", "m3", "m4"])).toBe(3);
    expect(await store.namespaces()).toEqual(["other"]);
    expect(await store.search(randomVector(r, 16), { topK: 3 })).toEqual([]);
  });

  it("upsert is idempotent and replaces by (namespace, id)", async () => {
    const { store } = await open();
    const r = rng(2);
    const recs = randomRecords(r, 10, 16, 8);
    await store.upsert(recs);
    await store.upsert(recs);
    expect(await store.count()).toBe(10);
    const q = recs[3]?.key as Float32Array;
    const hits = await store.search(q, { topK: 1 });
    expect(hits[0]?.memory.id).toBe("m3");
    expect(hits[0]?.score).toBeCloseTo(1, 6);
    // replace m3's key: the old key no longer finds it at score 1
    const newKey = randomVector(r, 16);
    await store.upsert([{ ...(recs[3] as MemoryRecord), key: newKey, text: "new" }]);
    expect(await store.count()).toBe(10);
    const again = await store.search(newKey, { topK: 1 });
    expect(again[0]?.memory.id).toBe("m3");
    expect(again[0]?.memory.text).toBe("new");
    const old = await store.search(q, { topK: 10 });
    expect(old.find((h) => h.memory.id === "m3")?.score ?? 0).toBeLessThan(0.999);
    // last record of a batch wins for a duplicate id
    await store.upsert([
      { id: "dup", key: randomVector(r, 16), value: randomVector(r, 8), text: "first" },
      { id: "dup", key: randomVector(r, 16), value: randomVector(r, 8), text: "second" },
    ]);
    expect((await store.get(["dup"]))[0]?.text).toBe("second");
    expect(await store.count()).toBe(11);
  });

  it("values of n × valueWidth round-trip exactly", async () => {
    const { store } = await open();
    const r = rng(3);
    const v1 = randomVector(r, 8);
    const v3 = randomVector(r, 24);
    const v5 = Array.from(randomVector(r, 40));
    await store.upsert([
      { id: "one", key: randomVector(r, 16), value: v1 },
      { id: "three", key: randomVector(r, 16), value: v3 },
      { id: "five", key: randomVector(r, 16), value: v5 as unknown as Float32Array },
    ]);
    const [one, three, five] = await store.get(["one", "three", "five"]);
    expect(one?.value).toEqual(v1);
    expect(three?.value).toEqual(v3);
    expect(five?.value).toEqual(Float32Array.from(v5));
    expect(one?.value).not.toBe(v1);
    expect(one?.metadata).toEqual({});
    expect(one?.text).toBeUndefined();
  });

  it("works in memory (no path)", async () => {
    const store = await openHnswStore({ dimensions: dims });
    const r = rng(4);
    const recs = randomRecords(r, 50, 16, 8);
    await store.upsert(recs);
    const q = randomVector(r, 16);
    const hits = await store.search(q, { topK: 5 });
    const want = bruteForce(q, recs, 5);
    expect(
      sameRanking(
        hits.map((h) => ({ id: h.memory.id, score: h.score })),
        want,
      ),
    ).toBeUndefined();
    expect(store.info().path).toBeNull();
    await store.close();
    await store.close();
    await expect(store.count()).rejects.toSatisfy((e) => isMnemoError(e, "DISPOSED"));
  });
});

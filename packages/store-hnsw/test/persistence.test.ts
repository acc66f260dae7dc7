import { existsSync } from "node:fs";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isMnemoError, type MemoryRecord } from "@mnemo/core";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { type HnswStore, MAX_LABEL, openHnswStore, STORE_FILES } from "../src/index.js";
import { bruteForce, randomRecords, randomVector, rng, sameRanking, tempDir } from "./helpers.js";

const W = 24;
const dims = { keyWidth: W, valueWidth: 6 };
const model = "tiny-test-model@1";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function dir(): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

function open(path: string, extra: Record<string, unknown> = {}): Promise<HnswStore> {
  return openHnswStore({
    path,
    dimensions: dims,
    modelIdentity: model,
    autoFlushMs: false,
    ...extra,
  });
}

/** Simulates a crash: the SQLite connection goes away without the index being saved. */
function crash(store: HnswStore): void {
  (store as unknown as { db: { close(): void } }).db.close();
  (store as unknown as { state: string }).state = "closed";
}

const queries = Array.from({ length: 15 }, (_, i) => randomVector(rng(1000 + i), W));

async function results(store: HnswStore, ns?: string) {
  const out = [];
  for (const q of queries) {
    const hits = await store.search(q, { topK: 8, ...(ns ? { namespace: ns } : {}) });
    out.push(hits.map((h) => ({ id: h.memory.id, score: h.score })));
  }
  return out;
}

function expectExact(got: { id: string; score: number }[][], recs: MemoryRecord[]): void {
  got.forEach((g, i) => {
    expect(sameRanking(g, bruteForce(queries[i] as Float32Array, recs, 8))).toBeUndefined();
  });
}

async function filled(path: string, n = 3000): Promise<{ store: HnswStore; recs: MemoryRecord[] }> {
  const store = await open(path, { efSearch: 300 });
  const recs = randomRecords(rng(5), n, W, 6, (i) => ({ metadata: { i } }));
  await store.upsert(recs);
  return { store, recs };
}

describe("persistence", () => {
  it("close + reopen gives the same search results from the saved index", async () => {
    const p = await dir();
    const { store, recs } = await filled(p);
    const before = await results(store);
    expectExact(before, recs);
    await store.close();
    for (const f of Object.values(STORE_FILES)) expect(existsSync(join(p, f))).toBe(true);
    const manifest = JSON.parse(await readFile(join(p, STORE_FILES.manifest), "utf8"));
    expect(manifest).toMatchObject({
      format: "mnemo-store-hnsw",
      space: "cosine",
      dimensions: dims,
      modelIdentity: model,
      M: 16,
      efConstruction: 200,
      efSearch: 300,
      count: 3000,
    });
    const again = await open(p);
    expect(again.info().indexSource).toBe("loaded");
    expect(again.info().efSearch).toBe(300); // saved, though hnswlib does not save ef
    expect(await again.count()).toBe(3000);
    expect(await results(again)).toEqual(before);
    await again.close();
  });

  it("refuses other dimensions or another model with STORE_MISMATCH", async () => {
    const p = await dir();
    const { store } = await filled(p, 10);
    await store.close();
    for (const d of [
      { keyWidth: W + 1, valueWidth: 6 },
      { keyWidth: W, valueWidth: 7 },
    ]) {
      const e = await openHnswStore({ path: p, dimensions: d }).catch((x: unknown) => x);
      expect(isMnemoError(e, "STORE_MISMATCH")).toBe(true);
      expect((e as Error).message).toContain(model);
    }
    const e = await open(p, { modelIdentity: "other-model" }).catch((x: unknown) => x);
    expect(isMnemoError(e, "STORE_MISMATCH")).toBe(true);
    expect((e as Error).message).toMatch(/tiny-test-model@1.*other-model/s);
    // no identity given: accepted; the store keeps its own
    const ok = await openHnswStore({ path: p, dimensions: dims });
    expect(ok.modelIdentity).toBe(model);
    expect(await ok.count()).toBe(10);
    await ok.close();
  });

  it.each([
    ["deleted", async (f: string) => rm(f)],
    [
      "corrupted",
      async (f: string) => {
        const b = await readFile(f);
        for (let i = 200; i < b.length; i += 97) b[i] = (b[i] as number) ^ 0xff;
        await writeFile(f, b);
      },
    ],
    [
      "truncated",
      async (f: string) => {
        const b = await readFile(f);
        await writeFile(f, b.subarray(0, b.length >> 1));
      },
    ],
    ["garbage", async (f: string) => writeFile(f, "not an index")],
  ])("rebuilds a %s index file from SQLite with the same results", async (_what, damage) => {
    const p = await dir();
    const { store, recs } = await filled(p);
    const before = await results(store);
    await store.close();
    await damage(join(p, STORE_FILES.index));
    const again = await open(p);
    expect(again.info().indexSource).toMatch(/^rebuilt/);
    expect(await results(again)).toEqual(before);
    expectExact(await results(again), recs);
    await again.close();
    // the rebuilt index was saved: the next open loads it
    const third = await open(p);
    expect(third.info().indexSource).toBe("loaded");
    await third.close();
  });

  it("an index of another store (other dimensions) in the directory is rebuilt, not trusted", async () => {
    const p = await dir();
    const q = await dir();
    const { store, recs } = await filled(p, 500);
    await store.close();
    const other = await openHnswStore({ path: q, dimensions: { keyWidth: 8, valueWidth: 1 } });
    await other.upsert(randomRecords(rng(3), 50, 8, 1));
    await other.close();
    await writeFile(join(p, STORE_FILES.index), await readFile(join(q, STORE_FILES.index)));
    const again = await open(p);
    expect(again.info().indexSource).toMatch(/^rebuilt/);
    expectExact(await results(again), recs);
    await again.close();
  });

  it("after a crash, acknowledged writes since the last save are replayed from SQLite", async () => {
    const p = await dir();
    const { store, recs } = await filled(p);
    await store.flush();
    const r = rng(77);
    const added = randomRecords(r, 200, W, 6, () => ({}), "new");
    await store.upsert(added);
    const replaced = recs.slice(0, 100).map((m) => ({ ...m, key: randomVector(r, W) }));
    await store.upsert(replaced);
    await store.delete(
      recs.slice(100, 150).map((m) => m.id),
      "default",
    );
    expect(store.info().dirty).toBe(true);
    crash(store);
    const finalSet = [...replaced, ...recs.slice(150), ...added];
    const again = await open(p);
    expect(again.info().indexSource).toBe("caught-up");
    expect(await again.count()).toBe(finalSet.length);
    expectExact(await results(again), finalSet);
    await again.close();
    const third = await open(p);
    expect(third.info().indexSource).toBe("loaded");
    expectExact(await results(third), finalSet);
    await third.close();
  });

  it("after a crash before any save, the index is rebuilt from SQLite", async () => {
    const p = await dir();
    const { store, recs } = await filled(p, 800);
    crash(store);
    const again = await open(p);
    expect(again.info().indexSource).toMatch(/^rebuilt/);
    expectExact(await results(again), recs);
    await again.close();
  });

  it("a missing manifest is recreated; a corrupt manifest is STORE_CORRUPT", async () => {
    const p = await dir();
    const { store, recs } = await filled(p, 300);
    await store.close();
    await rm(join(p, STORE_FILES.manifest));
    const again = await open(p);
    expectExact(await results(again), recs);
    await again.close();
    await writeFile(join(p, STORE_FILES.manifest), "{ not json");
    const e = await open(p).catch((x: unknown) => x);
    expect(isMnemoError(e, "STORE_CORRUPT")).toBe(true);
    await writeFile(join(p, STORE_FILES.manifest), JSON.stringify({ format: "mnemo-store-hnsw" }));
    expect(isMnemoError(await open(p).catch((x: unknown) => x), "STORE_CORRUPT")).toBe(true);
  });

  it("a corrupt SQLite file is STORE_CORRUPT; a missing one with a manifest too", async () => {
    const p = await dir();
    const { store } = await filled(p, 50);
    await store.close();
    const f = join(p, STORE_FILES.records);
    const b = await readFile(f);
    b.fill(0x5a, 0, 100);
    await writeFile(f, b);
    expect(isMnemoError(await open(p).catch((x: unknown) => x), "STORE_CORRUPT")).toBe(true);
    await rm(f);
    expect(isMnemoError(await open(p).catch((x: unknown) => x), "STORE_CORRUPT")).toBe(true);
  });

  it("one instance per directory: a second open is STORE_UNAVAILABLE", async () => {
    const p = await dir();
    const { store } = await filled(p, 10);
    const e = await open(p).catch((x: unknown) => x);
    expect(isMnemoError(e, "STORE_UNAVAILABLE")).toBe(true);
    expect(await store.count()).toBe(10);
    await store.close();
    const again = await open(p);
    expect(await again.count()).toBe(10);
    await again.close();
  });

  it("an unwritable path is IO_ERROR, and so is a save that hnswlib silently failed", async () => {
    const p = await dir();
    await writeFile(join(p, "file"), "x");
    const e = await open(join(p, "file", "store")).catch((x: unknown) => x);
    expect(isMnemoError(e, "IO_ERROR")).toBe(true);
    const e2 = await open(join(p, "file")).catch((x: unknown) => x);
    expect(isMnemoError(e2, "IO_ERROR")).toBe(true);

    const s = join(p, "store");
    const { store, recs } = await filled(s, 100);
    await rm(s, { recursive: true, force: true }); // hnswlib's writeIndex now "succeeds" writing nothing
    const e3 = await store.flush().catch((x: unknown) => x);
    expect(isMnemoError(e3, "IO_ERROR")).toBe(true);
    // still usable: the records are in the (unlinked but open) SQLite file
    expect(await store.count()).toBe(100);
    expectExact(await results(store), recs);
    expect(isMnemoError(await store.close().catch((x: unknown) => x), "IO_ERROR")).toBe(true);
    expect(isMnemoError(await store.count().catch((x: unknown) => x), "DISPOSED")).toBe(true);
  });

  it("saves in the background after writes settle (autoFlushMs)", async () => {
    const p = await dir();
    const store = await open(p, { autoFlushMs: 30 });
    await store.upsert(randomRecords(rng(8), 20, W, 6));
    expect(store.info().dirty).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(store.info().dirty).toBe(false);
    expect(store.info().savedGeneration).toBe(store.info().generation);
    await store.close();
  });
});

describe("32-bit labels", () => {
  it("hands out labels up to 2^32 − 1 intact, then renumbers instead of truncating", async () => {
    const p = await dir();
    const { store, recs } = await filled(p, 200);
    await store.close();
    const db = new Database(join(p, STORE_FILES.records));
    db.prepare("UPDATE meta SET value = ? WHERE key = 'next_label'").run(String(MAX_LABEL - 2));
    db.close();

    const s2 = await open(p);
    const r = rng(99);
    const high = randomRecords(r, 3, W, 6, () => ({}), "high");
    await s2.upsert(high); // labels 2^32−3 .. 2^32−1: the last ones hnswlib can hold
    for (const h of high) {
      const hit = await s2.search(h.key, { topK: 1 });
      expect(hit[0]?.memory.id).toBe(h.id);
      expect(hit[0]?.score).toBeCloseTo(1, 6);
    }
    expect(s2.info().nextLabel).toBe(MAX_LABEL + 1);
    const more = randomRecords(r, 5, W, 6, () => ({}), "more");
    await s2.upsert(more); // would pass 2^32: labels are renumbered 0..n−1 first
    expect(s2.info().nextLabel).toBe(200 + 3 + 5);
    const all = [...recs, ...high, ...more];
    expectExact(await results(s2), all);
    for (const h of [...high, ...more]) {
      expect((await s2.search(h.key, { topK: 1 }))[0]?.memory.id).toBe(h.id);
    }
    await s2.close();

    const check = new Database(join(p, STORE_FILES.records), { readonly: true });
    const max = check.prepare("SELECT max(label) FROM memories").pluck().get() as number;
    check.close();
    expect(max).toBeLessThanOrEqual(MAX_LABEL);
    expect(max).toBe(all.length - 1);
    const s3 = await open(p);
    expectExact(await results(s3), all);
    await s3.close();
  });
});

it("the index file is written atomically (no temp files left behind)", async () => {
  const p = await dir();
  const { store } = await filled(p, 100);
  await store.close();
  const { readdir } = await import("node:fs/promises");
  const files = (await readdir(p)).sort();
  expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([]);
  expect((await stat(join(p, STORE_FILES.index))).size).toBeGreaterThan(100 * W * 4);
});

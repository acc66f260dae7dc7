/**
 * `describeMemoryStore`: the contract of `MemoryStore` (core's `store.ts`), checked against an
 * exact float64 brute-force search the suite computes itself on the same data.
 */
import type { MemoryRecord, MemoryStore, Metadata, StoredMemory } from "@mnemo/core";
import { afterAll, describe, expect } from "vitest";
import { stripUndefined } from "./backend-suite.js";
import type { StoreCapabilities, StoreCaseId } from "./capabilities.js";
import {
  defineCase,
  expectMnemoError,
  notSelected,
  type StoreFactory,
  uniqueLocation,
} from "./harness.js";
import {
  bruteForceTopK,
  compareRankings,
  gaussianVector,
  maxAbsDiff,
  type Rng,
  seededRandom,
} from "./reference.js";

/** Default widths of the stores the suites create. */
export const DEFAULT_TEST_DIMENSIONS = {
  /** Width of keys and queries. */
  keyWidth: 32,
  /** Width of one value vector. */
  valueWidth: 8,
} as const;

/** Options of {@link makeTestRecords}. */
export interface TestRecordOptions {
  /** Id prefix; ids are `${prefix}${i}` with `i` zero-padded to 4 digits. Default `"m"`. */
  prefix?: string;
  /** Namespace of every record (omitted: the default namespace). */
  namespace?: string;
  /** Metadata of record `i`. */
  metadata?: (i: number) => Metadata;
  /** Spread key norms over [1e-2, 1e2] so that only the angle can rank them. Default true. */
  varyNorms?: boolean;
}

/**
 * `n` deterministic random memories for `dimensions`: Gaussian keys (norms spread over four orders
 * of magnitude), values of 1–3 rows, a text each.
 * @param rng random source ({@link seededRandom})
 * @param n how many
 * @param dimensions key and value widths
 * @param options ids, namespace, metadata
 */
export function makeTestRecords(
  rng: Rng,
  n: number,
  dimensions: { keyWidth: number; valueWidth: number },
  options: TestRecordOptions = {},
): MemoryRecord[] {
  const prefix = options.prefix ?? "m";
  return Array.from({ length: n }, (_, i) => {
    const key = gaussianVector(rng, dimensions.keyWidth);
    if (options.varyNorms ?? true) {
      const scale = 10 ** (rng() * 4 - 2);
      for (let j = 0; j < key.length; j++) key[j] = (key[j] as number) * scale;
    }
    const rows = 1 + Math.floor(rng() * 3);
    return {
      id: `${prefix}${String(i).padStart(4, "0")}`,
      key,
      value: gaussianVector(rng, rows * dimensions.valueWidth),
      text: `memory ${prefix}${i}`,
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      ...(options.metadata === undefined ? {} : { metadata: options.metadata(i) }),
    };
  });
}

/**
 * Asserts that a stored memory equals the record written: values bit-exact, keys within
 * `keyTolerance × ‖key‖` per element (0 = bit-exact). @internal
 */
export function expectSameMemory(
  got: StoredMemory | undefined,
  want: MemoryRecord,
  keyTolerance = 0,
  what = want.id,
): void {
  expect(got, `${what} should exist`).toBeDefined();
  const g = got as StoredMemory;
  expect(g.id).toBe(want.id);
  expect(g.namespace).toBe(want.namespace ?? "default");
  if (keyTolerance === 0) expect(Array.from(g.key), `${what}: key`).toEqual(Array.from(want.key));
  else {
    const bound = keyTolerance * Math.hypot(...want.key);
    expect(maxAbsDiff(g.key, want.key), `${what}: key`).toBeLessThanOrEqual(bound);
  }
  expect(Array.from(g.value), `${what}: value`).toEqual(Array.from(want.value));
  expect(g.metadata, `${what}: metadata`).toEqual(want.metadata ?? {});
  if (want.text !== undefined) expect(g.text).toBe(want.text);
}

function matches(metadata: Metadata | undefined, filter: Metadata): boolean {
  const md = metadata ?? {};
  return Object.entries(filter).every(([k, v]) => Object.hasOwn(md, k) && md[k] === v);
}

/**
 * Registers the conformance cases of one {@link MemoryStore} in a `describe` block.
 *
 * ```ts
 * describeMemoryStore("hnsw (disk)", ({ dimensions, location }) =>
 *   openHnswStore({ path: join(dir, location), dimensions }), { persistence: true });
 * ```
 *
 * @param name shown in the block's title
 * @param factory opens a store; each case opens its own at a fresh `location` (the persistence case
 *   reopens one) and closes it
 * @param capabilities what the store supports
 */
export function describeMemoryStore(
  name: string,
  factory: StoreFactory,
  capabilities: StoreCapabilities,
): void {
  const suite = `MemoryStore conformance: ${name}`;
  const caps = {
    metadataFilter: true,
    scoreTolerance: 1e-5,
    keyTolerance: 0,
    searchSize: 400,
    dimensions: DEFAULT_TEST_DIMENSIONS,
    ...stripUndefined(capabilities),
  };
  const dims = { keyWidth: caps.dimensions.keyWidth, valueWidth: caps.dimensions.valueWidth };
  const skip = (id: StoreCaseId): string | undefined => notSelected(id, capabilities.only);

  describe(suite, () => {
    const same = (got: StoredMemory | undefined, want: MemoryRecord): void =>
      expectSameMemory(got, want, caps.keyTolerance);
    const opened: MemoryStore[] = [];
    afterAll(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined);
    });
    async function open(location = uniqueLocation(name)): Promise<MemoryStore> {
      const store = await factory({ dimensions: dims, location });
      opened.push(store);
      return store;
    }
    /** Asserts search(query) = brute force over `records` for every topK. */
    async function expectExact(
      store: MemoryStore,
      records: readonly MemoryRecord[],
      query: Float32Array,
      options: { topK: number; namespace?: string; filter?: Metadata },
    ): Promise<void> {
      const hits = await store.search(query, options);
      const want = bruteForceTopK(query, records, options.topK);
      const got = hits.map((h) => ({ id: h.memory.id, score: h.score }));
      const diff = compareRankings(got, want, caps.scoreTolerance);
      expect(diff, `search ${JSON.stringify({ ...options, query: undefined })}`).toBeUndefined();
      for (const h of hits) {
        expect(h.memory.namespace).toBe(options.namespace ?? "default");
        expect(h.memory.key.length).toBe(dims.keyWidth);
        if (options.filter) expect(matches(h.memory.metadata, options.filter)).toBe(true);
      }
    }

    defineCase(
      suite,
      "crud: upsert / get / delete / count / list / namespaces",
      skip("crud"),
      async () => {
        const store = await open();
        expect(store.dimensions).toEqual(dims);
        expect(await store.count()).toBe(0);
        expect(await store.namespaces()).toEqual([]);
        const rng = seededRandom(1);
        const main = makeTestRecords(rng, 5, dims, {
          metadata: (i): Metadata => (i % 2 === 0 ? { kind: "even", i } : {}),
        }).reverse(); // written out of id order
        const other = makeTestRecords(rng, 2, dims, { namespace: "other", prefix: "o" });
        await store.upsert([...main, ...other]);
        const byId = new Map(main.map((m) => [m.id, m]));
        const ids = [...byId.keys()].sort();
        const got = await store.get([ids[0] as string, "missing", ids[2] as string]);
        expect(got[1]).toBeUndefined();
        same(got[0], byId.get(ids[0] as string) as MemoryRecord);
        same(got[2], byId.get(ids[2] as string) as MemoryRecord);
        same((await store.get([other[1]?.id as string], "other"))[0], other[1] as MemoryRecord);
        expect(await store.get([other[1]?.id as string])).toEqual([undefined]);
        expect(await store.count()).toBe(7);
        expect(await store.count("default")).toBe(5);
        expect(await store.count("other")).toBe(2);
        expect(await store.count("nowhere")).toBe(0);
        expect((await store.list()).map((m) => m.id)).toEqual(ids);
        expect((await store.list({ limit: 2, offset: 1 })).map((m) => m.id)).toEqual(
          ids.slice(1, 3),
        );
        expect((await store.list({ namespace: "other" })).map((m) => m.id)).toEqual(
          other.map((m) => m.id).sort(),
        );
        expect(await store.namespaces()).toEqual(["default", "other"]);
        expect(await store.delete([ids[0] as string, "missing"])).toBe(1);
        expect(await store.get([ids[0] as string])).toEqual([undefined]);
        expect(await store.delete([ids[0] as string])).toBe(0);
        expect(await store.count()).toBe(6);
        expect(
          await store.delete(
            other.map((m) => m.id),
            "other",
          ),
        ).toBe(2);
        expect(await store.namespaces()).toEqual(["default"]);
        expect(await store.count("other")).toBe(0);
      },
    );

    defineCase(
      suite,
      `exact-top-k: top-k ids and cosine scores equal an exact brute-force search (${caps.searchSize} memories, scores within ${caps.scoreTolerance})`,
      skip("exact-top-k"),
      async () => {
        const store = await open();
        const rng = seededRandom(2);
        const records = makeTestRecords(rng, caps.searchSize, dims, { namespace: "main" });
        for (let i = 0; i < records.length; i += 200) await store.upsert(records.slice(i, i + 200));
        const few = makeTestRecords(rng, 7, dims, { namespace: "few" });
        await store.upsert(few);
        for (let q = 0; q < 12; q++) {
          // half the queries are near a stored key (a tight neighbourhood), half anywhere
          const query = gaussianVector(rng, dims.keyWidth);
          if (q % 2 === 0) {
            const near = records[Math.floor(rng() * records.length)] as MemoryRecord;
            const n = Math.hypot(...near.key);
            for (let j = 0; j < query.length; j++)
              query[j] = (near.key[j] as number) / n + 0.05 * (query[j] as number);
          }
          for (const topK of [1, 5, 10, 25]) {
            await expectExact(store, records, query, { topK, namespace: "main" });
          }
        }
        // a stored key (scaled) finds itself first with score 1
        const self = records[17] as MemoryRecord;
        const scaled = self.key.map((v) => v * 3);
        const [first] = await store.search(scaled, { topK: 3, namespace: "main" });
        expect(first?.memory.id).toBe(self.id);
        expect(first?.score).toBeCloseTo(1, 5);
        // topK beyond the namespace's size gives all of it
        await expectExact(store, few, gaussianVector(rng, dims.keyWidth), {
          topK: 10,
          namespace: "few",
        });
      },
    );

    defineCase(
      suite,
      "cosine-scores: scores are cosine similarity in [-1, 1] whatever the engine reports (norms, opposite, orthogonal)",
      skip("cosine-scores"),
      async () => {
        const store = await open();
        const rng = seededRandom(3);
        const base = gaussianVector(rng, dims.keyWidth);
        const orthogonal = gaussianVector(rng, dims.keyWidth);
        const bb = base.reduce((a, v) => a + v * v, 0);
        const ob = orthogonal.reduce((a, v, i) => a + v * (base[i] as number), 0);
        for (let j = 0; j < orthogonal.length; j++)
          orthogonal[j] = (orthogonal[j] as number) - (ob / bb) * (base[j] as number);
        const value = gaussianVector(rng, dims.valueWidth);
        const records: MemoryRecord[] = [
          { id: "same", key: base.map((v) => v * 1000), value },
          { id: "opposite", key: base.map((v) => v * -0.001), value },
          { id: "orthogonal", key: orthogonal, value },
          ...makeTestRecords(rng, 9, dims),
        ];
        await store.upsert(records);
        const query = base.map((v) => v * 0.5);
        await expectExact(store, records, query, { topK: records.length });
        const hits = await store.search(query, { topK: records.length });
        for (const h of hits) expect(h.score >= -1 - 1e-6 && h.score <= 1 + 1e-6).toBe(true);
        expect(hits[0]?.memory.id).toBe("same");
        expect(hits[0]?.score).toBeCloseTo(1, 5);
        expect(hits.at(-1)?.memory.id).toBe("opposite");
        expect(hits.at(-1)?.score).toBeCloseTo(-1, 5);
        expect(hits.find((h) => h.memory.id === "orthogonal")?.score).toBeCloseTo(0, 5);
      },
    );

    defineCase(
      suite,
      "namespaces: the same ids in two namespaces never leak into each other",
      skip("namespaces"),
      async () => {
        const store = await open();
        const rng = seededRandom(4);
        const alpha = makeTestRecords(rng, 30, dims, { namespace: "alpha" });
        const beta = makeTestRecords(rng, 30, dims, { namespace: "beta" });
        await store.upsert([...alpha, ...beta]);
        for (let q = 0; q < 4; q++) {
          const query = gaussianVector(rng, dims.keyWidth);
          await expectExact(store, alpha, query, { topK: 8, namespace: "alpha" });
          await expectExact(store, beta, query, { topK: 8, namespace: "beta" });
        }
        // alpha's own key searched in beta finds beta's memories only
        const probe = alpha[5] as MemoryRecord;
        await expectExact(store, beta, probe.key, { topK: 30, namespace: "beta" });
        same((await store.get([probe.id], "alpha"))[0], probe);
        same((await store.get([probe.id], "beta"))[0], beta[5] as MemoryRecord);
        expect(await store.search(probe.key, { topK: 5 })).toEqual([]);
        expect(await store.search(probe.key, { topK: 5, namespace: "gamma" })).toEqual([]);
        expect(await store.delete([probe.id], "alpha")).toBe(1);
        expect(await store.count("beta")).toBe(30);
        same((await store.get([probe.id], "beta"))[0], beta[5] as MemoryRecord);
        expect((await store.list({ namespace: "beta", limit: 1000 })).length).toBe(30);
        expect(await store.namespaces()).toEqual(["alpha", "beta"]);
      },
    );

    defineCase(
      suite,
      "metadata-filter: search and list keep exactly the memories whose metadata match",
      skip("metadata-filter") ??
        (caps.metadataFilter ? undefined : "capabilities.metadataFilter is false"),
      async () => {
        const store = await open();
        const rng = seededRandom(5);
        const records = makeTestRecords(rng, 60, dims, {
          namespace: "meta",
          metadata: (i) => ({
            tag: `t${i % 3}`,
            odd: i % 2 === 1,
            rank: i % 5,
            maybe: i % 4 === 0 ? null : "x",
          }),
        });
        await store.upsert(records);
        const filters: Metadata[] = [
          { tag: "t1" },
          { odd: true, tag: "t2" },
          { rank: 3 },
          { maybe: null },
          { tag: "t1", rank: 4, odd: false },
          { absent: "key" },
        ];
        for (const filter of filters) {
          const subset = records.filter((r) => matches(r.metadata, filter));
          const query = gaussianVector(rng, dims.keyWidth);
          await expectExact(store, subset, query, { topK: 7, namespace: "meta", filter });
          const listed = await store.list({ namespace: "meta", filter, limit: 1000 });
          expect(
            listed.map((m) => m.id),
            `list ${JSON.stringify(filter)}`,
          ).toEqual(subset.map((r) => r.id).sort());
        }
      },
    );

    defineCase(
      suite,
      "idempotent-upsert: upserting again replaces, never duplicates",
      skip("idempotent-upsert"),
      async () => {
        const store = await open();
        const rng = seededRandom(6);
        const records = makeTestRecords(rng, 10, dims);
        await store.upsert(records);
        await store.upsert(records);
        expect(await store.count()).toBe(10);
        const first = records[0] as MemoryRecord;
        const changed: MemoryRecord = {
          ...first,
          key: first.key.map((v) => -v),
          value: gaussianVector(rng, 2 * dims.valueWidth),
          text: "changed",
          metadata: { version: 2 },
        };
        await store.upsert([changed]);
        expect(await store.count()).toBe(10);
        same((await store.get([first.id]))[0], changed);
        const now = [changed, ...records.slice(1)];
        await expectExact(store, now, first.key, { topK: 10 });
        const hits = await store.search(first.key, { topK: 10 });
        expect(hits.at(-1)?.memory.id).toBe(first.id);
        expect(hits.filter((h) => h.memory.id === first.id)).toHaveLength(1);
      },
    );

    defineCase(
      suite,
      "bad-vectors: wrong width, NaN, Infinity, zero query rejected by code; the store is intact",
      skip("bad-vectors"),
      async () => {
        const store = await open();
        const rng = seededRandom(7);
        const records = makeTestRecords(rng, 8, dims);
        await store.upsert(records);
        const good = makeTestRecords(rng, 1, dims, { prefix: "new" })[0] as MemoryRecord;
        const withNaN = good.key.slice();
        withNaN[2] = Number.NaN;
        const withInf = good.value.slice();
        withInf[0] = Number.POSITIVE_INFINITY;
        const bad: [string, Partial<MemoryRecord>, string][] = [
          [
            "key too short",
            { key: new Float32Array(dims.keyWidth - 1).fill(1) },
            "DIMENSION_MISMATCH",
          ],
          [
            "key too long",
            { key: new Float32Array(dims.keyWidth + 1).fill(1) },
            "DIMENSION_MISMATCH",
          ],
          [
            "value not a whole number of rows",
            { value: new Float32Array(dims.valueWidth + 1) },
            "DIMENSION_MISMATCH",
          ],
          ["empty value", { value: new Float32Array(0) }, "DIMENSION_MISMATCH"],
          ["NaN in the key", { key: withNaN }, "NON_FINITE_VECTOR"],
          ["Infinity in the value", { value: withInf }, "NON_FINITE_VECTOR"],
        ];
        for (const [what, patch, code] of bad) {
          // all-or-nothing: the good record in the same batch is not written either
          await expectMnemoError(
            store.upsert([good, { ...good, id: "bad", ...patch }]),
            code,
            `upsert with ${what}`,
          );
        }
        const q = gaussianVector(rng, dims.keyWidth);
        const qNaN = q.slice();
        qNaN[0] = Number.NaN;
        const qInf = q.slice();
        qInf[5] = Number.NEGATIVE_INFINITY;
        await expectMnemoError(
          store.search(q.subarray(1), { topK: 3 }),
          "DIMENSION_MISMATCH",
          "a short query",
        );
        await expectMnemoError(store.search(qNaN, { topK: 3 }), "NON_FINITE_VECTOR", "NaN query");
        await expectMnemoError(
          store.search(qInf, { topK: 3 }),
          "NON_FINITE_VECTOR",
          "-Infinity query",
        );
        await expectMnemoError(
          store.search(new Float32Array(dims.keyWidth), { topK: 3 }),
          "INVALID_INPUT",
          "an all-zero query",
        );
        await expectMnemoError(store.search(q, { topK: 0 }), "INVALID_OPTION", "topK 0");
        await expectMnemoError(store.search(q, { topK: 1.5 }), "INVALID_OPTION", "topK 1.5");
        // intact
        expect(await store.count()).toBe(records.length);
        expect(await store.get([good.id, "bad"])).toEqual([undefined, undefined]);
        const back = await store.get(records.map((r) => r.id));
        for (const [i, r] of records.entries()) same(back[i], r);
        await expectExact(store, records, q, { topK: 8 });
      },
    );

    defineCase(
      suite,
      "persistence: close and reopen at the same location keeps every memory",
      skip("persistence") ??
        (capabilities.persistence
          ? undefined
          : "capabilities.persistence is false (the store does not outlive close())"),
      async () => {
        const location = uniqueLocation(`${name}-persist`);
        const rng = seededRandom(8);
        const a = makeTestRecords(rng, 30, dims, {
          namespace: "a",
          metadata: (i) => ({ tag: `t${i % 2}` }),
        });
        const b = makeTestRecords(rng, 5, dims, { namespace: "b" });
        const first = await open(location);
        await first.upsert([...a, ...b]);
        expect(await first.delete([a[0]?.id as string], "a")).toBe(1);
        await first.close();
        const second = await open(location);
        const kept = a.slice(1);
        expect(await second.count()).toBe(34);
        expect(await second.namespaces()).toEqual(["a", "b"]);
        const back = await second.get(
          kept.map((r) => r.id),
          "a",
        );
        for (const [i, r] of kept.entries()) same(back[i], r);
        expect(await second.get([a[0]?.id as string], "a")).toEqual([undefined]);
        const q = gaussianVector(rng, dims.keyWidth);
        await expectExact(second, kept, q, { topK: 10, namespace: "a" });
        if (caps.metadataFilter) {
          const subset = kept.filter((r) => r.metadata?.tag === "t1");
          await expectExact(second, subset, q, { topK: 5, namespace: "a", filter: { tag: "t1" } });
        }
        const more = makeTestRecords(rng, 3, dims, { namespace: "b", prefix: "late" });
        await second.upsert(more);
        await second.close();
        const third = await open(location);
        expect(await third.count("b")).toBe(8);
        await expectExact(third, [...b, ...more], q, { topK: 8, namespace: "b" });
      },
    );

    defineCase(
      suite,
      "close: close is idempotent; a closed store refuses calls with DISPOSED",
      skip("close"),
      async () => {
        const store = await open();
        await store.upsert(makeTestRecords(seededRandom(9), 2, dims));
        await store.close();
        await store.close();
        await expectMnemoError(store.count(), "DISPOSED", "count after close");
        await expectMnemoError(
          store.search(gaussianVector(seededRandom(10), dims.keyWidth), { topK: 1 }),
          "DISPOSED",
          "search after close",
        );
      },
    );
  });
}

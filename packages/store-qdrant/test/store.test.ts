// The store contract against Qdrant's engine: the qdrant-edge test server always, a real Qdrant
// when QDRANT_URL is set. Expectations are computed independently (float64 brute force in
// helpers.ts, plain JS filters), never by the store's own code.
import { isMnemoError, type MemoryRecord, type Metadata } from "@mnemo/core";
import { afterAll, describe, expect, it } from "vitest";
import { openQdrantStore, pointId, type QdrantStore } from "../src/index.js";
import {
  bruteForce,
  control,
  cosine,
  dropCollection,
  randomRecords,
  randomVector,
  rng,
  sameRanking,
  targets,
  uniqueCollection,
} from "./helpers.js";

const K = 16;
const V = 8;

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await p.then(
    () => expect.fail(`expected ${code}, but it succeeded`),
    (e: unknown) => {
      if (!isMnemoError(e)) throw e;
      expect(e.code, e.message).toBe(code);
    },
  );
}

function matches(metadata: Metadata | undefined, filter: Metadata): boolean {
  const md = metadata ?? {};
  return Object.entries(filter).every(([k, v]) => Object.hasOwn(md, k) && md[k] === v);
}

for (const { target, skip } of targets()) {
  if (skip !== undefined) {
    console.log(`[store-qdrant] skipping "${target.name}" suite: ${skip}`);
    describe(target.name, () => {
      it.skip(`whole suite (${skip})`, () => undefined);
    });
    continue;
  }

  describe(target.name, () => {
    const collections: string[] = [];
    async function open(
      extra: Partial<Parameters<typeof openQdrantStore>[0]> = {},
    ): Promise<QdrantStore> {
      const collection = uniqueCollection();
      collections.push(collection);
      return openQdrantStore({
        url: target.url,
        ...(target.apiKey ? { apiKey: target.apiKey } : {}),
        collection,
        dimensions: { keyWidth: K, valueWidth: V },
        ...extra,
      });
    }

    afterAll(async () => {
      for (const c of collections) await dropCollection(target, c);
      if (target.testServer) {
        const { violations } = (await control(target, "violations")) as { violations: unknown[] };
        expect(violations, "requests/responses that broke Qdrant's OpenAPI spec").toEqual([]);
      }
    });

    it("creates the collection with named key/value vectors and a namespace index", async () => {
      const store = await open();
      expect(store.info.created).toBe(true);
      const res = await fetch(`${target.url}/collections/${store.info.collection}`, {
        headers: target.apiKey ? { "api-key": target.apiKey } : {},
      });
      const info = (
        (await res.json()) as {
          result: {
            config: { params: { vectors: Record<string, unknown> } };
            payload_schema: Record<string, { data_type: string }>;
          };
        }
      ).result;
      expect(info.config.params.vectors.key).toMatchObject({ size: K, distance: "Cosine" });
      expect(info.config.params.vectors.value).toMatchObject({
        size: V,
        distance: "Dot",
        multivector_config: { comparator: "max_sim" },
      });
      expect(info.payload_schema.namespace?.data_type).toBe("keyword");
      // Re-opening validates and reuses it.
      const again = await openQdrantStore({
        url: target.url,
        ...(target.apiKey ? { apiKey: target.apiKey } : {}),
        collection: store.info.collection,
        dimensions: { keyWidth: K, valueWidth: V },
      });
      expect(again.info.created).toBe(false);
    });

    it("upserts, gets, counts, lists, deletes; values bit-exact, keys within float32 rounding", async () => {
      const store = await open();
      const r = rng(1);
      const recs = randomRecords(r, 5, K, V, (i) => ({ metadata: { i, even: i % 2 === 0 } }));
      // Two value rows for one memory (n = 2).
      (recs[2] as MemoryRecord).value = randomVector(r, 2 * V);
      delete (recs[4] as MemoryRecord).text;
      await store.upsert(recs);

      const got = await store.get(["m3", "nope", "m0", "m2", "m4"]);
      expect(got.map((m) => m?.id)).toEqual(["m3", undefined, "m0", "m2", "m4"]);
      for (const m of got) {
        if (m === undefined) continue;
        const want = recs.find((x) => x.id === m.id) as MemoryRecord;
        expect(m.namespace).toBe("default");
        expect(Array.from(m.value)).toEqual(Array.from(want.value));
        expect(m.key.length).toBe(K);
        for (let i = 0; i < K; i++) {
          expect(Math.abs((m.key[i] as number) - (want.key[i] as number))).toBeLessThanOrEqual(
            1e-6 * Math.max(1, Math.abs(want.key[i] as number)),
          );
        }
        expect(m.metadata).toEqual(want.metadata);
        expect(m.text).toBe(want.text);
      }
      expect(got[3]?.value.length).toBe(2 * V);
      expect(got[4]).not.toHaveProperty("text");

      expect(await store.count()).toBe(5);
      expect(await store.count("default")).toBe(5);
      expect(await store.count("other")).toBe(0);
      expect((await store.list()).map((m) => m.id)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
      expect((await store.list({ limit: 2, offset: 1 })).map((m) => m.id)).toEqual(["m1", "m2"]);
      expect(await store.list({ limit: 0 })).toEqual([]);
      expect((await store.list({ filter: { even: true } })).map((m) => m.id)).toEqual([
        "m0",
        "m2",
        "m4",
      ]);
      expect(await store.namespaces()).toEqual(["default"]);

      expect(await store.delete(["m1", "m3", "m1", "missing"])).toBe(2);
      expect(await store.delete(["m1"])).toBe(0);
      expect(await store.count()).toBe(3);
      expect((await store.get(["m1", "m0"])).map((m) => m?.id)).toEqual([undefined, "m0"]);
    });

    it("lists in UTF-8 byte order of ids and pages through more than one scroll page", async () => {
      const store = await open({ batchSize: 500 });
      const r = rng(2);
      const ids = ["b", "a", "é", "Z", "a0", "\u{1F600}", "\uFF61"];
      const recs = [
        ...ids.map((id) => ({ id, key: randomVector(r, K), value: randomVector(r, V) })),
        ...randomRecords(r, 1200, K, V, () => ({}), "x"),
      ];
      await store.upsert(recs);
      const want = recs
        .map((x) => x.id)
        .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const got = await store.list({ limit: 5000 });
      expect(got.map((m) => m.id)).toEqual(want);
      expect((await store.list({ offset: 1205, limit: 10 })).map((m) => m.id)).toEqual(
        want.slice(1205, 1215),
      );
    });

    it("upsert is idempotent and replaces by (namespace, id); last record in a batch wins", async () => {
      const store = await open();
      const r = rng(3);
      const recs = randomRecords(r, 4, K, V);
      await store.upsert(recs);
      await store.upsert(recs);
      expect(await store.count()).toBe(4);
      const replacement = {
        ...(recs[0] as MemoryRecord),
        metadata: { v: 2 },
        value: randomVector(r, V),
      };
      const last = { ...replacement, metadata: { v: 3 } };
      await store.upsert([replacement, last]);
      expect(await store.count()).toBe(4);
      const [m] = await store.get(["m0"]);
      expect(m?.metadata).toEqual({ v: 3 });
      expect(Array.from(m?.value ?? [])).toEqual(Array.from(last.value));
    });

    it("imports in batches (batchSize) with everything readable afterwards", async () => {
      const store = await open({ batchSize: 7 });
      const recs = randomRecords(rng(4), 50, K, V);
      await store.upsert(recs);
      expect(await store.count()).toBe(50);
      const got = await store.get(recs.map((x) => x.id));
      expect(got.every((m, i) => m?.id === recs[i]?.id)).toBe(true);
    });

    it("top-k ids and cosine scores equal an exact brute-force search (scores within 1e-5)", async () => {
      const store = await open();
      const r = rng(5);
      const recs = randomRecords(r, 300, K, V);
      await store.upsert(recs);
      for (let q = 0; q < 20; q++) {
        const query = randomVector(r, K);
        const hits = await store.search(query, { topK: 10 });
        const got = hits.map((h) => ({ id: h.memory.id, score: h.score }));
        expect(sameRanking(got, bruteForce(query, recs, 10))).toBeUndefined();
        for (const h of hits) {
          expect(h.memory.value.length).toBe(V);
          expect(Math.abs(h.score - cosine(query, h.memory.key))).toBeLessThan(1e-5);
        }
      }
      // topK larger than the store: everything, best first.
      const query = randomVector(r, K);
      const all = await store.search(query, { topK: 1000 });
      expect(all.length).toBe(300);
      expect(
        sameRanking(
          all.map((h) => ({ id: h.memory.id, score: h.score })),
          bruteForce(query, recs, 300),
        ),
      ).toBeUndefined();
      // Exact search mode gives the same.
      const exact = await openQdrantStore({
        url: target.url,
        ...(target.apiKey ? { apiKey: target.apiKey } : {}),
        collection: store.info.collection,
        dimensions: { keyWidth: K, valueWidth: V },
        search: { exact: true },
      });
      const e = await exact.search(query, { topK: 5 });
      expect(
        sameRanking(
          e.map((h) => ({ id: h.memory.id, score: h.score })),
          bruteForce(query, recs, 5),
        ),
      ).toBeUndefined();
    });

    it("namespaces never leak: same ids in two namespaces are two memories", async () => {
      const store = await open();
      const r = rng(6);
      const a = randomRecords(r, 40, K, V, () => ({ namespace: "alpha" }));
      const b = randomRecords(r, 30, K, V, () => ({ namespace: "beta" }));
      await store.upsert([...a, ...b]);
      expect(pointId("alpha", "m0")).not.toBe(pointId("beta", "m0"));
      expect(await store.namespaces()).toEqual(["alpha", "beta"]);
      expect(await store.count("alpha")).toBe(40);
      expect(await store.count("beta")).toBe(30);
      expect(await store.count()).toBe(70);
      expect(await store.search(randomVector(r, K), { topK: 5 })).toEqual([]);
      expect(await store.search(randomVector(r, K), { topK: 5, namespace: "gamma" })).toEqual([]);
      for (let q = 0; q < 5; q++) {
        const query = randomVector(r, K);
        const hits = await store.search(query, { topK: 50, namespace: "beta" });
        expect(hits.every((h) => h.memory.namespace === "beta")).toBe(true);
        expect(
          sameRanking(
            hits.map((h) => ({ id: h.memory.id, score: h.score })),
            bruteForce(query, b, 50),
          ),
        ).toBeUndefined();
      }
      const [inB] = await store.get(["m0"], "beta");
      expect(Array.from(inB?.value ?? [])).toEqual(Array.from((b[0] as MemoryRecord).value));
      expect(await store.delete(["m0", "m35"], "beta")).toBe(1);
      expect(await store.count("alpha")).toBe(40);
      expect((await store.get(["m0"], "alpha"))[0]?.namespace).toBe("alpha");
      expect((await store.list({ namespace: "beta", limit: 3 })).map((m) => m.id)).toEqual([
        "m1",
        "m10",
        "m11",
      ]);
      expect(
        await store.delete(
          b.map((x) => x.id),
          "beta",
        ),
      ).toBe(29);
      expect(await store.namespaces()).toEqual(["alpha"]);
    });

    it("metadata equality filters (string, integer, float, boolean, null, odd keys) match a plain JS filter", async () => {
      const store = await open({ metadataIndexes: { topic: "keyword", rank: "integer" } });
      const r = rng(7);
      const topics = ["cats", "dogs", "birds"];
      const recs = randomRecords(r, 120, K, V, (i) => {
        const md: Metadata = {
          topic: topics[i % 3] as string,
          rank: i % 5,
          weight: (i % 4) / 4 + 0.1,
          pinned: i % 2 === 0,
          "a.b": i % 3 === 0 ? "dot" : "nodot",
          "with space": i % 6,
        };
        if (i % 7 === 0) md.note = null;
        else if (i % 7 === 1) md.note = "x";
        return { metadata: md };
      });
      await store.upsert(recs);
      const filters: Metadata[] = [
        { topic: "dogs" },
        { rank: 3 },
        { weight: 0.35 },
        { pinned: true },
        { pinned: false, topic: "cats" },
        { note: null },
        { note: "x" },
        { "a.b": "dot" },
        { "with space": 5 },
        { topic: "fish" },
        { rank: "3" },
        { missing: 1 },
      ];
      for (const filter of filters) {
        const want = recs.filter((x) => matches(x.metadata, filter));
        const query = randomVector(r, K);
        const hits = await store.search(query, { topK: 200, filter });
        const label = JSON.stringify(filter);
        expect(hits.length, label).toBe(want.length);
        expect(
          sameRanking(
            hits.map((h) => ({ id: h.memory.id, score: h.score })),
            bruteForce(query, want, 200),
          ),
          label,
        ).toBeUndefined();
        const listed = await store.list({ filter, limit: 1000 });
        expect(listed.map((m) => m.id).sort(), label).toEqual(want.map((x) => x.id).sort());
      }
      await expectCode(
        store.search(randomVector(r, K), { topK: 1, filter: { 'q"uote': 1 } }),
        "INVALID_OPTION",
      );
    });

    it("rejects bad vectors and options before any request reaches the server", async () => {
      const store = await open();
      const before = target.testServer
        ? ((await control(target, "stats")) as { requests: number }).requests
        : 0;
      const r = rng(8);
      const good = randomRecords(r, 1, K, V)[0] as MemoryRecord;
      const nan = randomVector(r, K);
      nan[3] = Number.NaN;
      const inf = randomVector(r, V);
      inf[0] = Number.POSITIVE_INFINITY;
      await expectCode(
        store.upsert([{ ...good, key: randomVector(r, K + 1) }]),
        "DIMENSION_MISMATCH",
      );
      await expectCode(
        store.upsert([{ ...good, value: randomVector(r, V + 3) }]),
        "DIMENSION_MISMATCH",
      );
      await expectCode(store.upsert([good, { ...good, id: "b", key: nan }]), "NON_FINITE_VECTOR");
      await expectCode(store.upsert([{ ...good, value: inf }]), "NON_FINITE_VECTOR");
      await expectCode(store.upsert([{ ...good, key: new Float32Array(K) }]), "INVALID_INPUT");
      await expectCode(store.upsert([{ ...good, id: "" }]), "INVALID_INPUT");
      await expectCode(store.upsert([{ ...good, metadata: { x: Number.NaN } }]), "INVALID_INPUT");
      await expectCode(store.search(nan, { topK: 3 }), "NON_FINITE_VECTOR");
      await expectCode(store.search(randomVector(r, K - 1), { topK: 3 }), "DIMENSION_MISMATCH");
      await expectCode(store.search(new Float32Array(K), { topK: 3 }), "INVALID_INPUT");
      await expectCode(store.search(randomVector(r, K), { topK: 0 }), "INVALID_OPTION");
      await expectCode(
        store.search(randomVector(r, K), { topK: 1, namespace: "" }),
        "INVALID_OPTION",
      );
      await expectCode(store.list({ limit: -1 }), "INVALID_OPTION");
      await expectCode(store.get([""]), "INVALID_INPUT");
      if (target.testServer) {
        const after = ((await control(target, "stats")) as { requests: number }).requests;
        expect(after).toBe(before);
      }
      expect(await store.count()).toBe(0);
      await store.close();
      await store.close();
      await expectCode(store.count(), "DISPOSED");
    });
  });
}

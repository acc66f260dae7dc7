// Failure behaviour: collection mismatches, a server that is down, slow, failing or dropping
// connections, and cancelled searches. Fault injection needs the qdrant-edge test server; the
// checks that need no injected fault also run against a real Qdrant when QDRANT_URL is set.
import { isMnemoError, type MnemoError } from "@mnemo/core";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { openQdrantStore, type QdrantStore, type QdrantStoreOptions } from "../src/index.js";
import {
  closedPort,
  control,
  createRawCollection,
  dropCollection,
  randomRecords,
  randomVector,
  rng,
  type Target,
  targets,
  uniqueCollection,
} from "./helpers.js";

const K = 8;
const V = 4;
const FAST = { retries: 2, backoffMs: 5, maxBackoffMs: 20 };

async function failure(p: Promise<unknown>): Promise<MnemoError> {
  try {
    await p;
  } catch (e) {
    if (isMnemoError(e)) return e;
    throw e;
  }
  return expect.fail("expected a MnemoError, but it succeeded");
}

function options(target: Target, extra: Partial<QdrantStoreOptions> = {}): QdrantStoreOptions {
  return {
    url: target.url,
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
    collection: uniqueCollection(),
    dimensions: { keyWidth: K, valueWidth: V },
    ...extra,
  };
}

for (const { target, skip } of targets()) {
  if (skip !== undefined) {
    console.log(`[store-qdrant] skipping "${target.name}" reliability suite: ${skip}`);
    describe(`${target.name}: reliability`, () => {
      it.skip(`whole suite (${skip})`, () => undefined);
    });
    continue;
  }

  describe(`${target.name}: reliability`, () => {
    const collections: string[] = [];
    async function open(extra: Partial<QdrantStoreOptions> = {}): Promise<QdrantStore> {
      const o = options(target, extra);
      collections.push(o.collection as string);
      const store = await openQdrantStore(o);
      await store.upsert(randomRecords(rng(1), 20, K, V));
      return store;
    }

    beforeEach(async () => {
      if (target.testServer) await control(target, "stats/reset", {});
    });
    afterEach(async () => {
      if (target.testServer) await control(target, "faults", { mode: "none" });
    });
    afterAll(async () => {
      for (const c of collections) await dropCollection(target, c);
      if (target.testServer) {
        const { violations } = (await control(target, "violations")) as { violations: unknown[] };
        expect(violations, "requests/responses that broke Qdrant's OpenAPI spec").toEqual([]);
      }
    });

    it("refuses a collection whose sizes, distance or vectors do not match (STORE_MISMATCH)", async () => {
      const cases: [string, unknown, RegExp][] = [
        [
          "key size",
          {
            vectors: {
              key: { size: K + 1, distance: "Cosine" },
              value: { size: V, distance: "Dot", multivector_config: { comparator: "max_sim" } },
            },
          },
          /size 9.*keyWidth is 8/,
        ],
        [
          "key distance",
          {
            vectors: {
              key: { size: K, distance: "Dot" },
              value: { size: V, distance: "Dot", multivector_config: { comparator: "max_sim" } },
            },
          },
          /Dot distance/,
        ],
        [
          "value size",
          {
            vectors: {
              key: { size: K, distance: "Cosine" },
              value: {
                size: V * 2,
                distance: "Dot",
                multivector_config: { comparator: "max_sim" },
              },
            },
          },
          /valueWidth is 4/,
        ],
        ["unnamed vector", { vectors: { size: K, distance: "Cosine" } }, /single unnamed vector/],
        ["other names", { vectors: { emb: { size: K, distance: "Cosine" } } }, /"emb"/],
      ];
      for (const [label, body, message] of cases) {
        const collection = uniqueCollection("mnemo_mismatch");
        collections.push(collection);
        await createRawCollection(target, collection, body);
        const e = await failure(openQdrantStore(options(target, { collection })));
        expect(e.code, label).toBe("STORE_MISMATCH");
        expect(e.message, label).toMatch(message);
      }
      const missing = await failure(
        openQdrantStore(
          options(target, { collection: uniqueCollection("absent"), createCollection: false }),
        ),
      );
      expect(missing.code).toBe("STORE_MISMATCH");
    });

    it("gives STORE_UNAVAILABLE after bounded retries when nothing listens", async () => {
      const port = await closedPort();
      const started = Date.now();
      const e = await failure(
        openQdrantStore(options(target, { url: `http://127.0.0.1:${port}`, ...FAST })),
      );
      expect(e.code).toBe("STORE_UNAVAILABLE");
      expect(e.details.attempts).toBe(3);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it("a search aborted by its AbortSignal throws ABORTED (before sending, or in flight)", async () => {
      const store = await open();
      const pre = new AbortController();
      pre.abort();
      expect(
        (await failure(store.search(randomVector(rng(2), K), { topK: 3, signal: pre.signal })))
          .code,
      ).toBe("ABORTED");
      const ctrl = new AbortController();
      const p = store.search(randomVector(rng(3), K), { topK: 3, signal: ctrl.signal });
      ctrl.abort();
      expect((await failure(p)).code).toBe("ABORTED");
    });

    it.skipIf(!target.testServer)(
      "the test server itself rejects and records requests that break Qdrant's spec",
      async () => {
        const store = await open();
        const res = await fetch(`${target.url}/collections/${store.info.collection}/points/query`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ query: [1, 2], limit: -5, with_payload: "yes" }),
        });
        expect(res.status).toBe(400);
        const { violations } = (await control(target, "violations")) as {
          violations: { kind: string; path: string }[];
        };
        expect(violations.map((v) => v.kind)).toEqual(["request"]);
        await control(target, "violations/clear", {});
      },
    );

    describe.skipIf(!target.testServer)("injected faults (test server only)", () => {
      it("a server that drops connections gives STORE_UNAVAILABLE", async () => {
        const store = await open(FAST);
        await control(target, "faults", { mode: "drop", times: null });
        const e = await failure(store.count());
        expect(e.code).toBe("STORE_UNAVAILABLE");
        expect(((await control(target, "stats")) as { faulted: number }).faulted).toBe(3);
      });

      it("a slow server gives STORE_TIMEOUT once every attempt timed out", async () => {
        const store = await open({ ...FAST, retries: 1, timeoutMs: 200 });
        await control(target, "faults", {
          mode: "delay",
          ms: 1500,
          times: null,
          path: "/points/query",
        });
        const started = Date.now();
        const e = await failure(store.search(randomVector(rng(4), K), { topK: 3 }));
        expect(e.code).toBe("STORE_TIMEOUT");
        expect(e.details.attempts).toBe(2);
        expect(Date.now() - started).toBeLessThan(1500);
      });

      it("one slow answer within the retries still succeeds", async () => {
        const store = await open({ ...FAST, timeoutMs: 300 });
        await control(target, "faults", {
          mode: "delay",
          ms: 1000,
          times: 1,
          path: "/points/query",
        });
        const hits = await store.search(randomVector(rng(5), K), { topK: 3 });
        expect(hits.length).toBe(3);
      });

      it("HTTP 500s are retried, then STORE_FAILURE; transient 500s are absorbed", async () => {
        const store = await open(FAST);
        await control(target, "faults", { mode: "status", status: 500, times: null });
        const e = await failure(store.search(randomVector(rng(6), K), { topK: 3 }));
        expect(e.code).toBe("STORE_FAILURE");
        expect(e.details).toMatchObject({ status: 500, attempts: 3 });
        expect(((await control(target, "stats")) as { faulted: number }).faulted).toBe(3);

        await control(target, "faults", { mode: "status", status: 500, times: 2 });
        await store.upsert(randomRecords(rng(7), 3, K, V, () => ({}), "late"));
        expect((await store.get(["late2"]))[0]?.id).toBe("late2");
      });

      it("HTTP 503 gives STORE_UNAVAILABLE; 4xx answers are not retried", async () => {
        const store = await open(FAST);
        await control(target, "faults", { mode: "status", status: 503, times: null });
        expect((await failure(store.count())).code).toBe("STORE_UNAVAILABLE");
        await control(target, "faults", { mode: "status", status: 400, times: null });
        const before = ((await control(target, "stats")) as { faulted: number }).faulted;
        const e = await failure(store.count());
        expect(e.code).toBe("STORE_FAILURE");
        expect(e.details.attempts).toBe(1);
        expect(((await control(target, "stats")) as { faulted: number }).faulted).toBe(before + 1);
      });

      it("an abort cancels a search that the server is still working on", async () => {
        const store = await open();
        await control(target, "faults", {
          mode: "delay",
          ms: 3000,
          times: 1,
          path: "/points/query",
        });
        const ctrl = new AbortController();
        const started = Date.now();
        const p = store.search(randomVector(rng(8), K), { topK: 3, signal: ctrl.signal });
        setTimeout(() => ctrl.abort(new Error("user pressed stop")), 100);
        const e = await failure(p);
        expect(e.code).toBe("ABORTED");
        expect(Date.now() - started).toBeLessThan(1500);
      });
    });
  });
}

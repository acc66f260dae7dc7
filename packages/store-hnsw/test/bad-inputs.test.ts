import { isMnemoError, type MemoryRecord, type MnemoErrorCode } from "@mnemo/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HnswStore, openHnswStore } from "../src/index.js";
import { bruteForce, randomRecords, randomVector, rng, sameRanking, tempDir } from "./helpers.js";

const W = 16;
const dims = { keyWidth: W, valueWidth: 4 };
let store: HnswStore;
let recs: MemoryRecord[];
let cleanup: () => Promise<void>;
const r = rng(123);
const probe = randomVector(rng(5), W);

beforeAll(async () => {
  const t = await tempDir();
  cleanup = t.cleanup;
  store = await openHnswStore({ path: t.dir, dimensions: dims, autoFlushMs: false });
  recs = randomRecords(r, 40, W, 4, (i) => ({ metadata: { i } }));
  await store.upsert(recs);
});
afterAll(async () => {
  await store.close();
  await cleanup();
});

/** After every bad input: the error has the code, the process is alive, nothing changed. */
async function rejects(p: () => Promise<unknown>, code: MnemoErrorCode): Promise<void> {
  const e = await p().then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isMnemoError(e, code), `expected ${code}, got ${String(e)}`).toBe(true);
  expect(await store.count()).toBe(40);
  const hits = await store.search(probe, { topK: 5 });
  const got = hits.map((h) => ({ id: h.memory.id, score: h.score }));
  expect(sameRanking(got, bruteForce(probe, recs, 5))).toBeUndefined();
  const first = (await store.get(["m0"]))[0];
  expect(first?.key).toEqual(recs[0]?.key);
}

const good = (): MemoryRecord => ({
  id: "new",
  key: randomVector(r, W),
  value: randomVector(r, 4),
});
const bad = (patch: Record<string, unknown>) =>
  ({ ...good(), ...patch }) as unknown as MemoryRecord;

describe("bad inputs are typed errors and leave the store intact", () => {
  it.each([
    ["key too short", { key: new Float32Array(W - 1) }, "DIMENSION_MISMATCH"],
    ["key too long", { key: new Float32Array(W + 1).fill(1) }, "DIMENSION_MISMATCH"],
    ["value not a multiple", { value: new Float32Array(6).fill(1) }, "DIMENSION_MISMATCH"],
    ["empty value", { value: new Float32Array(0) }, "DIMENSION_MISMATCH"],
    ["NaN key", { key: new Float32Array(W).fill(Number.NaN) }, "NON_FINITE_VECTOR"],
    [
      "Infinity key",
      { key: new Float32Array(W).fill(Number.POSITIVE_INFINITY) },
      "NON_FINITE_VECTOR",
    ],
    ["NaN value", { value: Float32Array.of(1, 2, Number.NaN, 4) }, "NON_FINITE_VECTOR"],
    ["Int32Array key", { key: new Int32Array(W).fill(1) }, "INVALID_INPUT"],
    ["Uint8Array key", { key: new Uint8Array(W).fill(1) }, "INVALID_INPUT"],
    [
      "string element (hnswlib would SIGABRT)",
      { key: [...new Array(W - 1).fill(1), "1"] },
      "INVALID_INPUT",
    ],
    ["undefined element", { key: new Array(W).fill(undefined) }, "INVALID_INPUT"],
    ["null key", { key: null }, "INVALID_INPUT"],
    ["zero key", { key: new Float32Array(W) }, "INVALID_INPUT"],
    ["empty id", { id: "" }, "INVALID_INPUT"],
    ["long id", { id: "x".repeat(513) }, "INVALID_INPUT"],
    ["numeric id", { id: 7 }, "INVALID_INPUT"],
    ["empty namespace", { namespace: "" }, "INVALID_INPUT"],
    ["nested metadata", { metadata: { a: { b: 1 } } }, "INVALID_INPUT"],
    ["NaN metadata", { metadata: { a: Number.NaN } }, "INVALID_INPUT"],
    ["array metadata", { metadata: [1] }, "INVALID_INPUT"],
    ["numeric text", { text: 5 }, "INVALID_INPUT"],
  ] as const)("upsert: %s", async (_name, patch, code) => {
    // the bad record comes last in a batch with good ones: nothing may be written
    await rejects(
      () => store.upsert([{ ...good(), id: "ok1" }, { ...good(), id: "m0" }, bad(patch)]),
      code,
    );
    expect((await store.get(["ok1"]))[0]).toBeUndefined();
  });

  it("upsert: not an array / not an object", async () => {
    await rejects(() => store.upsert("x" as unknown as MemoryRecord[]), "INVALID_INPUT");
    await rejects(() => store.upsert([null as unknown as MemoryRecord]), "INVALID_INPUT");
  });

  it("accepts number[] and Float64Array as well as Float32Array", async () => {
    const k = Array.from(randomVector(r, W));
    await store.upsert([
      {
        id: "arr",
        namespace: "tmp",
        key: k as unknown as Float32Array,
        value: [1, 2, 3, 4] as unknown as Float32Array,
      },
      {
        id: "f64",
        namespace: "tmp",
        key: Float64Array.from(k) as unknown as Float32Array,
        value: new Float64Array(8).fill(0.5) as unknown as Float32Array,
      },
    ]);
    const [a, b] = await store.get(["arr", "f64"], "tmp");
    expect(a?.key).toEqual(Float32Array.from(k));
    expect(b?.key).toEqual(Float32Array.from(k));
    expect(b?.value).toEqual(new Float32Array(8).fill(0.5));
    const hits = await store.search(k as unknown as Float32Array, { topK: 2, namespace: "tmp" });
    expect(hits.map((h) => h.score.toFixed(6))).toEqual(["1.000000", "1.000000"]);
    expect(await store.delete(["arr", "f64"], "tmp")).toBe(2);
  });

  it.each([
    ["wrong width", new Float32Array(W + 3).fill(1), "DIMENSION_MISMATCH"],
    ["NaN", new Float32Array(W).fill(Number.NaN), "NON_FINITE_VECTOR"],
    [
      "-Infinity",
      Float32Array.from({ length: W }, (_, i) => (i ? 1 : -Infinity)),
      "NON_FINITE_VECTOR",
    ],
    ["zero", new Float32Array(W), "INVALID_INPUT"],
    ["Int16Array", new Int16Array(W).fill(1), "INVALID_INPUT"],
    ["strings", new Array(W).fill("1"), "INVALID_INPUT"],
    ["object", { length: W }, "INVALID_INPUT"],
  ] as const)("search: %s query", async (_name, q, code) => {
    await rejects(() => store.search(q as unknown as Float32Array, { topK: 3 }), code);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "3", undefined])(
    "search: topK %s is INVALID_OPTION",
    async (topK) => {
      await rejects(
        () => store.search(probe, { topK } as unknown as { topK: number }),
        "INVALID_OPTION",
      );
    },
  );

  it("search: bad options", async () => {
    await rejects(
      () => store.search(probe, undefined as unknown as { topK: number }),
      "INVALID_OPTION",
    );
    await rejects(
      () => store.search(probe, { topK: 1, namespace: 5 as unknown as string }),
      "INVALID_OPTION",
    );
    await rejects(
      () =>
        store.search(probe, { topK: 1, filter: { a: [] } as unknown as Record<string, string> }),
      "INVALID_OPTION",
    );
    const ac = new AbortController();
    ac.abort();
    await rejects(() => store.search(probe, { topK: 1, signal: ac.signal }), "ABORTED");
  });

  it("search: k beyond count is clamped, empty/unknown namespaces give []", async () => {
    expect(await store.search(probe, { topK: 41 })).toHaveLength(40);
    expect(await store.search(probe, { topK: 2 ** 40 })).toHaveLength(40);
    expect(await store.search(probe, { topK: 3, namespace: "nothing-here" })).toEqual([]);
    const empty = await openHnswStore({ dimensions: dims });
    expect(await empty.search(probe, { topK: 10 })).toEqual([]);
    await empty.close();
  });

  it("get/delete/list: malformed ids and options", async () => {
    await rejects(() => store.get("m0" as unknown as string[]), "INVALID_INPUT");
    await rejects(() => store.get([""]), "INVALID_INPUT");
    await rejects(() => store.delete([3 as unknown as string]), "INVALID_INPUT");
    await rejects(() => store.list({ limit: -1 }), "INVALID_OPTION");
    await rejects(() => store.list({ offset: 0.5 }), "INVALID_OPTION");
    await rejects(() => store.count(""), "INVALID_INPUT");
    expect(await store.delete([])).toBe(0);
  });

  it("open: bad options are INVALID_OPTION", async () => {
    for (const o of [
      { dimensions: { keyWidth: 0, valueWidth: 4 } },
      { dimensions: { keyWidth: 1.5, valueWidth: 4 } },
      { dimensions: { keyWidth: 4 } },
      { dimensions: dims, M: 0 },
      { dimensions: dims, efSearch: -3 },
      { dimensions: dims, maxElements: 2 ** 33 },
      { dimensions: dims, path: "" },
    ]) {
      const e = await openHnswStore(o as never).catch((x: unknown) => x);
      expect(isMnemoError(e, "INVALID_OPTION"), JSON.stringify(o)).toBe(true);
    }
  });
});

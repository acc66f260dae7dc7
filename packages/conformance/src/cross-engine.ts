/**
 * `describeCrossEngine`: two engines that should agree do agree — backends loading the same
 * weights give the same greedy tokens; stores holding the same data give the same top-k.
 */
import type { MemoryRecord, MemoryStore, Metadata } from "@mnemo/core";
import { afterAll, describe, expect } from "vitest";
import type { CrossEngineCapabilities } from "./capabilities.js";
import { defineCase, type NamedBackend, type NamedStore, uniqueLocation } from "./harness.js";
import { greedyByHand } from "./loop-suite.js";
import { compareRankings, gaussianVector, seededRandom } from "./reference.js";
import { DEFAULT_TEST_DIMENSIONS, makeTestRecords } from "./store-suite.js";

/** What {@link describeCrossEngine} compares. */
export interface CrossEngineSubjects {
  /**
   * Backends loading the SAME weights (e.g. one GGUF and its ONNX export), each compared with the
   * first. Omitted: no backend comparison is registered; fewer than two: skipped with the reason.
   */
  backends?: readonly NamedBackend[];
  /**
   * Stores compared on the same data, each with `reference` (or with the first store). Omitted: no
   * store comparison is registered; nothing to compare: skipped with the reason.
   */
  stores?: readonly NamedStore[];
  /**
   * The expected side of the store comparison, e.g. `{ name: "reference", create: createReferenceStore }`.
   * Default: the first of `stores`.
   */
  reference?: NamedStore;
}

const DEFAULT_PROMPTS = ["The cat sat on the mat.", "让我回忆一下"];

/**
 * Registers the cross-engine comparisons in a `describe` block. A half with fewer than two
 * subjects is skipped with its reason printed.
 *
 * ```ts
 * describeCrossEngine("tiny weights", {
 *   backends: [{ name: "llama.cpp", create: loadGguf }, { name: "onnx", create: loadOnnx }],
 *   stores: [{ name: "hnsw", create: openHnsw }],
 *   reference: { name: "reference", create: createReferenceStore },
 * }, {});
 * ```
 *
 * @param name shown in the block's title
 * @param subjects the backends and stores to compare
 * @param capabilities prompts, token counts, widths, tolerance
 */
export function describeCrossEngine(
  name: string,
  subjects: CrossEngineSubjects,
  capabilities: CrossEngineCapabilities = {},
): void {
  const suite = `cross-engine conformance: ${name}`;
  const greedyTokens = capabilities.greedyTokens ?? 12;
  const prompts = capabilities.prompts ?? DEFAULT_PROMPTS;
  const dims = capabilities.dimensions ?? DEFAULT_TEST_DIMENSIONS;
  const tolerance = capabilities.scoreTolerance ?? 1e-5;
  const { backends, stores, reference } = subjects;

  describe(suite, () => {
    if (backends !== undefined) describeBackendHalf(backends);
    if (stores !== undefined) describeStoreHalf(stores);
  });

  function describeBackendHalf(backends: readonly NamedBackend[]): void {
    const [firstBackend, ...otherBackends] = backends;
    if (firstBackend === undefined || otherBackends.length === 0) {
      defineCase(
        suite,
        "backends: the same weights give the same greedy tokens",
        `needs two backends with the same weights; got ${backends.length} (${backends.map((b) => b.name).join(", ") || "none"})`,
        () => undefined,
      );
    } else {
      for (const other of otherBackends) {
        defineCase(
          suite,
          `backends: ${other.name} gives the greedy tokens of ${firstBackend.name}`,
          undefined,
          async () => {
            const a = await firstBackend.create();
            const b = await other.create();
            try {
              expect(b.info.vocabSize).toBe(a.info.vocabSize);
              expect(b.info.hiddenWidth).toBe(a.info.hiddenWidth);
              for (const text of prompts) {
                const ta = a.tokenize(text, { addSpecial: true });
                expect(b.tokenize(text, { addSpecial: true }), `tokens of ${text}`).toEqual(ta);
                expect(await greedyByHand(b, ta, greedyTokens)).toEqual(
                  await greedyByHand(a, ta, greedyTokens),
                );
              }
            } finally {
              await a.dispose();
              await b.dispose();
            }
          },
        );
      }
    }
  }

  function describeStoreHalf(stores: readonly NamedStore[]): void {
    const expectedSide = reference ?? stores[0];
    const compared = reference ? stores : stores.slice(1);
    if (expectedSide === undefined || compared.length === 0) {
      defineCase(
        suite,
        "stores: the same data gives the same top-k",
        `needs two stores (or a store and a reference); got ${stores.length} and ${reference ? "a" : "no"} reference`,
        () => undefined,
      );
      return;
    }
    const opened: MemoryStore[] = [];
    afterAll(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => undefined);
    });
    for (const store of compared) {
      defineCase(
        suite,
        `stores: ${store.name} gives the top-k of ${expectedSide.name} on the same data`,
        undefined,
        async () => {
          const want = await expectedSide.create({
            dimensions: dims,
            location: uniqueLocation(`${expectedSide.name}-x`),
          });
          opened.push(want);
          const got = await store.create({
            dimensions: dims,
            location: uniqueLocation(`${store.name}-x`),
          });
          opened.push(got);
          const rng = seededRandom(77);
          const data: MemoryRecord[] = [
            ...makeTestRecords(rng, 300, dims, {
              namespace: "x",
              metadata: (i) => ({ tag: `t${i % 4}` }),
            }),
            ...makeTestRecords(rng, 40, dims, { namespace: "y" }),
          ];
          for (const s of [want, got]) {
            for (let i = 0; i < data.length; i += 100) await s.upsert(data.slice(i, i + 100));
            await s.delete(["m0003", "m0010"], "x");
          }
          const queries: [string, Metadata | undefined][] = [
            ["x", undefined],
            ["x", { tag: "t2" }],
            ["y", undefined],
          ];
          for (let q = 0; q < 6; q++) {
            const query = gaussianVector(rng, dims.keyWidth);
            for (const [namespace, filter] of queries) {
              const options = { topK: 10, namespace, ...(filter ? { filter } : {}) };
              const a = (await want.search(query, options)).map((h) => ({
                id: h.memory.id,
                score: h.score,
              }));
              const b = (await got.search(query, options)).map((h) => ({
                id: h.memory.id,
                score: h.score,
              }));
              expect(compareRankings(b, a, tolerance), JSON.stringify(options)).toBeUndefined();
            }
          }
          expect(await got.count()).toBe(await want.count());
          expect(await got.namespaces()).toEqual(await want.namespaces());
        },
      );
    }
  }
}

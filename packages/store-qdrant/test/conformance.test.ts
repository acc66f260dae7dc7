// The shared MemoryStore suite (@mnemo/conformance) on every target of this project: the
// qdrant-edge test server always, a real Qdrant when QDRANT_URL is set (skipped with the reason
// otherwise). Each `location` the suite asks for is one collection.
import { describeMemoryStore } from "@mnemo/conformance";
import { afterAll, describe, it } from "vitest";
import { openQdrantStore } from "../src/index.js";
import { dropCollection, targets } from "./helpers.js";

for (const { target, skip } of targets()) {
  if (skip !== undefined) {
    console.warn(`[conformance] qdrant (${target.name}): SKIPPED — ${skip}`);
    describe(`MemoryStore conformance: qdrant (${target.name})`, () => {
      it.skip(`all cases [skipped: ${skip}]`, () => undefined);
    });
    continue;
  }
  const collections = new Set<string>();
  afterAll(async () => {
    for (const c of collections) await dropCollection(target, c);
  });
  describeMemoryStore(
    `qdrant (${target.name})`,
    ({ dimensions, location }) => {
      collections.add(location);
      return openQdrantStore({
        url: target.url,
        ...(target.apiKey ? { apiKey: target.apiKey } : {}),
        collection: location,
        dimensions,
      });
    },
    // Qdrant keeps cosine vectors unit-normalised; keys are rescaled on reads (see the README).
    { persistence: true, keyTolerance: 1e-6 },
  );
}

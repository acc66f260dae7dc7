/**
 * `@mnemo/conformance`: the shared vitest suites that every mnemo `InferenceBackend`, every
 * `MemoryStore` and every backend × store pair must pass. An implementation adopts a suite in a
 * few lines of a test file:
 *
 * ```ts
 * import { describeMemoryStore } from "@mnemo/conformance";
 * import { openMyStore } from "../src/index.js";
 * describeMemoryStore("my store", (o) => openMyStore(o), { persistence: true });
 * ```
 *
 * Every expectation is computed independently of the code under test (float64 brute force,
 * softmax written here, greedy loops by hand). Unsupported cases are skipped with a printed reason.
 *
 * @packageDocumentation
 */
export { DEFAULT_ROUND_TRIP_TEXTS, describeInferenceBackend } from "./backend-suite.js";
export type {
  BackendCapabilities,
  BackendCaseId,
  CommonCapabilities,
  CrossEngineCapabilities,
  RecallLoopCapabilities,
  RecallLoopCaseId,
  StoreCapabilities,
  StoreCaseId,
} from "./capabilities.js";
export { type CrossEngineSubjects, describeCrossEngine } from "./cross-engine.js";
export {
  type BackendFactory,
  expectMnemoError,
  LOG_PREFIX,
  type NamedBackend,
  type NamedStore,
  type StoreFactory,
  type StoreFactoryOptions,
} from "./harness.js";
export {
  DEFAULT_MEMORY_TEXTS,
  describeRecallLoop,
  expectEventsAgree,
  greedyByHand,
} from "./loop-suite.js";
export {
  argmax,
  bruteForceTopK,
  compareRankings,
  expectedMemoryDistribution,
  gaussianVector,
  maxAbsDiff,
  type RankedId,
  type Rng,
  referenceCosine,
  seededRandom,
} from "./reference.js";
export { createReferenceStore, ReferenceMemoryStore } from "./reference-store.js";
export {
  DEFAULT_TEST_DIMENSIONS,
  describeMemoryStore,
  makeTestRecords,
  type TestRecordOptions,
} from "./store-suite.js";

/**
 * @mnemo/core — the recall loop, sampling, memory encoding, and the contracts that inference
 * backends and memory stores implement. Imports no engine.
 */
export * from "./backend.js";
export * from "./encoder.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./gguf-metadata.js";
export {
  type GenerateOptions,
  type GenerateTextResult,
  generate,
  generateText,
  type LoopState,
} from "./loop.js";
export * from "./model-config.js";
export * from "./options.js";
export * from "./policy.js";
export * from "./random.js";
export {
  DEFAULT_SAMPLING,
  drawIndex,
  memoryProbabilities,
  type ResolvedSamplingOptions,
  resolveSamplingOptions,
  type SamplingOptions,
  sampleToken,
  type TokenDistribution,
  tokenDistribution,
} from "./sampling.js";
export * from "./store.js";
export { TextStream, TriggerDetector } from "./text.js";
export * from "./validation.js";
export * from "./vectors.js";

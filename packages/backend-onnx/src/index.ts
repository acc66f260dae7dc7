/**
 * `@mnemo/backend-onnx`: mnemo's `InferenceBackend` over onnxruntime-node, plus the `prepare` step
 * that rewrites a standard ONNX decoder export to take `inputs_embeds` and output `last_hidden_state`.
 * @packageDocumentation
 */
export {
  loadOnnxBackend,
  OnnxBackend,
  type OnnxBackendOptions,
  OnnxSequence,
} from "./backend.js";
export { applyChatTemplate, type ChatMessage, type ChatTemplateOptions } from "./chat.js";
export { runPrepareCli } from "./cli-main.js";
export {
  type PreparedModelMeta,
  type PrepareOptions,
  type PrepareResult,
  prepareOnnxModel,
} from "./prepare.js";
export { loadTokenizer, type ModelTokenizer } from "./tokenizer.js";

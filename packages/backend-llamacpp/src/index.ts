/**
 * `@mnemo/backend-llamacpp`: mnemo's {@link InferenceBackend} over llama.cpp, using the prebuilt
 * shared libraries that node-llama-cpp ships and calling llama.cpp's C API through koffi (so that
 * embedding vectors can be injected and final hidden states read).
 *
 * @packageDocumentation
 */
export type { InferenceBackend } from "@mnemo/core";
export {
  LlamaCppBackend,
  type LlamaCppBackendOptions,
  LlamaCppSequence,
  loadLlamaCppBackend,
} from "./backend.js";
export { PINNED_LLAMA_CPP_RELEASE, PINNED_NODE_LLAMA_CPP } from "./native.js";

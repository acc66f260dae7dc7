/**
 * The contract an inference engine implements to run mnemo's recall loop.
 *
 * One {@link InferenceBackend} is one loaded model. It hands out {@link InferenceSequence}s, each
 * owning its own KV cache (a llama.cpp sequence id, an ONNX past_key_values set). Nothing here
 * assumes one sequence per context or a CPU: a backend may batch sequences and run on a GPU.
 *
 * Vectors are always `Float32Array`, row-major: `count × width` values for `count` vectors.
 */

/** Facts about the loaded model that the loop, encoders and stores need. */
export interface ModelInfo {
  /** Architecture name as the model file states it, e.g. `"llama"`, `"gemma3"`. */
  architecture: string;
  /** Human-readable model name (from the file's metadata, or the file name). */
  name: string;
  /**
   * A stable identity of the weights (e.g. the file's size + a hash of its header), saved by stores so
   * that memories encoded with one model are not silently searched with another.
   */
  identity: string;
  /** Number of token ids; logits have this length. */
  vocabSize: number;
  /** Width of one input-embedding vector (what {@link InferenceSequence.forwardEmbeddings} takes). */
  embeddingWidth: number;
  /** Width of the final hidden state (after the final norm), i.e. of queries and memory keys. */
  hiddenWidth: number;
  /** Context size in tokens (KV cache positions) of each sequence. */
  contextSize: number;
  /**
   * Factor the architecture multiplies token-embedding rows by before the first layer
   * (Gemma: `sqrt(embeddingWidth)`; Llama: 1). {@link InferenceBackend.tokenEmbeddings} already
   * returns scaled rows, so this is informational.
   */
  inputScale: number;
  /** Beginning-of-sequence token id, if the model has one. */
  bosToken?: number;
  /** End-of-generation token ids (EOS, EOT, ...): sampling one of them ends generation. */
  eogTokens: readonly number[];
}

/** Options for {@link InferenceBackend.tokenize}. */
export interface TokenizeOptions {
  /** Add the model's BOS (and other special prefix) tokens. Default `false`. */
  addSpecial?: boolean;
  /** Parse special-token text such as `<start_of_turn>` into their ids. Default `true`. */
  parseSpecial?: boolean;
}

/** Options for one forward pass. */
export interface ForwardOptions {
  /**
   * Also return the final hidden state (after the final norm) of the last position.
   * Only ask when needed: engines compute it on demand.
   */
  wantHiddenState?: boolean;
  /** Cancels a pending forward pass where the engine allows it; throws `ABORTED`. */
  signal?: AbortSignal;
}

/** What one forward pass returns about its last position. */
export interface ForwardResult {
  /** Logits of the last position, `Float32Array` of length `vocabSize`. */
  logits: Float32Array;
  /** Final hidden state of the last position, length `hiddenWidth`; present only when asked for. */
  hiddenState?: Float32Array;
}

/**
 * One sequence: a KV cache and the positions in it. Positions are filled left to right by
 * tokens or by embedding vectors; `length` counts both.
 */
export interface InferenceSequence {
  /** Number of KV-cache positions filled (tokens + injected vectors). */
  readonly length: number;
  /**
   * Appends `tokens` at positions `length … length + tokens.length − 1` (prefill or a decode step)
   * and returns the logits (and, on request, the hidden state) of the last one.
   * @param tokens token ids, each in `[0, vocabSize)`, at least one
   * @throws MnemoError `INVALID_INPUT` (empty or out-of-vocabulary ids), `CONTEXT_OVERFLOW`,
   *   `BACKEND_FAILURE`, `ABORTED`, `DISPOSED`
   */
  forwardTokens(tokens: readonly number[], options?: ForwardOptions): Promise<ForwardResult>;
  /**
   * Appends `count` embedding vectors as the next positions (the model's `inputs_embeds`), reusing
   * the KV cache of everything before them, and returns the logits of the last one.
   * Vectors live in the same space as {@link InferenceBackend.tokenEmbeddings}' rows.
   * @param vectors `Float32Array` of length `count × embeddingWidth`, finite
   * @throws MnemoError `DIMENSION_MISMATCH`, `NON_FINITE_VECTOR`, `CONTEXT_OVERFLOW`,
   *   `BACKEND_FAILURE`, `ABORTED`, `DISPOSED`
   */
  forwardEmbeddings(vectors: Float32Array, options?: ForwardOptions): Promise<ForwardResult>;
  /**
   * Drops every position ≥ `length` from the KV cache, so the sequence can continue from there.
   * @throws MnemoError `INVALID_INPUT` if `length` is negative or beyond the current length
   */
  truncate(length: number): Promise<void>;
  /** Frees the KV cache. Further calls throw `DISPOSED`. Idempotent. */
  dispose(): Promise<void>;
}

/** Options for {@link InferenceBackend.createSequence}. */
export interface SequenceOptions {
  /** Context size (tokens) for this sequence; defaults to the backend's. */
  contextSize?: number;
}

/**
 * One loaded model. Implementations: `@mnemo/backend-llamacpp`, `@mnemo/backend-onnx`.
 */
export interface InferenceBackend {
  /** Model facts. */
  readonly info: ModelInfo;
  /**
   * Text → token ids.
   * @throws MnemoError `DISPOSED`
   */
  tokenize(text: string, options?: TokenizeOptions): number[];
  /**
   * The raw bytes a token stands for (UTF-8, possibly a partial character). The loop joins these
   * bytes to stream text that never splits a character.
   * @throws MnemoError `INVALID_INPUT` for an id outside `[0, vocabSize)`
   */
  tokenBytes(token: number): Uint8Array;
  /** Token ids → text (special tokens rendered as their text). */
  detokenize(tokens: readonly number[]): string;
  /**
   * The model's own input-embedding rows for `tokens`, already multiplied by
   * {@link ModelInfo.inputScale}: injecting row `i` with `forwardEmbeddings` equals feeding `tokens[i]`.
   * @returns `Float32Array` of length `tokens.length × embeddingWidth`
   * @throws MnemoError `INVALID_INPUT` for an id outside the vocabulary
   */
  tokenEmbeddings(tokens: readonly number[]): Promise<Float32Array>;
  /**
   * Opens a new sequence with an empty KV cache.
   * @throws MnemoError `INVALID_OPTION`, `BACKEND_FAILURE`, `DISPOSED`
   */
  createSequence(options?: SequenceOptions): Promise<InferenceSequence>;
  /** Frees the model and every sequence. Idempotent. */
  dispose(): Promise<void>;
}

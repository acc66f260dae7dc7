/**
 * Capability flags: what an implementation declares it supports, and how exact it is. A case an
 * implementation does not support is skipped with its reason printed (never silently), as in
 * LangChain's standard tests.
 */

/** The cases of {@link describeInferenceBackend}, by stable id (usable in `only`). */
export type BackendCaseId =
  | "model-info"
  | "tokenize-round-trip"
  | "inject-equals-feed"
  | "kv-reuse"
  | "truncate"
  | "hidden-state"
  | "errors"
  | "independent-sequences";

/** The cases of {@link describeMemoryStore}, by stable id (usable in `only`). */
export type StoreCaseId =
  | "crud"
  | "exact-top-k"
  | "cosine-scores"
  | "namespaces"
  | "metadata-filter"
  | "idempotent-upsert"
  | "bad-vectors"
  | "persistence"
  | "close";

/** The cases of {@link describeRecallLoop}, by stable id (usable in `only`). */
export type RecallLoopCaseId =
  | "seed-scenario"
  | "memory-sampling"
  | "temperature-zero"
  | "min-score"
  | "max-recalls"
  | "generated-trigger"
  | "events-agree"
  | "inject-memory-tokens";

/** What every suite's capabilities share. */
export interface CommonCapabilities<Case extends string> {
  /**
   * Run only these cases; the others are skipped with the reason "not selected". For slow
   * implementations (a large model) in a matrix. Default: every case.
   */
  only?: readonly Case[];
}

/**
 * What an `InferenceBackend` declares to {@link describeInferenceBackend}.
 *
 * ```ts
 * { exactInjection: true, kvReuseTolerance: 2e-3 } // llama.cpp on CPU
 * ```
 */
export interface BackendCapabilities extends CommonCapabilities<BackendCaseId> {
  /**
   * Injecting token t's embedding row (`tokenEmbeddings`) gives logits bit-identical to feeding t
   * (llama.cpp: yes). When false, {@link injectionTolerance} bounds the difference.
   */
  exactInjection: boolean;
  /**
   * Largest |Δlogit| (and |Δhidden|) allowed when injecting a row instead of feeding its token.
   * Default 0 when {@link exactInjection}, else 1e-4.
   */
  injectionTolerance?: number;
  /**
   * Largest |Δlogit| (and |Δhidden|) between decoding token by token on the KV cache and one
   * prefill of the same tokens (different batch shapes may take different kernels). The argmax must
   * be equal whatever the tolerance. llama.cpp CPU: 2e-3; ONNX float32: ~1e-5.
   */
  kvReuseTolerance: number;
  /**
   * Largest |Δlogit| between a decode and the same decode repeated after `truncate` (same batch
   * shape). Default 0 (bit-identical).
   */
  truncateTolerance?: number;
  /**
   * Largest |Δlogit| between a sequence run alone and the same sequence run next to (or
   * concurrently with) another. Default 0: sequences share nothing.
   */
  independenceTolerance?: number;
  /**
   * `createSequence({ contextSize })` honours a per-sequence context size (used to reach
   * `CONTEXT_OVERFLOW` cheaply). Default true. When false the overflow case fills the backend's
   * whole context.
   */
  perSequenceContextSize?: boolean;
  /**
   * `tokenize` → `detokenize` gives back any text (Chinese and emoji included) and the `tokenBytes`
   * of the tokens concatenate to the text's UTF-8. Default true; false skips the case (a tokenizer
   * that normalises text).
   */
  losslessTokenizer?: boolean;
  /** Texts for the round trip. Default: English, Chinese, emoji and a mix of them. */
  roundTripTexts?: readonly string[];
  /** A short text to run through the model in the cases. Default `"The cat sat on the mat."`. */
  sampleText?: string;
}

/**
 * What a `MemoryStore` declares to {@link describeMemoryStore}.
 *
 * ```ts
 * { persistence: true } // a store on disk
 * ```
 */
export interface StoreCapabilities extends CommonCapabilities<StoreCaseId> {
  /**
   * Closing the store and opening it again at the same `location` keeps every memory (a store on
   * disk or on a server). False for in-memory stores: the case is skipped with this reason.
   */
  persistence: boolean;
  /** Metadata equality filters in `search` and `list`. Default true. */
  metadataFilter?: boolean;
  /** Largest |Δscore| allowed against the float64 brute-force cosine. Default 1e-5. */
  scoreTolerance?: number;
  /**
   * Keys read back may differ from those written by at most `keyTolerance × ‖key‖` per element.
   * Default 0 (bit-exact). A store that keeps keys unit-normalised and rescales them on reads
   * (Qdrant's cosine space) declares ~1e-6. Values must always round-trip bit-exactly.
   */
  keyTolerance?: number;
  /**
   * Memories in the main namespace of the top-k case. Default 400 (enough to leave a brute-force
   * fallback of a graph index; an approximate store must be configured to be exact at this size).
   */
  searchSize?: number;
  /** Widths of the stores the suite creates. Default `{ keyWidth: 32, valueWidth: 8 }`. */
  dimensions?: {
    /** Width of keys and queries. */
    keyWidth: number;
    /** Width of one value vector. */
    valueWidth: number;
  };
}

/**
 * What a backend × store pair declares to {@link describeRecallLoop}.
 *
 * ```ts
 * { trigger: "<recall>", exactInjection: true }
 * ```
 */
export interface RecallLoopCapabilities extends CommonCapabilities<RecallLoopCaseId> {
  /** The recall trigger the model knows: a token id or a text. Default `"<recall>"`. */
  trigger?: number | string;
  /**
   * The backend injects bit-identically to feeding tokens (see
   * {@link BackendCapabilities.exactInjection}): greedy continuations after injecting a memory's
   * token rows must equal those after feeding its tokens. When false that case is skipped.
   */
  exactInjection: boolean;
  /** Text before the trigger in the seed prompt. Default `"让我回忆一下"` (the seed's). */
  promptText?: string;
  /** Memory texts the suite encodes. Default: six short Chinese and English facts. */
  memoryTexts?: readonly string[];
  /** Seeded runs of the sampling-frequency case. Default 300. */
  samplingRuns?: number;
}

/** Capabilities of {@link describeCrossEngine}. */
export interface CrossEngineCapabilities {
  /** Greedy tokens compared between backends. Default 12. */
  greedyTokens?: number;
  /** Prompts for the greedy comparison. Default two short English and Chinese prompts. */
  prompts?: readonly string[];
  /** Widths of the stores compared. Default `{ keyWidth: 32, valueWidth: 8 }`. */
  dimensions?: {
    /** Width of keys and queries. */
    keyWidth: number;
    /** Width of one value vector. */
    valueWidth: number;
  };
  /** Largest |Δscore| between two stores' results. Default 1e-5. */
  scoreTolerance?: number;
}

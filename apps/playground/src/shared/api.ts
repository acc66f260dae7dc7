/**
 * The playground's HTTP API as data: what the server sends and the client reads. Plain JSON types
 * only (no Node or DOM imports), shared by `src/server` and `client/src`.
 */

/** Inference backends the playground can run. */
export type BackendKind = "llamacpp" | "onnx";

/** Memory stores the playground can open. */
export type StoreKind = "hnsw" | "qdrant";

/** How a memory's value vectors are made (mirrors `@mnemo/core`'s `ValueStrategy`). */
export type ValueKind = "mean-embedding" | "token-embeddings" | "hidden-state";

/** One model file found in the configured models folder. */
export interface ModelEntry {
  /** Path relative to the models folder, with `/` separators; what `POST /api/load` takes. */
  id: string;
  /** The backend that runs it (`.gguf` → llama.cpp, `*.mnemo.onnx` → ONNX). */
  backend: BackendKind;
  /** File size in bytes. */
  sizeBytes: number;
}

/** An option offered by the server, with why it is not available when it is not. */
export interface Offer<T extends string> {
  /** The option's id. */
  id: T;
  /** Human-readable label. */
  label: string;
  /** Whether it can be used on this server. */
  available: boolean;
  /** Why not, when `available` is false. */
  reason?: string;
}

/** `GET /api/models`. */
export interface ModelsResponse {
  /** The models folder (absolute), for display. */
  modelsDir: string;
  /** Models found in it. */
  models: ModelEntry[];
  /** Backends and whether they can be loaded. */
  backends: Offer<BackendKind>[];
  /** Stores and whether they can be opened. */
  stores: Offer<StoreKind>[];
}

/** What is loaded. */
export interface LoadedInfo {
  /** The model's id (see {@link ModelEntry.id}). */
  model: string;
  /** The backend that runs it. */
  backend: BackendKind;
  /** The store the memories live in. */
  store: StoreKind;
  /** Where the store is (a folder for HNSW, a URL + collection for Qdrant). */
  storeLocation: string;
  /** The value strategy used when memories are encoded. */
  value: ValueKind;
  /**
   * Vectors per memory with the `"hidden-state"` value (the model's config file, e.g. 4 for the
   * recall demo model); 1 otherwise (`"token-embeddings"` injects one vector per token).
   */
  valueVectors: number;
  /** Facts about the model. */
  info: {
    name: string;
    architecture: string;
    identity: string;
    vocabSize: number;
    hiddenWidth: number;
    embeddingWidth: number;
    contextSize: number;
  };
}

/** Progress of a model load. */
export interface LoadProgress {
  /** What is happening now. */
  phase: "model" | "store" | "encoder" | "ready";
  /** Overall progress, 0..1. */
  fraction: number;
  /** Human-readable description. */
  message: string;
}

/** `GET /api/status`. */
export interface StatusResponse {
  /** `idle` (nothing loaded), `loading`, `ready`, or `error` (the last load failed). */
  state: "idle" | "loading" | "ready" | "error";
  /** While loading: how far. */
  progress?: LoadProgress;
  /** When ready: what is loaded. */
  loaded?: LoadedInfo;
  /** When the last load failed: why. */
  error?: ApiErrorBody["error"];
  /** Whether a generation is running. */
  generating: boolean;
}

/** Events of `POST /api/load` (server-sent). */
export type LoadEvent =
  | { type: "progress"; progress: LoadProgress }
  | { type: "ready"; loaded: LoadedInfo }
  | { type: "error"; error: ApiErrorBody["error"] };

/** Body of every error response. */
export interface ApiErrorBody {
  error: {
    /** Stable code: mnemo's `MnemoError` codes plus `BAD_REQUEST`, `NOT_LOADED`, `BUSY`, `FORBIDDEN`, `TOO_LARGE`, `NOT_FOUND`. */
    code: string;
    /** What went wrong and what to do. */
    message: string;
    /** Per-field problems, for validation errors. */
    issues?: { path: string; message: string }[];
  };
}

/** A memory as listed (vectors left out). */
export interface MemoryView {
  id: string;
  namespace: string;
  text?: string;
  metadata: Record<string, string | number | boolean | null>;
  /** How many value vectors it injects. */
  vectors: number;
}

/** `GET /api/memories`. */
export interface MemoriesResponse {
  memories: MemoryView[];
  /** Memories in the namespace. */
  total: number;
}

/** `GET /api/namespaces`. */
export interface NamespacesResponse {
  namespaces: { name: string; count: number }[];
}

/** One hit of `POST /api/memories/search`. */
export interface SearchHit {
  memory: MemoryView;
  /** Cosine similarity between the text's key and the memory's key. */
  score: number;
}

/** A JSONL line that was not imported. */
export interface LineError {
  /** 1-based line number in the file. */
  line: number;
  /** What is wrong with it. */
  message: string;
}

/** Events of `POST /api/memories/import` (server-sent). */
export type ImportEvent =
  | { type: "parsed"; total: number; errors: LineError[] }
  | { type: "progress"; done: number; total: number }
  | { type: "done"; imported: number; errors: LineError[] }
  | { type: "error"; error: ApiErrorBody["error"] };

/** Recall settings sent with a generation (see `@mnemo/core`'s `RecallPolicy`). */
export interface RecallSettings {
  enabled: boolean;
  trigger: string;
  topK: number;
  temperature: number;
  topP: number;
  minScore: number;
  maxRecalls: number;
  namespace: string;
}

/** Token sampling settings sent with a generation (see `@mnemo/core`'s `SamplingOptions`). */
export interface SamplingSettings {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
}

/** Body of `POST /api/generate`. */
export interface GenerateRequest {
  prompt: string;
  recall: RecallSettings;
  sampling: SamplingSettings;
  maxTokens: number;
  /** Omitted: a random seed (the one used is reported in the `session` event). */
  seed?: number;
}

/** A recall candidate on the wire. */
export interface WireCandidate {
  memoryId: string;
  namespace: string;
  score: number;
  probability: number;
  text?: string;
}

/** An injection record on the wire. */
export interface WireInjection {
  position: number;
  kvPosition: number;
  vectorCount: number;
  score: number;
  probability: number;
  memoryId: string;
  namespace: string;
  text?: string;
}

/**
 * Events of `POST /api/generate` (server-sent): `session` first, then mnemo's generation events
 * (the query vector as a number array, errors as `{code, message}`), `finish` or `error` last.
 */
export type WireEvent =
  | { type: "session"; id: string; seed: number }
  | { type: "start"; promptTokens: number }
  | { type: "token"; token: number; text: string; position: number }
  | { type: "text"; text: string }
  | { type: "recall-start"; position: number; kvPosition: number; query: number[] }
  | {
      type: "recall-candidates";
      position: number;
      candidates: WireCandidate[];
      chosen: number;
    }
  | {
      type: "recall-skipped";
      position: number;
      reason: "no-candidates" | "below-min-score" | "max-recalls" | "context-full";
      candidates: WireCandidate[];
    }
  | { type: "memory-injected"; injection: WireInjection }
  | {
      type: "finish";
      finishReason: "eos" | "stop-string" | "max-tokens" | "context-full" | "aborted";
      text: string;
      tokens: number[];
      injections: WireInjection[];
      usage: {
        promptTokens: number;
        completionTokens: number;
        injectedVectors: number;
        kvPositions: number;
      };
    }
  | { type: "error"; error: ApiErrorBody["error"] };

/** Default recall settings (mnemo's defaults). */
export const DEFAULT_RECALL: RecallSettings = {
  enabled: true,
  trigger: "<recall>",
  topK: 5,
  temperature: 0.1,
  topP: 0.9,
  minScore: -1,
  maxRecalls: 8,
  namespace: "default",
};

/** Default token sampling settings (mnemo's defaults). */
export const DEFAULT_SAMPLING_SETTINGS: SamplingSettings = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1,
};

/** Default number of tokens generated. */
export const DEFAULT_MAX_TOKENS = 64;

/**
 * The contract a vector store implements to hold mnemo's memories.
 *
 * A memory is identified by `(namespace, id)`: the same id in two namespaces is two memories, and a
 * search in one namespace never returns another's (as in Pinecone or a Qdrant payload partition).
 */

/** JSON-compatible metadata value. */
export type MetadataValue = string | number | boolean | null;

/** Free-form metadata stored with a memory and usable in equality filters. */
export type Metadata = Record<string, MetadataValue>;

/** The namespace used when none is given. */
export const DEFAULT_NAMESPACE = "default";

/** One memory as stored. */
export interface MemoryRecord {
  /** Caller-chosen id, unique within its namespace; any non-empty string up to 512 characters. */
  id: string;
  /** Partition; defaults to {@link DEFAULT_NAMESPACE}. */
  namespace?: string;
  /** What queries are compared with: `Float32Array` of length `keyWidth` (the model's hidden width). */
  key: Float32Array;
  /**
   * What gets injected: `n × valueWidth` values (`n ≥ 1` vectors of the model's embedding width),
   * row-major. The seed injects one vector (`n = 1`).
   */
  value: Float32Array;
  /** The memory's text, kept for traces and listings (not used for search). */
  text?: string;
  /** Metadata for filters and display. */
  metadata?: Metadata;
}

/** A stored memory as returned by reads: namespace and metadata always present. */
export interface StoredMemory extends MemoryRecord {
  namespace: string;
  metadata: Metadata;
}

/** A search hit. */
export interface MemoryCandidate {
  /** The memory, with its key and value. */
  memory: StoredMemory;
  /** Cosine similarity between the query and the memory's key, in [-1, 1]; higher is closer. */
  score: number;
}

/** Options for {@link MemoryStore.search}. */
export interface SearchOptions {
  /** How many candidates to return at most (≥ 1). Fewer come back if fewer exist. */
  topK: number;
  /** Namespace to search; default {@link DEFAULT_NAMESPACE}. */
  namespace?: string;
  /** Metadata equality filter: every listed key must equal the given value. */
  filter?: Metadata;
  /** Cancels a pending search where the store allows it; throws `ABORTED`. */
  signal?: AbortSignal;
}

/** Options for {@link MemoryStore.list}. */
export interface ListOptions {
  /** Namespace to list; default `"default"`. */
  namespace?: string;
  /** Only memories whose metadata equals every listed key. */
  filter?: Metadata;
  /** Maximum number of memories to return; default 100. */
  limit?: number;
  /** Number of memories to skip (ordered by id); default 0. */
  offset?: number;
}

/** The widths a store was created for. */
export interface StoreDimensions {
  /** Width of keys and queries (the model's hidden width). */
  keyWidth: number;
  /** Width of one value vector (the model's embedding width). */
  valueWidth: number;
}

/**
 * A memory store. Implementations: `@mnemo/store-hnsw` (embedded default), `@mnemo/store-qdrant`.
 * Every method validates its input before touching the engine and throws {@link MnemoError}s.
 */
export interface MemoryStore {
  /** Widths this store accepts. */
  readonly dimensions: StoreDimensions;
  /**
   * Inserts or replaces memories by `(namespace, id)`. All-or-nothing: on an error nothing is written.
   * @throws MnemoError `INVALID_INPUT`, `DIMENSION_MISMATCH`, `NON_FINITE_VECTOR`, `STORE_*`
   */
  upsert(memories: readonly MemoryRecord[]): Promise<void>;
  /** Reads memories by id in one namespace; missing ids come back as `undefined`. */
  get(ids: readonly string[], namespace?: string): Promise<(StoredMemory | undefined)[]>;
  /** Deletes memories by id in one namespace; returns how many existed. */
  delete(ids: readonly string[], namespace?: string): Promise<number>;
  /** Counts memories in a namespace, or in all namespaces when `namespace` is `undefined`. */
  count(namespace?: string): Promise<number>;
  /** Lists memories in a namespace (ordered by id). */
  list(options?: ListOptions): Promise<StoredMemory[]>;
  /** Names of the namespaces that hold at least one memory, sorted. */
  namespaces(): Promise<string[]>;
  /**
   * The `topK` memories whose keys are most cosine-similar to `query`, best first.
   * An empty or unknown namespace gives `[]` (not an error).
   * @param query `Float32Array` of length `keyWidth`, finite, not all zeros
   * @throws MnemoError `DIMENSION_MISMATCH`, `NON_FINITE_VECTOR`, `INVALID_OPTION`, `STORE_*`, `ABORTED`
   */
  search(query: Float32Array, options: SearchOptions): Promise<MemoryCandidate[]>;
  /** Flushes and releases resources. Idempotent. */
  close(): Promise<void>;
}

import { existsSync } from "node:fs";
import { access, constants, mkdir, stat } from "node:fs/promises";
import { endianness } from "node:os";
import { dirname, join, resolve } from "node:path";
import {
  type CheckedRecord,
  checkCount,
  checkIds,
  checkMetadata,
  checkNamespace,
  checkSearchRequest,
  checkUpsertBatch,
  cosineSimilarity,
  describe,
  type ListOptions,
  type MemoryCandidate,
  type MemoryRecord,
  type MemoryStore,
  type Metadata,
  MnemoError,
  matchesFilter,
  type SearchOptions,
  type StoreDimensions,
  type StoredMemory,
  throwIfAborted,
} from "@mnemo/core";
import Database from "better-sqlite3";
import hnswlib from "hnswlib-node";
import {
  atomicWriteFile,
  hashFile,
  installWrittenFile,
  ioError,
  readIfExists,
  tempPathFor,
} from "./files.js";
import {
  FORMAT_VERSION,
  MANIFEST_FORMAT,
  type Manifest,
  type ManifestIndex,
  parseManifest,
} from "./manifest.js";

type Hnsw = InstanceType<typeof hnswlib.HierarchicalNSW>;
type Db = Database.Database;

/** Largest label hnswlib keeps intact: it converts labels with `Uint32Value()`, truncating above. */
export const MAX_LABEL = 0xffff_ffff;
/** File names inside a store directory. */
export const STORE_FILES = {
  /** Format, parameters and which index file matches which write generation. */
  manifest: "manifest.json",
  /** The records (SQLite): the source of truth. */
  records: "store.sqlite",
  /** hnswlib's graph (a cache, rebuilt from the records when needed). */
  index: "index.hnsw",
} as const;

/** Default HNSW and store parameters. */
export const HNSW_DEFAULTS = {
  /** HNSW links per node. */
  M: 16,
  /** HNSW insert-time candidate list size. */
  efConstruction: 200,
  /** HNSW query-time `ef` (raised to `topK` when smaller). */
  efSearch: 100,
  /** Initial graph capacity (grows ×1.5 automatically). */
  maxElements: 1024,
  /** Debounce in ms before the index is saved in the background. */
  autoFlushMs: 10_000,
  // Brute force from SQLite costs ~10 µs a memory; past a few hundred the graph is faster (and
  // a recall must stay within about one decode step).
  /** A namespace/filter matching at most this many memories is searched exactly by brute force. */
  exactSearchThreshold: 256,
  /** …or one matching less than this fraction of the store. */
  exactSearchFraction: 0.02,
} as const;

/** The seed hnswlib uses for level assignment (fixed, so rebuilds are reproducible). */
const RANDOM_SEED = 100;
/** Lower bound of an hnswlib index file's header, in bytes. */
const INDEX_HEADER_BYTES = 96;

/**
 * Options of {@link openHnswStore}.
 *
 * The index is Malkov & Yashunin's Hierarchical Navigable Small World graph ("Efficient and robust
 * approximate nearest neighbor search using Hierarchical Navigable Small World graphs", 2016/2018)
 * as implemented by hnswlib, in its cosine space.
 */
export interface HnswStoreOptions {
  /**
   * Directory holding the store (`store.sqlite`, `index.hnsw`, `manifest.json`); created if
   * missing. Omitted: an in-memory store that vanishes on `close()`.
   */
  path?: string;
  /** Widths the store accepts: keys/queries `keyWidth`, values `n × valueWidth`. */
  dimensions: StoreDimensions;
  /**
   * Identity of the model whose hidden states the keys are (e.g. `"gemma-3-270m-q4_k_m"`).
   * Recorded when the store is created; reopening with a different one throws `STORE_MISMATCH`.
   * Not checked when either side is unset.
   */
  modelIdentity?: string;
  /** HNSW `M`: links per node per layer (layer 0 has `2M`). Default 16. Fixed at creation. */
  M?: number;
  /** HNSW `efConstruction`: candidate list size while inserting. Default 200. Fixed at creation. */
  efConstruction?: number;
  /**
   * HNSW `ef` at query time (raised to `topK` when smaller). Default 100, or the value saved in the
   * manifest. hnswlib does not save `ef`; this store does.
   */
  efSearch?: number;
  /** Initial index capacity in elements; the index grows automatically. Default 1024. */
  maxElements?: number;
  /**
   * Milliseconds after the last write before the index is saved in the background (debounced);
   * `false` or `0`: only on {@link HnswStore.flush} and `close()`. Default 10 000. The records are
   * durable at once either way (SQLite, synchronous=FULL); this only bounds the catch-up work the
   * next open does after a crash.
   */
  autoFlushMs?: number | false;
  /**
   * A namespace/filter with at most this many matching memories is searched exactly (brute force
   * over its keys from SQLite) instead of through the graph. Default 256.
   */
  exactSearchThreshold?: number;
  /**
   * Also search exactly when the matching memories are fewer than this fraction of all memories
   * (a filtered graph search is slow and lossy when the filter is very selective). Default 0.02.
   */
  exactSearchFraction?: number;
  /**
   * Create the store when `path` holds none. Default `true`; `false` makes opening a missing store
   * a `NOT_FOUND` error (for read-only tools, so a mistyped path does not leave an empty store).
   */
  create?: boolean;
}

/** What {@link HnswStore.info} reports. */
export interface HnswStoreInfo {
  /** Absolute directory, or `null` for an in-memory store. */
  path: string | null;
  /** Key and value widths. */
  dimensions: StoreDimensions;
  /** Identity of the model the store was created for, or `null` if unset. */
  modelIdentity: string | null;
  /** Always `"cosine"`. */
  space: "cosine";
  /** HNSW links per node. */
  M: number;
  /** HNSW insert-time candidate list size. */
  efConstruction: number;
  /** HNSW query-time `ef` in use. */
  efSearch: number;
  /** Live memories in all namespaces. */
  count: number;
  /** Elements in the HNSW graph, live and marked deleted (deleted slots are reused). */
  indexElements: number;
  /** Current HNSW capacity (grows automatically). */
  indexCapacity: number;
  /** Next hnswlib label to hand out (labels are < 2^32). */
  nextLabel: number;
  /** Write generation of the records (increments on every committed upsert/delete). */
  generation: number;
  /** Generation of the index file on disk, or `null` when none is saved. */
  savedGeneration: number | null;
  /** True when the in-memory index has changes not yet saved to `index.hnsw`. */
  dirty: boolean;
  /**
   * How the index was obtained at open: `"new"`, `"loaded"` (file matched), `"caught-up"` (file
   * was older; newer records were replayed from SQLite), or `"rebuilt: <reason>"`.
   */
  indexSource: string;
  /** Last error of a background (debounced) flush, if any. */
  lastFlushError: MnemoError | null;
}

interface Row {
  label: number;
  namespace: string;
  id: string;
  text: string | null;
  metadata: string;
  key: Buffer;
  value: Buffer;
  gen: number;
}

const LITTLE_ENDIAN = endianness() === "LE";

function toBlob(a: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const b = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) b.writeFloatLE(a[i] as number, i * 4);
  return b;
}

function fromBlob(b: Buffer, what: string): Float32Array {
  if (!Buffer.isBuffer(b) || b.length % 4 !== 0) {
    throw new MnemoError("STORE_CORRUPT", `A stored ${what} is not a Float32 blob.`, {
      details: { what },
    });
  }
  const out = new Float32Array(b.length / 4);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(b);
  else for (let i = 0; i < out.length; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

/** Maps a better-sqlite3 error to a `MnemoError` with a stable code. */
function sqliteError(e: unknown, what: string, path: string): MnemoError {
  if (e instanceof MnemoError) return e;
  const code = String((e as { code?: unknown })?.code ?? "");
  const msg = e instanceof Error ? e.message : String(e);
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") {
    return new MnemoError(
      "STORE_CORRUPT",
      `The records database ${path} is damaged (${code}: ${msg}) while trying to ${what}.`,
      { cause: e, details: { path, sqlite: code } },
    );
  }
  if (/^SQLITE_(IOERR|FULL|CANTOPEN|READONLY|PERM)/.test(code)) {
    return new MnemoError("IO_ERROR", `Could not ${what} ${path} (${code}: ${msg}).`, {
      cause: e,
      details: { path, sqlite: code },
    });
  }
  if (/^SQLITE_(BUSY|LOCKED)/.test(code)) {
    return new MnemoError(
      "STORE_UNAVAILABLE",
      `The store ${path} is open in another process or store instance (${code}); close that one first.`,
      { cause: e, details: { path, sqlite: code } },
    );
  }
  return new MnemoError("STORE_FAILURE", `SQLite failed to ${what} ${path}: ${msg}`, {
    cause: e,
    details: { path, sqlite: code },
  });
}

function positiveInt(
  v: unknown,
  name: string,
  fallback: number | undefined,
  max = MAX_LABEL,
): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
    throw new MnemoError(
      "INVALID_OPTION",
      `The option ${name} must be an integer in [1, ${max}]; got ${describe(v)}.`,
      { details: { option: name } },
    );
  }
  return v;
}

interface Params {
  M: number;
  efConstruction: number;
  efSearch: number;
  maxElements: number;
  autoFlushMs: number;
  exactSearchThreshold: number;
  exactSearchFraction: number;
}

function checkOptions(options: HnswStoreOptions): Params {
  if (typeof options !== "object" || options === null) {
    throw new MnemoError("INVALID_OPTION", "openHnswStore needs an options object.");
  }
  const d = options.dimensions as Partial<StoreDimensions> | undefined;
  if (typeof d !== "object" || d === null) {
    throw new MnemoError(
      "INVALID_OPTION",
      "The option dimensions ({ keyWidth, valueWidth }) is required.",
    );
  }
  positiveInt(d.keyWidth, "dimensions.keyWidth", undefined, 1 << 20);
  positiveInt(d.valueWidth, "dimensions.valueWidth", undefined, 1 << 20);
  if (options.path !== undefined && (typeof options.path !== "string" || options.path === "")) {
    throw new MnemoError("INVALID_OPTION", "The option path must be a non-empty string.");
  }
  if (
    options.modelIdentity !== undefined &&
    (typeof options.modelIdentity !== "string" || options.modelIdentity.length > 4096)
  ) {
    throw new MnemoError(
      "INVALID_OPTION",
      "The option modelIdentity must be a string (≤ 4096 chars).",
    );
  }
  const af = options.autoFlushMs;
  if (
    af !== undefined &&
    af !== false &&
    !(typeof af === "number" && Number.isFinite(af) && af >= 0)
  ) {
    throw new MnemoError("INVALID_OPTION", "The option autoFlushMs must be a number ≥ 0 or false.");
  }
  const frac = options.exactSearchFraction;
  if (frac !== undefined && !(typeof frac === "number" && frac >= 0 && frac <= 1)) {
    throw new MnemoError("INVALID_OPTION", "The option exactSearchFraction must be in [0, 1].");
  }
  return {
    M: positiveInt(options.M, "M", HNSW_DEFAULTS.M, 4096),
    efConstruction: positiveInt(
      options.efConstruction,
      "efConstruction",
      HNSW_DEFAULTS.efConstruction,
      1 << 20,
    ),
    efSearch: positiveInt(options.efSearch, "efSearch", HNSW_DEFAULTS.efSearch, 1 << 20),
    maxElements: positiveInt(options.maxElements, "maxElements", HNSW_DEFAULTS.maxElements),
    autoFlushMs: af === false ? 0 : (af ?? HNSW_DEFAULTS.autoFlushMs),
    exactSearchThreshold: checkCount(
      options.exactSearchThreshold,
      "exactSearchThreshold",
      HNSW_DEFAULTS.exactSearchThreshold,
    ),
    exactSearchFraction: frac ?? HNSW_DEFAULTS.exactSearchFraction,
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memories (
  label INTEGER PRIMARY KEY,
  namespace TEXT NOT NULL,
  id TEXT NOT NULL,
  text TEXT,
  metadata TEXT NOT NULL,
  key BLOB NOT NULL,
  value BLOB NOT NULL,
  gen INTEGER NOT NULL,
  UNIQUE (namespace, id)
);
CREATE INDEX IF NOT EXISTS memories_gen ON memories (gen);
CREATE TABLE IF NOT EXISTS tombstones (label INTEGER PRIMARY KEY, gen INTEGER NOT NULL);
`;

/**
 * A {@link MemoryStore} over hnswlib's HNSW graph (Malkov & Yashunin) for search and SQLite for
 * the records. Create it with {@link openHnswStore}.
 *
 * - **Source of truth**: the SQLite rows (`(namespace, id)` primary key, Float32 little-endian
 *   key/value BLOBs, metadata JSON, an hnswlib label < 2^32). Every acknowledged upsert/delete is
 *   committed there (WAL, synchronous=FULL) before the promise resolves.
 * - **Index**: kept in memory, saved atomically to `index.hnsw` by {@link flush}, `close()` and a
 *   debounced background flush. On open, a missing, stale, corrupt or mismatched index file is
 *   caught up from (or rebuilt from) the SQLite rows.
 * - **Scores** are cosine similarity recomputed in float64 from the stored key, not hnswlib's
 *   float32 `1 − cos`.
 * - **Concurrency**: one store instance per directory (SQLite exclusive lock); a second open of
 *   the same directory throws `STORE_UNAVAILABLE`. Writes are serialised inside the instance.
 */
export class HnswStore implements MemoryStore {
  /** Widths this store accepts. */
  readonly dimensions: StoreDimensions;
  /** Absolute store directory, or `undefined` for an in-memory store. */
  readonly path: string | undefined;
  /** Model identity recorded in the store, if any. */
  readonly modelIdentity: string | undefined;

  private db: Db;
  private index: Hnsw;
  private readonly params: Params;
  /** namespace → (label → metadata) for every live memory. */
  private readonly nsLabels = new Map<string, Map<number, Metadata>>();
  private live = 0;
  private nextLabel: number;
  private generation: number;
  private savedIndex: ManifestIndex | null;
  private dirty = false;
  private state: "open" | "closing" | "closed" = "open";
  private closePromise: Promise<void> | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlushError: MnemoError | null = null;
  private indexSource = "new";
  private readonly dbPath: string;
  private readonly stmts: ReturnType<typeof prepare>;

  /** @internal use {@link openHnswStore} */
  constructor(init: {
    db: Db;
    dbPath: string;
    path: string | undefined;
    dimensions: StoreDimensions;
    modelIdentity: string | undefined;
    params: Params;
    savedIndex: ManifestIndex | null;
  }) {
    this.db = init.db;
    this.dbPath = init.dbPath;
    this.path = init.path;
    this.dimensions = Object.freeze({ ...init.dimensions });
    this.modelIdentity = init.modelIdentity;
    this.params = init.params;
    this.savedIndex = init.savedIndex;
    this.stmts = prepare(this.db);
    this.nextLabel = Number(this.getMeta("next_label") ?? "0");
    this.generation = Number(this.getMeta("generation") ?? "0");
    this.index = this.newIndex(1);
  }

  // ---------------------------------------------------------------------------------------------
  // MemoryStore

  /**
   * Inserts or replaces memories by `(namespace, id)`. All-or-nothing: every record is validated
   * first, then all are written in one SQLite transaction. A replaced memory's old graph node is
   * marked deleted and the new key gets a fresh label. Within one batch, the last record with a
   * given `(namespace, id)` wins.
   *
   * Keys: `keyWidth` finite numbers, not all zero (`Float32Array`, `Float64Array` or `number[]`).
   * Values: `n × valueWidth` finite numbers, `n ≥ 1`.
   * @throws MnemoError `INVALID_INPUT` (not an array, bad id/namespace/text/metadata, zero key,
   *   elements that are not numbers), `DIMENSION_MISMATCH`, `NON_FINITE_VECTOR`, `DISPOSED`,
   *   `IO_ERROR`, `STORE_CORRUPT`, `STORE_FAILURE`
   */
  async upsert(memories: readonly MemoryRecord[]): Promise<void> {
    this.assertOpen();
    const batch = checkUpsertBatch(memories, this.dimensions);
    if (batch.length === 0) return;
    await this.exclusive(() => this.applyUpsert(batch));
  }

  /**
   * Reads memories by id in one namespace (default `"default"`); a missing id gives
   * `undefined` at its position. Keys and values are fresh `Float32Array` copies.
   * @throws MnemoError `INVALID_INPUT` (malformed id or namespace), `DISPOSED`, `STORE_CORRUPT`
   */
  async get(ids: readonly string[], namespace?: string): Promise<(StoredMemory | undefined)[]> {
    this.assertOpen();
    const list = checkIds(ids);
    const ns = checkNamespace(namespace);
    return this.sql("read", () =>
      list.map((id) => {
        const row = this.stmts.byNsId.get(ns, id) as Row | undefined;
        return row === undefined ? undefined : this.toMemory(row);
      }),
    );
  }

  /**
   * Deletes memories by id in one namespace; returns how many existed. The graph nodes are marked
   * deleted (their slots are reused by later inserts).
   * @throws MnemoError `INVALID_INPUT`, `DISPOSED`, `IO_ERROR`, `STORE_FAILURE`
   */
  async delete(ids: readonly string[], namespace?: string): Promise<number> {
    this.assertOpen();
    const list = checkIds(ids);
    const ns = checkNamespace(namespace);
    if (list.length === 0) return 0;
    return this.exclusive(() => this.applyDelete(list, ns));
  }

  /**
   * Counts memories in a namespace, or in all namespaces when `namespace` is `undefined`.
   * @throws MnemoError `INVALID_INPUT`, `DISPOSED`
   */
  async count(namespace?: string): Promise<number> {
    this.assertOpen();
    if (namespace === undefined) return this.live;
    return this.nsLabels.get(checkNamespace(namespace))?.size ?? 0;
  }

  /**
   * Lists memories of one namespace (default `"default"`) ordered by id (SQLite
   * binary order, i.e. by UTF-8 bytes), after the metadata `filter`; `limit` default 100,
   * `offset` default 0 (both integers ≥ 0).
   * @throws MnemoError `INVALID_OPTION`, `DISPOSED`, `STORE_CORRUPT`
   */
  async list(options: ListOptions = {}): Promise<StoredMemory[]> {
    this.assertOpen();
    if (typeof options !== "object" || options === null) {
      throw new MnemoError("INVALID_OPTION", "list options must be an object.");
    }
    const ns = checkNamespace(options.namespace, "INVALID_OPTION");
    const filter = this.checkFilter(options.filter);
    const limit = checkCount(options.limit, "limit", 100);
    const offset = checkCount(options.offset, "offset", 0);
    if (limit === 0) return [];
    return this.sql("list", () => {
      const out: StoredMemory[] = [];
      let skipped = 0;
      for (const row of this.stmts.listNs.iterate(ns) as IterableIterator<Row>) {
        const memory = this.toMemory(row);
        if (!matchesFilter(memory.metadata, filter)) continue;
        if (skipped < offset) {
          skipped++;
          continue;
        }
        out.push(memory);
        if (out.length >= limit) break;
      }
      return out;
    });
  }

  /** Names of the namespaces holding at least one memory, sorted (JavaScript string order). */
  async namespaces(): Promise<string[]> {
    this.assertOpen();
    return [...this.nsLabels.keys()].sort();
  }

  /**
   * The `topK` memories of one namespace whose keys are most cosine-similar to `query`, best
   * first (ties by id). Scores are exact cosine similarities in [-1, 1] computed in float64 from
   * the stored keys.
   *
   * Strategy: when the namespace/filter matches few memories (≤ `exactSearchThreshold`, or less
   * than `exactSearchFraction` of the store) the search is exact brute force over those keys;
   * otherwise HNSW with a label filter restricted to the namespace/filter (`ef =
   * max(efSearch, topK)`), falling back to brute force if the graph returns fewer than
   * `min(topK, matching)` hits. An empty or unknown namespace gives `[]`.
   *
   * @param query `keyWidth` finite numbers, not all zero
   * @throws MnemoError `DIMENSION_MISMATCH`, `NON_FINITE_VECTOR`, `INVALID_INPUT` (zero query,
   *   non-number elements), `INVALID_OPTION` (`topK` not an integer ≥ 1, bad namespace/filter),
   *   `ABORTED`, `DISPOSED`, `STORE_CORRUPT`
   */
  async search(query: Float32Array, options: SearchOptions): Promise<MemoryCandidate[]> {
    this.assertOpen();
    const {
      query: q,
      topK,
      namespace: ns,
    } = checkSearchRequest(query, options, this.dimensions.keyWidth);
    const filter = this.checkFilter(options.filter);
    const members = this.nsLabels.get(ns);
    if (members === undefined || members.size === 0) return [];

    let matching = members.size;
    if (filter !== undefined) {
      matching = 0;
      for (const md of members.values()) if (matchesFilter(md, filter)) matching++;
    }
    if (matching === 0) return [];
    const k = Math.min(topK, matching);

    let labels: number[] | undefined;
    const exact =
      matching <= this.params.exactSearchThreshold ||
      matching < this.live * this.params.exactSearchFraction;
    if (!exact) {
      const whole = filter === undefined && members.size === this.live;
      const fn = whole
        ? undefined
        : filter === undefined
          ? (label: number) => members.has(label)
          : (label: number) => {
              const md = members.get(label);
              return md !== undefined && matchesFilter(md, filter);
            };
      const res = fn
        ? this.index.searchKnn(Array.from(q), k, fn)
        : this.index.searchKnn(Array.from(q), k);
      labels = res.neighbors.filter((l) => members.has(l));
      if (labels.length < k) labels = undefined;
    }
    throwIfAborted(options.signal);

    return this.sql("search", () => {
      let out: MemoryCandidate[];
      if (labels === undefined) {
        // Exact: brute force over the namespace's keys from SQLite.
        const scored: { label: number; score: number }[] = [];
        for (const row of this.stmts.keysNs.iterate(ns) as IterableIterator<
          Pick<Row, "label" | "key">
        >) {
          if (filter !== undefined) {
            const md = members.get(row.label);
            if (md === undefined || !matchesFilter(md, filter)) continue;
          }
          scored.push({ label: row.label, score: cosineSimilarity(q, fromBlob(row.key, "key")) });
        }
        scored.sort((a, b) => b.score - a.score);
        labels = scored.slice(0, k).map((s) => s.label);
      }
      out = [];
      for (const label of labels) {
        const row = this.stmts.byLabel.get(label) as Row | undefined;
        if (row === undefined || row.namespace !== ns) continue;
        const memory = this.toMemory(row);
        if (!matchesFilter(memory.metadata, filter)) continue;
        out.push({ memory, score: cosineSimilarity(q, memory.key) });
      }
      out.sort(
        (a, b) =>
          b.score - a.score || (a.memory.id < b.memory.id ? -1 : a.memory.id > b.memory.id ? 1 : 0),
      );
      return out;
    });
  }

  /**
   * Saves the index (if changed) and releases the SQLite connection and the graph. Idempotent;
   * later calls on the store throw `DISPOSED`. If saving the index fails the store still closes
   * (the records are safe in SQLite; the next open rebuilds the index) and the error is thrown.
   * @throws MnemoError `IO_ERROR`
   */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.state = "closing";
    this.clearFlushTimer();
    this.closePromise = this.exclusive(async () => {
      try {
        await this.flushLocked();
      } finally {
        this.state = "closed";
        try {
          this.db.close();
        } catch {
          // already closed
        }
      }
    });
    return this.closePromise;
  }

  // ---------------------------------------------------------------------------------------------
  // Extras

  /**
   * Saves the in-memory index to `index.hnsw` now if it changed since the last save: written to a
   * temp file in the store directory, verified (exists, plausible size, SHA-256 by re-reading),
   * fsynced, renamed over the old file, directory fsynced, then `manifest.json` is rewritten the
   * same way. A no-op for an in-memory store or when nothing changed.
   * @throws MnemoError `IO_ERROR` (the directory became unwritable, disk full), `DISPOSED`
   */
  async flush(): Promise<void> {
    this.assertOpen();
    this.clearFlushTimer();
    await this.exclusive(() => this.flushLocked());
  }

  /**
   * Rebuilds the HNSW graph from the SQLite records (drops deleted slots, renumbers nothing) and
   * saves it. Useful after many deletes. Returns the number of memories indexed.
   * @throws MnemoError `DISPOSED`, `IO_ERROR`, `STORE_CORRUPT`
   */
  async rebuild(): Promise<number> {
    this.assertOpen();
    return this.exclusive(async () => {
      this.rebuildIndex();
      await this.flushLocked();
      return this.live;
    });
  }

  /** Facts about the store: parameters, counts, index state. See {@link HnswStoreInfo}. */
  info(): HnswStoreInfo {
    const open = this.state !== "closed";
    return {
      path: this.path ?? null,
      dimensions: { ...this.dimensions },
      modelIdentity: this.modelIdentity ?? null,
      space: "cosine",
      M: this.params.M,
      efConstruction: this.params.efConstruction,
      efSearch: this.params.efSearch,
      count: this.live,
      indexElements: open ? this.index.getCurrentCount() : 0,
      indexCapacity: open ? this.index.getMaxElements() : 0,
      nextLabel: this.nextLabel,
      generation: this.generation,
      savedGeneration: this.savedIndex?.generation ?? null,
      dirty: this.dirty,
      indexSource: this.indexSource,
      lastFlushError: this.lastFlushError,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Internals

  private assertOpen(): void {
    if (this.state !== "open") {
      throw new MnemoError("DISPOSED", "This store has been closed; open it again to use it.");
    }
  }

  /** Runs `fn` after every earlier exclusive operation (writes and flushes are serialised). */
  private exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private sql<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw sqliteError(e, what, this.dbPath);
    }
  }

  private checkFilter(filter: unknown): Metadata | undefined {
    const f = checkMetadata(filter, "filter", "INVALID_OPTION");
    return Object.keys(f).length === 0 ? undefined : f;
  }

  private getMeta(key: string): string | undefined {
    const r = this.stmts.getMeta.get(key) as { value: string } | undefined;
    return r?.value;
  }

  private toMemory(row: Row): StoredMemory {
    let metadata: Metadata;
    try {
      metadata = JSON.parse(row.metadata) as Metadata;
    } catch (e) {
      throw new MnemoError(
        "STORE_CORRUPT",
        `The metadata of memory "${row.id}" is not valid JSON.`,
        {
          cause: e,
          details: { id: row.id, namespace: row.namespace },
        },
      );
    }
    const key = fromBlob(row.key, "key");
    const value = fromBlob(row.value, "value");
    if (
      key.length !== this.dimensions.keyWidth ||
      value.length === 0 ||
      value.length % this.dimensions.valueWidth !== 0
    ) {
      throw new MnemoError(
        "STORE_CORRUPT",
        `Memory "${row.id}" has a key of ${key.length} or a value of ${value.length} values, not matching the store's widths.`,
        { details: { id: row.id, namespace: row.namespace } },
      );
    }
    const m: StoredMemory = { id: row.id, namespace: row.namespace, key, value, metadata };
    if (row.text !== null) m.text = row.text;
    return m;
  }

  private newIndex(capacity: number): Hnsw {
    const index = new hnswlib.HierarchicalNSW("cosine", this.dimensions.keyWidth);
    index.initIndex({
      maxElements: Math.max(1, Math.min(capacity, MAX_LABEL)),
      m: this.params.M,
      efConstruction: this.params.efConstruction,
      randomSeed: RANDOM_SEED,
      allowReplaceDeleted: true,
    });
    index.setEf(this.params.efSearch);
    return index;
  }

  /** Grows the graph so that `extra` more elements fit (deleted slots are not counted). */
  private ensureCapacity(extra: number): void {
    const need = this.index.getCurrentCount() + extra;
    const cap = this.index.getMaxElements();
    if (need <= cap) return;
    const next = Math.min(MAX_LABEL, Math.max(need, Math.ceil(cap * 1.5), 1024));
    if (need > next) {
      throw new MnemoError(
        "STORE_FAILURE",
        `The index cannot hold ${need} elements (hnswlib's limit is ${MAX_LABEL}).`,
      );
    }
    this.index.resizeIndex(next);
  }

  private addMember(ns: string, label: number, metadata: Metadata): void {
    let m = this.nsLabels.get(ns);
    if (m === undefined) {
      m = new Map();
      this.nsLabels.set(ns, m);
    }
    if (!m.has(label)) this.live++;
    m.set(label, metadata);
  }

  private removeMember(ns: string, label: number): void {
    const m = this.nsLabels.get(ns);
    if (m?.delete(label)) {
      this.live--;
      if (m.size === 0) this.nsLabels.delete(ns);
    }
  }

  private markDeleted(label: number): void {
    try {
      this.index.markDelete(label);
    } catch {
      // not in the graph or already deleted: nothing to do
    }
  }

  /** Loads namespace/metadata of every live label from SQLite. */
  loadMembers(): void {
    this.nsLabels.clear();
    this.live = 0;
    this.sql("load records", () => {
      for (const r of this.stmts.members.iterate() as IterableIterator<
        Pick<Row, "label" | "namespace" | "metadata" | "id">
      >) {
        let md: Metadata;
        try {
          md = JSON.parse(r.metadata) as Metadata;
        } catch (e) {
          throw new MnemoError(
            "STORE_CORRUPT",
            `The metadata of memory "${r.id}" is not valid JSON.`,
            {
              cause: e,
            },
          );
        }
        if (!Number.isInteger(r.label) || r.label < 0 || r.label > MAX_LABEL) {
          throw new MnemoError(
            "STORE_CORRUPT",
            `Memory "${r.id}" has an invalid label ${r.label}.`,
          );
        }
        this.addMember(r.namespace, r.label, md);
      }
    });
  }

  /** Builds a fresh graph from every key in SQLite. */
  rebuildIndex(): void {
    const index = this.newIndex(Math.max(this.live, this.params.maxElements));
    this.sql("rebuild the index from", () => {
      for (const r of this.stmts.allKeys.iterate() as IterableIterator<
        Pick<Row, "label" | "key">
      >) {
        const key = fromBlob(r.key, "key");
        if (key.length !== this.dimensions.keyWidth || !key.every(Number.isFinite)) {
          throw new MnemoError("STORE_CORRUPT", `The stored key of label ${r.label} is malformed.`);
        }
        if (index.getCurrentCount() >= index.getMaxElements()) {
          index.resizeIndex(Math.min(MAX_LABEL, index.getMaxElements() * 2));
        }
        index.addPoint(Array.from(key), r.label);
      }
    });
    this.index = index;
    this.dirty = this.path !== undefined;
  }

  /**
   * Loads `index.hnsw` if the manifest vouches for it (size, SHA-256, generation, dimensions) and
   * replays newer SQLite changes; otherwise rebuilds. Sets {@link HnswStoreInfo.indexSource}.
   */
  async loadIndex(manifest: Manifest | undefined): Promise<void> {
    this.loadMembers();
    const reason = await this.tryLoadIndex(manifest);
    if (reason !== undefined) {
      this.rebuildIndex();
      this.indexSource =
        manifest === undefined && this.live === 0 && this.generation === 0
          ? "new"
          : `rebuilt: ${reason}`;
    }
  }

  private async tryLoadIndex(manifest: Manifest | undefined): Promise<string | undefined> {
    if (this.path === undefined) return "in-memory store";
    const saved = manifest?.index ?? null;
    if (saved === null) return "no index saved yet";
    const rebuildGen = Number(this.getMeta("rebuild_generation") ?? "0");
    if (saved.generation < rebuildGen) return "labels were renumbered since the index was saved";
    if (saved.generation > this.generation) return "index is newer than the records";
    const file = join(this.path, saved.file);
    try {
      const st = await stat(file);
      if (st.size !== saved.bytes)
        return `index file has ${st.size} bytes, manifest says ${saved.bytes}`;
      const sum = await hashFile(file);
      if (sum.sha256 !== saved.sha256) return "index file checksum does not match the manifest";
    } catch {
      return "index file missing or unreadable";
    }
    const index = new hnswlib.HierarchicalNSW("cosine", this.dimensions.keyWidth);
    try {
      await index.readIndex(file, true);
    } catch (e) {
      return `hnswlib could not read the index (${e instanceof Error ? e.message : String(e)})`;
    }
    if (index.getNumDimensions() !== this.dimensions.keyWidth) return "index dimension differs";
    if (index.getCurrentCount() !== saved.elements) return "index element count differs";
    index.setEf(this.params.efSearch);
    this.index = index;
    // Replay what was committed after the index was saved.
    let replayed = 0;
    try {
      this.sql("replay records into the index", () => {
        for (const label of this.stmts.tombsAfter
          .pluck()
          .iterate(saved.generation) as IterableIterator<number>) {
          this.markDeleted(label);
          replayed++;
        }
        const rows = this.stmts.rowsAfter.all(saved.generation) as Pick<Row, "label" | "key">[];
        this.ensureCapacity(rows.length);
        for (const r of rows) {
          const key = fromBlob(r.key, "key");
          if (key.length !== this.dimensions.keyWidth || !key.every(Number.isFinite)) {
            throw new MnemoError(
              "STORE_CORRUPT",
              `The stored key of label ${r.label} is malformed.`,
            );
          }
          this.index.addPoint(Array.from(key), r.label, true);
          replayed++;
        }
      });
    } catch (e) {
      if (e instanceof MnemoError && e.code === "STORE_CORRUPT") throw e;
      return `replaying newer records failed (${e instanceof Error ? e.message : String(e)})`;
    }
    // Every live label must be in the graph.
    const inGraph = new Set(this.index.getIdsList());
    for (const m of this.nsLabels.values()) {
      for (const label of m.keys())
        if (!inGraph.has(label)) return `label ${label} missing from the index`;
    }
    this.indexSource = replayed > 0 ? "caught-up" : "loaded";
    this.dirty = replayed > 0;
    return undefined;
  }

  private applyUpsert(batch: CheckedRecord[]): void {
    if (this.nextLabel + batch.length - 1 > MAX_LABEL) this.renumberLabels(batch.length);
    const gen = this.generation + 1;
    const ops: { old: number | undefined; label: number; rec: CheckedRecord }[] = [];
    let next = this.nextLabel;
    this.sql("write", () =>
      this.db.transaction(() => {
        for (const rec of batch) {
          const old = this.stmts.labelByNsId.pluck().get(rec.namespace, rec.id) as
            | number
            | undefined;
          if (old !== undefined) {
            this.stmts.deleteLabel.run(old);
            this.stmts.tomb.run(old, gen);
          }
          const label = next++;
          this.stmts.insert.run(
            label,
            rec.namespace,
            rec.id,
            rec.text,
            JSON.stringify(rec.metadata),
            toBlob(rec.key),
            toBlob(rec.value),
            gen,
          );
          ops.push({ old, label, rec });
        }
        this.stmts.setMeta.run("next_label", String(next));
        this.stmts.setMeta.run("generation", String(gen));
      })(),
    );
    this.nextLabel = next;
    this.generation = gen;
    for (const op of ops) {
      if (op.old !== undefined) this.removeMember(op.rec.namespace, op.old);
      this.addMember(op.rec.namespace, op.label, op.rec.metadata);
    }
    try {
      this.ensureCapacity(ops.length);
      for (const op of ops) {
        if (op.old !== undefined) this.markDeleted(op.old);
        this.index.addPoint(Array.from(op.rec.key), op.label, true);
      }
    } catch {
      // The records are committed; bring the graph back in line with them.
      this.rebuildIndex();
    }
    this.touched();
  }

  private applyDelete(ids: string[], ns: string): number {
    const gen = this.generation + 1;
    const removed: number[] = [];
    this.sql("delete from", () =>
      this.db.transaction(() => {
        for (const id of ids) {
          const old = this.stmts.labelByNsId.pluck().get(ns, id) as number | undefined;
          if (old === undefined) continue;
          this.stmts.deleteLabel.run(old);
          this.stmts.tomb.run(old, gen);
          removed.push(old);
        }
        if (removed.length > 0) this.stmts.setMeta.run("generation", String(gen));
      })(),
    );
    if (removed.length === 0) return 0;
    this.generation = gen;
    for (const label of removed) {
      this.removeMember(ns, label);
      this.markDeleted(label);
    }
    this.touched();
    return removed.length;
  }

  /**
   * Renumbers labels 0..n−1 (in label order) when the next labels would pass 2^32 − 1, then
   * rebuilds the graph. Forces the next open to rebuild if the new index is not saved.
   */
  private renumberLabels(incoming: number): void {
    const labels = this.sql("read", () => this.stmts.allLabels.pluck().all() as number[]);
    if (labels.length + incoming - 1 > MAX_LABEL) {
      throw new MnemoError(
        "STORE_FAILURE",
        `The store cannot hold more than ${MAX_LABEL + 1} memories (hnswlib labels are 32-bit).`,
      );
    }
    const gen = this.generation + 1;
    this.sql("renumber labels in", () =>
      this.db.transaction(() => {
        labels.forEach((old, i) => {
          if (old !== i) this.stmts.relabel.run(i, gen, old);
        });
        this.db.prepare("DELETE FROM tombstones").run();
        this.stmts.setMeta.run("next_label", String(labels.length));
        this.stmts.setMeta.run("generation", String(gen));
        this.stmts.setMeta.run("rebuild_generation", String(gen));
      })(),
    );
    this.nextLabel = labels.length;
    this.generation = gen;
    this.loadMembers();
    this.rebuildIndex();
    this.touched();
  }

  private touched(): void {
    if (this.path === undefined) return;
    this.dirty = true;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.params.autoFlushMs <= 0 || this.state !== "open") return;
    this.clearFlushTimer();
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.state !== "open") return;
      this.exclusive(() => this.flushLocked()).catch((e: unknown) => {
        this.lastFlushError = e instanceof MnemoError ? e : ioError("save", String(this.path), e);
      });
    }, this.params.autoFlushMs);
    this.flushTimer.unref();
  }

  private clearFlushTimer(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Saves the index if it changed (or only the manifest when `manifestOnly`). */
  private async flushLocked(manifestOnly = false): Promise<void> {
    if (this.path === undefined || (!this.dirty && !manifestOnly)) return;
    const gen = this.generation;
    if (this.dirty) {
      const indexPath = join(this.path, STORE_FILES.index);
      const elements = this.index.getCurrentCount();
      if (elements > 0) {
        const tmp = tempPathFor(indexPath);
        try {
          await this.index.writeIndex(tmp);
        } catch (e) {
          throw ioError("write the index to", tmp, e);
        }
        const minBytes = INDEX_HEADER_BYTES + elements * (this.dimensions.keyWidth * 4 + 12);
        const sum = await installWrittenFile(tmp, indexPath, minBytes);
        this.savedIndex = { file: STORE_FILES.index, generation: gen, elements, ...sum };
      } else {
        this.savedIndex = null;
      }
    }
    await writeManifest(this.path, this.manifest(this.savedIndex));
    if (this.savedIndex !== null) {
      const saved = this.savedIndex.generation;
      this.sql("prune tombstones in", () => this.stmts.pruneTombs.run(saved));
    }
    if (this.dirty) this.dirty = this.generation !== gen;
    this.lastFlushError = null;
  }

  /** The manifest describing the current state with `index` as the saved index. */
  manifest(index: Manifest["index"]): Manifest {
    return {
      format: MANIFEST_FORMAT,
      formatVersion: FORMAT_VERSION,
      space: "cosine",
      dimensions: { ...this.dimensions },
      modelIdentity: this.modelIdentity ?? null,
      M: this.params.M,
      efConstruction: this.params.efConstruction,
      efSearch: this.params.efSearch,
      count: this.live,
      index,
      savedAt: new Date().toISOString(),
    };
  }

  /** Saves the index if dirty and rewrites the manifest (used at the end of open). */
  flushNow(): Promise<void> {
    return this.exclusive(() => this.flushLocked(true));
  }
}

function prepare(db: Db) {
  return {
    getMeta: db.prepare("SELECT value FROM meta WHERE key = ?"),
    setMeta: db.prepare(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    insert: db.prepare(
      "INSERT INTO memories (label, namespace, id, text, metadata, key, value, gen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    labelByNsId: db.prepare("SELECT label FROM memories WHERE namespace = ? AND id = ?"),
    byNsId: db.prepare("SELECT * FROM memories WHERE namespace = ? AND id = ?"),
    byLabel: db.prepare("SELECT * FROM memories WHERE label = ?"),
    deleteLabel: db.prepare("DELETE FROM memories WHERE label = ?"),
    tomb: db.prepare(
      "INSERT INTO tombstones (label, gen) VALUES (?, ?) ON CONFLICT (label) DO UPDATE SET gen = excluded.gen",
    ),
    pruneTombs: db.prepare("DELETE FROM tombstones WHERE gen <= ?"),
    tombsAfter: db.prepare("SELECT label FROM tombstones WHERE gen > ? ORDER BY gen, label"),
    rowsAfter: db.prepare("SELECT label, key FROM memories WHERE gen > ? ORDER BY label"),
    listNs: db.prepare("SELECT * FROM memories WHERE namespace = ? ORDER BY id"),
    keysNs: db.prepare("SELECT label, key FROM memories WHERE namespace = ?"),
    members: db.prepare("SELECT label, namespace, id, metadata FROM memories"),
    allKeys: db.prepare("SELECT label, key FROM memories ORDER BY label"),
    allLabels: db.prepare("SELECT label FROM memories ORDER BY label"),
    relabel: db.prepare("UPDATE memories SET label = ?, gen = ? WHERE label = ?"),
  };
}

async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await atomicWriteFile(join(dir, STORE_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
}

function describeMade(dims: StoreDimensions, identity: string | undefined): string {
  return `keyWidth ${dims.keyWidth}, valueWidth ${dims.valueWidth}${
    identity === undefined ? " (model not recorded)" : ` by model "${identity}"`
  }`;
}

/**
 * Creates `dir` and its missing parents one level at a time. Node's `mkdir(…, { recursive: true })`
 * spins forever on some paths (e.g. `/proc/x`: ENOENT on the child, EEXIST on the parent).
 */
async function mkdirParents(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) await mkdir(d);
}

/**
 * Opens (or creates) an HNSW memory store: hnswlib's implementation of Malkov & Yashunin's
 * Hierarchical Navigable Small World graph in cosine space for search, SQLite (better-sqlite3)
 * for the records. See {@link HnswStore} for guarantees and {@link HnswStoreOptions} for options.
 *
 * With `path`, the directory is created if needed; an existing store there must have the same
 * `dimensions` and (when both are set) `modelIdentity`. A missing, stale or corrupt index file is
 * repaired from the SQLite records (see {@link HnswStoreInfo.indexSource}). Parameters `M` and
 * `efConstruction` of an existing store are kept; `efSearch` given here overrides the saved one.
 *
 * @throws MnemoError `INVALID_OPTION` (bad options), `IO_ERROR` (path not a writable directory),
 *   `STORE_MISMATCH` (other dimensions or model, newer format), `STORE_CORRUPT` (unreadable
 *   manifest or SQLite, records missing), `STORE_UNAVAILABLE` (open elsewhere)
 */
export async function openHnswStore(options: HnswStoreOptions): Promise<HnswStore> {
  const params = checkOptions(options);
  const dims: StoreDimensions = {
    keyWidth: options.dimensions.keyWidth,
    valueWidth: options.dimensions.valueWidth,
  };
  if (options.path === undefined) {
    const db = new Database(":memory:");
    db.exec(SCHEMA);
    const store = new HnswStore({
      db,
      dbPath: ":memory:",
      path: undefined,
      dimensions: dims,
      modelIdentity: options.modelIdentity,
      params,
      savedIndex: null,
    });
    store.rebuildIndex();
    return store;
  }

  const dir = resolve(options.path);
  if (options.create === false && !existsSync(join(dir, STORE_FILES.records))) {
    throw new MnemoError(
      "NOT_FOUND",
      `There is no memory store at ${dir}. Add a memory first (it creates the store), or check the path.`,
      { details: { path: dir } },
    );
  }
  try {
    await mkdirParents(dir);
    const st = await stat(dir);
    if (!st.isDirectory()) throw new Error("not a directory");
    await access(dir, constants.W_OK | constants.R_OK | constants.X_OK);
  } catch (e) {
    throw ioError("use as a store directory", dir, e);
  }
  const manifestPath = join(dir, STORE_FILES.manifest);
  const dbPath = join(dir, STORE_FILES.records);
  const manifestText = await readIfExists(manifestPath);
  const manifest =
    manifestText === undefined ? undefined : parseManifest(manifestText, manifestPath);
  const dbExisted = existsSync(dbPath);
  if (manifest !== undefined && !dbExisted) {
    throw new MnemoError(
      "STORE_CORRUPT",
      `The store at ${dir} has a manifest but its records database ${STORE_FILES.records} is missing.`,
      { details: { path: dir } },
    );
  }

  let db: Db;
  try {
    db = new Database(dbPath, { timeout: 200 });
  } catch (e) {
    throw sqliteError(e, "open", dbPath);
  }
  try {
    let stored: {
      dims: StoreDimensions;
      identity: string | undefined;
      M: number;
      efC: number;
      efS: number;
    };
    try {
      db.pragma("locking_mode = EXCLUSIVE");
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      const hasMeta = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
        .get();
      if (hasMeta === undefined) {
        if (
          dbExisted &&
          db.prepare("SELECT count(*) AS n FROM sqlite_master").pluck().get() !== 0
        ) {
          throw new MnemoError(
            "STORE_CORRUPT",
            `${dbPath} is a SQLite database but not a mnemo store (no meta table).`,
            { details: { path: dbPath } },
          );
        }
        db.exec(SCHEMA);
        const set = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
        db.transaction(() => {
          set.run("format", MANIFEST_FORMAT);
          set.run("format_version", String(FORMAT_VERSION));
          set.run("space", "cosine");
          set.run("key_width", String(dims.keyWidth));
          set.run("value_width", String(dims.valueWidth));
          if (options.modelIdentity !== undefined) set.run("model_identity", options.modelIdentity);
          set.run("M", String(params.M));
          set.run("ef_construction", String(params.efConstruction));
          set.run("ef_search", String(params.efSearch));
          set.run("next_label", "0");
          set.run("generation", "0");
          set.run("created_at", new Date().toISOString());
        })();
      }
      const meta = new Map(
        (db.prepare("SELECT key, value FROM meta").all() as { key: string; value: string }[]).map(
          (r) => [r.key, r.value],
        ),
      );
      const num = (k: string) => {
        const v = Number(meta.get(k));
        if (!Number.isInteger(v) || v < 0) {
          throw new MnemoError(
            "STORE_CORRUPT",
            `The store's meta entry "${k}" is missing or malformed.`,
            {
              details: { path: dbPath, key: k },
            },
          );
        }
        return v;
      };
      if (meta.get("format") !== MANIFEST_FORMAT) {
        throw new MnemoError("STORE_CORRUPT", `${dbPath} is not a mnemo store-hnsw database.`, {
          details: { path: dbPath },
        });
      }
      if (num("format_version") > FORMAT_VERSION) {
        throw new MnemoError(
          "STORE_MISMATCH",
          `The store at ${dir} was written by a newer @mnemo/store-hnsw (format ${meta.get("format_version")}).`,
          { details: { path: dir } },
        );
      }
      stored = {
        dims: { keyWidth: num("key_width"), valueWidth: num("value_width") },
        identity: meta.get("model_identity"),
        M: num("M"),
        efC: num("ef_construction"),
        efS: num("ef_search"),
      };
      num("next_label");
      num("generation");
      // A write takes SQLite's exclusive lock, held until close: one store instance per directory.
      db.prepare(
        "INSERT INTO meta (key, value) VALUES ('opened_at', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(new Date().toISOString());
    } catch (e) {
      throw sqliteError(e, "open", dbPath);
    }

    if (
      manifest !== undefined &&
      (manifest.dimensions.keyWidth !== stored.dims.keyWidth ||
        manifest.dimensions.valueWidth !== stored.dims.valueWidth ||
        (manifest.modelIdentity ?? undefined) !== stored.identity)
    ) {
      throw new MnemoError(
        "STORE_CORRUPT",
        `The manifest and the records database of ${dir} disagree on the store's dimensions or model.`,
        { details: { path: dir } },
      );
    }
    if (
      stored.dims.keyWidth !== dims.keyWidth ||
      stored.dims.valueWidth !== dims.valueWidth ||
      (stored.identity !== undefined &&
        options.modelIdentity !== undefined &&
        stored.identity !== options.modelIdentity)
    ) {
      throw new MnemoError(
        "STORE_MISMATCH",
        `The store at ${dir} was made with ${describeMade(stored.dims, stored.identity)}; ` +
          `it was opened with ${describeMade(dims, options.modelIdentity)}. ` +
          "Open it with the model it was made with, or use another directory.",
        {
          details: {
            path: dir,
            stored: { ...stored.dims, modelIdentity: stored.identity ?? null },
            requested: { ...dims, modelIdentity: options.modelIdentity ?? null },
          },
        },
      );
    }

    const store = new HnswStore({
      db,
      dbPath,
      path: dir,
      dimensions: dims,
      modelIdentity: stored.identity,
      params: {
        ...params,
        M: stored.M,
        efConstruction: stored.efC,
        efSearch: options.efSearch ?? manifest?.efSearch ?? stored.efS,
      },
      savedIndex: manifest?.index ?? null,
    });
    await store.loadIndex(manifest);
    if (
      manifest === undefined ||
      store.info().dirty ||
      manifest.efSearch !== store.info().efSearch
    ) {
      await store.flushNow();
    }
    return store;
  } catch (e) {
    try {
      db.close();
    } catch {
      // ignore
    }
    throw e;
  }
}

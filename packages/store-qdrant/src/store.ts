import {
  type CheckedRecord,
  checkCount,
  checkIds,
  checkMetadata,
  checkNamespace,
  checkSearchRequest,
  checkUpsertBatch,
  describe,
  type ListOptions,
  type MemoryCandidate,
  type MemoryRecord,
  type MemoryStore,
  type Metadata,
  MnemoError,
  norm,
  type SearchOptions,
  type StoreDimensions,
  type StoredMemory,
} from "@mnemo/core";
import { QdrantClient, type Schemas } from "@qdrant/js-client-rest";
import { pointId } from "./ids.js";
import { type RetryPolicy, withRetries } from "./request.js";

/** Name of the dense, cosine, indexed vector holding a memory's key. */
export const KEY_VECTOR = "key";
/** Name of the multivector (`n × valueWidth`, not indexed: HNSW `m = 0`) holding a memory's value. */
export const VALUE_VECTOR = "value";

/**
 * Payload fields of a mnemo point. `namespace` (keyword index, `is_tenant`) and `id` are the
 * memory's identity, `metadata` holds its metadata object (filters use `metadata.<key>`), `text`
 * its text when given, and `key_norm` the Euclidean norm of the key as written (Qdrant stores
 * cosine vectors unit-normalised; reads multiply it back).
 */
export const PAYLOAD_FIELDS = {
  /** The memory's namespace. */
  namespace: "namespace",
  /** The memory's id (the point id is a UUIDv5 of namespace and id). */
  id: "id",
  /** The memory's text, when given. */
  text: "text",
  /** The memory's metadata object. */
  metadata: "metadata",
  /** Euclidean norm of the key as written. */
  keyNorm: "key_norm",
} as const;

/** Payload index types that {@link QdrantStoreOptions.metadataIndexes} can create. */
export type MetadataIndexType = "keyword" | "integer" | "float" | "bool";

/** Collection settings used when the store creates the collection (ignored when it exists). */
export interface QdrantCollectionOptions {
  /** Shards of the collection (cluster deployments). Default: the server's (1 standalone). */
  shardNumber?: number;
  /** Replicas of each shard (cluster deployments). Default: the server's (1). */
  replicationFactor?: number;
  /** Replicas that must apply a write before it succeeds. Default: the server's (1). */
  writeConsistencyFactor?: number;
  /** Keep payloads on disk (mmap) rather than in RAM. Default: the server's (true). */
  onDiskPayload?: boolean;
  /** Keep key vectors on disk (mmap). Default false (in RAM: faster search). */
  onDiskKeys?: boolean;
  /** Keep value vectors on disk (mmap). Default true: they are never searched, only returned. */
  onDiskValues?: boolean;
  /** HNSW graph parameters of the key vector (`m`, `efConstruct`). Default: the server's (16, 100). */
  hnsw?: {
    /** Links per node (Qdrant's `m`). */
    m?: number;
    /** Insert-time candidate list size (Qdrant's `ef_construct`). */
    efConstruct?: number;
  };
}

/** Options of {@link openQdrantStore}. */
export interface QdrantStoreOptions {
  /** Widths of keys and of one value vector; checked against an existing collection. */
  dimensions: StoreDimensions;
  /** Server URL, e.g. `http://127.0.0.1:6333` or `https://xyz.cloud.qdrant.io:6333`. Default `http://127.0.0.1:6333`. */
  url?: string;
  /** API key (Qdrant Cloud, or a self-hosted server with `service.api_key`); sent as the `api-key` header. */
  apiKey?: string;
  /** Extra HTTP headers for every request. */
  headers?: Record<string, string>;
  /** Collection name. Default `"mnemo"`. */
  collection?: string;
  /** Create the collection when it does not exist. Default true; when false a missing collection is `STORE_MISMATCH`. */
  createCollection?: boolean;
  /** Settings for a collection this store creates (shards, replication, on-disk storage, HNSW). */
  collectionConfig?: QdrantCollectionOptions;
  /**
   * Payload indexes to create on metadata keys (`metadata.<key>`), e.g. `{ topic: "keyword" }`.
   * Filters work without them; on large collections they make filtered search fast.
   */
  metadataIndexes?: Record<string, MetadataIndexType>;
  /** Time limit of one HTTP attempt in milliseconds. Default 10 000. */
  timeoutMs?: number;
  /** Retries after a failed attempt (timeouts, refused connections, 5xx, 429). Default 3. */
  retries?: number;
  /** First retry delay in milliseconds (doubles each retry, with jitter). Default 100. */
  backoffMs?: number;
  /** Longest retry delay in milliseconds. Default 2 000. */
  maxBackoffMs?: number;
  /** Points per upsert request (imports are split into batches of this size). Default 128. */
  batchSize?: number;
  /** Search parameters: `exact` brute force (default false: HNSW), `hnswEf` (default: the server's). */
  search?: {
    /** Search by exact brute force instead of HNSW. Default false. */
    exact?: boolean;
    /** HNSW query-time `ef`. Default: the server's. */
    hnswEf?: number;
  };
  /** Read consistency for clusters (`"majority"`, `"quorum"`, `"all"` or a replica count). Default: the server's. */
  readConsistency?: Schemas["ReadConsistency"];
  /** Write ordering for clusters (`"weak"`, `"medium"`, `"strong"`). Default: the server's (`weak`). */
  writeOrdering?: Schemas["WriteOrdering"];
}

/** Facts about an open store. */
export interface QdrantStoreInfo {
  /** Server URL. */
  url: string;
  /** Collection name. */
  collection: string;
  /** True when this store created the collection. */
  created: boolean;
}

const DEFAULTS = {
  url: "http://127.0.0.1:6333",
  collection: "mnemo",
  timeoutMs: 10_000,
  retries: 3,
  backoffMs: 100,
  maxBackoffMs: 2_000,
  batchSize: 128,
};

/** Scroll page size used by `list` when collecting ids. */
const SCROLL_PAGE = 1000;

type Api = ReturnType<QdrantClient["api"]>;
type Point = Schemas["PointStruct"];
type ReadPoint = Schemas["Record"] | Schemas["ScoredPoint"];
type Condition = Schemas["Condition"];

/** True for keys Qdrant's JSON path accepts unquoted. */
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The Qdrant JSON path of metadata key `key`: `metadata.key`, or `metadata."key"` for keys with
 * other characters. Keys containing `"` cannot be expressed in a Qdrant path.
 */
function metadataPath(key: string): string {
  if (PLAIN_KEY.test(key)) return `${PAYLOAD_FIELDS.metadata}.${key}`;
  if (key.length === 0 || key.includes('"')) {
    throw new MnemoError(
      "INVALID_OPTION",
      `The metadata key ${JSON.stringify(key)} cannot be used in a Qdrant filter (empty, or contains '"').`,
      { details: { key } },
    );
  }
  return `${PAYLOAD_FIELDS.metadata}."${key}"`;
}

/**
 * The Qdrant condition for `metadata[key] === value`: `match` for strings, booleans and safe
 * integers; a closed range `[v, v]` for other numbers (Qdrant matches only integers, strings and
 * booleans); `is_null` for `null` (true only when the key is present with the value `null`).
 */
function metadataCondition(key: string, value: Metadata[string]): Condition {
  const path = metadataPath(key);
  if (value === null) return { is_null: { key: path } };
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    return { key: path, range: { gte: value, lte: value } };
  }
  return { key: path, match: { value } };
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function rows(value: Float32Array, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < value.length; i += width) out.push(Array.from(value.subarray(i, i + width)));
  return out;
}

/**
 * mnemo's `MemoryStore` over a Qdrant server (REST, `@qdrant/js-client-rest`). Open it with
 * {@link openQdrantStore}.
 *
 * Layout: one collection holds every namespace. Each memory is one point with id
 * {@link pointId}`(namespace, id)` (UUIDv5), named vectors {@link KEY_VECTOR} (cosine, HNSW) and
 * {@link VALUE_VECTOR} (multivector, dot, not indexed), and the payload described by
 * {@link PAYLOAD_FIELDS}. Namespaces are a keyword payload index with `is_tenant: true`.
 *
 * Differences from the embedded store to know about:
 * - Keys come back rescaled from Qdrant's unit-normalised copy: equal to what was written within
 *   float32 rounding (relative error ~1e-7), not bit for bit. Values come back bit-exact.
 * - An upsert of more than `batchSize` memories is several requests; if one fails after retries,
 *   the earlier batches stay written (each batch is atomic). Upsert is idempotent, so calling it
 *   again completes the import.
 * - Scores are Qdrant's cosine similarities (float32), clamped to [-1, 1].
 */
export class QdrantStore implements MemoryStore {
  /** Widths this store accepts. */
  readonly dimensions: StoreDimensions;
  /** Server, collection and whether this store created it. */
  readonly info: QdrantStoreInfo;
  private readonly api: Api;
  private readonly policy: RetryPolicy;
  private readonly batchSize: number;
  private readonly searchParams: Schemas["SearchParams"] | undefined;
  private readonly readConsistency: Schemas["ReadConsistency"] | undefined;
  private readonly writeOrdering: Schemas["WriteOrdering"] | undefined;
  private closed = false;

  /** Use {@link openQdrantStore}, which creates or validates the collection first. */
  constructor(
    api: Api,
    dimensions: StoreDimensions,
    info: QdrantStoreInfo,
    policy: RetryPolicy,
    options: Pick<
      QdrantStoreOptions,
      "batchSize" | "search" | "readConsistency" | "writeOrdering"
    > = {},
  ) {
    this.api = api;
    this.dimensions = { keyWidth: dimensions.keyWidth, valueWidth: dimensions.valueWidth };
    this.info = info;
    this.policy = policy;
    this.batchSize = options.batchSize ?? DEFAULTS.batchSize;
    const s = options.search;
    this.searchParams =
      s === undefined || (s.exact === undefined && s.hnswEf === undefined)
        ? undefined
        : {
            ...(s.exact === undefined ? {} : { exact: s.exact }),
            ...(s.hnswEf === undefined ? {} : { hnsw_ef: s.hnswEf }),
          };
    this.readConsistency = options.readConsistency;
    this.writeOrdering = options.writeOrdering;
  }

  /**
   * Inserts or replaces memories by `(namespace, id)`, in requests of `batchSize` points, each
   * with `wait=true` (read-your-writes). Within one call the last record for a given
   * `(namespace, id)` wins. Every record is validated before the first request.
   * @throws MnemoError `INVALID_INPUT`, `DIMENSION_MISMATCH`, `NON_FINITE_VECTOR`, `DISPOSED`,
   *   `STORE_UNAVAILABLE`, `STORE_TIMEOUT`, `STORE_FAILURE`
   */
  async upsert(memories: readonly MemoryRecord[]): Promise<void> {
    this.assertOpen();
    const records = checkUpsertBatch(memories, this.dimensions);
    if (records.length === 0) return;
    const points = records.map((r) => this.toPoint(pointId(r.namespace, r.id), r));
    for (let i = 0; i < points.length; i += this.batchSize) {
      const batch = points.slice(i, i + this.batchSize);
      await this.call("upsert", (init) =>
        this.api.upsertPoints(
          {
            collection_name: this.info.collection,
            wait: true,
            ordering: this.writeOrdering,
            points: batch,
          },
          init,
        ),
      );
    }
  }

  /**
   * Reads memories by id in one namespace (default `"default"`); a missing id gives `undefined`
   * at its position.
   * @throws MnemoError `INVALID_INPUT`, `DISPOSED`, `STORE_CORRUPT`, `STORE_UNAVAILABLE`,
   *   `STORE_TIMEOUT`, `STORE_FAILURE`
   */
  async get(ids: readonly string[], namespace?: string): Promise<(StoredMemory | undefined)[]> {
    this.assertOpen();
    const list = checkIds(ids);
    const ns = checkNamespace(namespace);
    if (list.length === 0) return [];
    const found = await this.retrieve(list, ns, true);
    return list.map((id) => found.get(id));
  }

  /**
   * Deletes memories by id in one namespace; returns how many existed (read just before the
   * delete, which waits for the write).
   * @throws MnemoError `INVALID_INPUT`, `DISPOSED`, `STORE_UNAVAILABLE`, `STORE_TIMEOUT`,
   *   `STORE_FAILURE`
   */
  async delete(ids: readonly string[], namespace?: string): Promise<number> {
    this.assertOpen();
    const list = [...new Set(checkIds(ids))];
    const ns = checkNamespace(namespace);
    if (list.length === 0) return 0;
    const found = await this.retrieve(list, ns, false);
    if (found.size === 0) return 0;
    const points = [...found.keys()].map((id) => pointId(ns, id));
    await this.call("delete", (init) =>
      this.api.deletePoints(
        {
          collection_name: this.info.collection,
          wait: true,
          ordering: this.writeOrdering,
          points,
        },
        init,
      ),
    );
    return found.size;
  }

  /**
   * Counts memories in a namespace, or in the whole collection when `namespace` is `undefined`
   * (exact count).
   * @throws MnemoError `INVALID_INPUT`, `DISPOSED`, `STORE_*`
   */
  async count(namespace?: string): Promise<number> {
    this.assertOpen();
    const filter =
      namespace === undefined ? undefined : { must: [this.nsCondition(checkNamespace(namespace))] };
    const res = await this.call("count", (init) =>
      this.api.countPoints(
        { collection_name: this.info.collection, exact: true, ...(filter ? { filter } : {}) },
        init,
      ),
    );
    return res.count;
  }

  /**
   * Lists memories of one namespace (default `"default"`) ordered by id (UTF-8 byte order, like
   * the embedded store), after the metadata `filter`; `limit` default 100, `offset` default 0.
   * Cost: scrolls the ids (payload field `id` only) of every matching memory, then fetches the
   * `limit` requested ones — O(matching) ids per call.
   * @throws MnemoError `INVALID_OPTION`, `DISPOSED`, `STORE_CORRUPT`, `STORE_*`
   */
  async list(options: ListOptions = {}): Promise<StoredMemory[]> {
    this.assertOpen();
    if (typeof options !== "object" || options === null) {
      throw new MnemoError("INVALID_OPTION", "list options must be an object.");
    }
    const ns = checkNamespace(options.namespace, "INVALID_OPTION");
    const filter = this.filterFor(ns, options.filter);
    const limit = checkCount(options.limit, "limit", 100);
    const offset = checkCount(options.offset, "offset", 0);
    if (limit === 0) return [];
    const ids: string[] = [];
    let next: Schemas["ExtendedPointId"] | null | undefined;
    do {
      const page = await this.call("list", (init) =>
        this.api.scrollPoints(
          {
            collection_name: this.info.collection,
            consistency: this.readConsistency,
            filter,
            limit: SCROLL_PAGE,
            with_payload: [PAYLOAD_FIELDS.id],
            with_vector: false,
            ...(next === undefined || next === null ? {} : { offset: next }),
          },
          init,
        ),
      );
      for (const p of page.points) {
        const id = (p.payload as Record<string, unknown> | null | undefined)?.[PAYLOAD_FIELDS.id];
        if (typeof id === "string") ids.push(id);
      }
      next = page.next_page_offset as Schemas["ExtendedPointId"] | null | undefined;
    } while (next !== undefined && next !== null);
    ids.sort(utf8Compare);
    const wanted = ids.slice(offset, offset + limit);
    if (wanted.length === 0) return [];
    const found = await this.retrieve(wanted, ns, true);
    const out: StoredMemory[] = [];
    for (const id of wanted) {
      const m = found.get(id);
      if (m !== undefined) out.push(m);
    }
    return out;
  }

  /**
   * Names of the namespaces holding at least one memory, sorted (JavaScript string order). Uses
   * Qdrant's exact facet counts on the `namespace` payload index.
   * @throws MnemoError `DISPOSED`, `STORE_*`
   */
  async namespaces(): Promise<string[]> {
    this.assertOpen();
    for (let limit = 1000; ; limit *= 10) {
      const res = await this.call("namespaces", (init) =>
        this.api.facet(
          {
            collection_name: this.info.collection,
            consistency: this.readConsistency,
            key: PAYLOAD_FIELDS.namespace,
            exact: true,
            limit,
          },
          init,
        ),
      );
      if (res.hits.length < limit) {
        return res.hits
          .filter((h) => h.count > 0 && typeof h.value === "string")
          .map((h) => h.value as string)
          .sort();
      }
    }
  }

  /**
   * The `topK` memories of one namespace whose keys are most cosine-similar to `query`, best
   * first (ties by id), from Qdrant's query API on the {@link KEY_VECTOR} vector with the
   * namespace and metadata filter. Scores are Qdrant's cosine similarities. An empty or unknown
   * namespace gives `[]`. Firing `options.signal` cancels the HTTP request.
   * @param query `keyWidth` finite numbers, not all zero
   * @throws MnemoError `DIMENSION_MISMATCH`, `NON_FINITE_VECTOR`, `INVALID_INPUT` (zero query),
   *   `INVALID_OPTION` (`topK` not an integer ≥ 1, bad namespace/filter), `ABORTED`, `DISPOSED`,
   *   `STORE_CORRUPT`, `STORE_UNAVAILABLE`, `STORE_TIMEOUT`, `STORE_FAILURE`
   */
  async search(query: Float32Array, options: SearchOptions): Promise<MemoryCandidate[]> {
    this.assertOpen();
    const {
      query: q,
      topK,
      namespace: ns,
    } = checkSearchRequest(query, options, this.dimensions.keyWidth);
    const filter = this.filterFor(ns, options.filter);
    const res = await this.call(
      "search",
      (init) =>
        this.api.queryPoints(
          {
            collection_name: this.info.collection,
            consistency: this.readConsistency,
            query: Array.from(q),
            using: KEY_VECTOR,
            filter,
            limit: topK,
            with_payload: true,
            with_vector: true,
            ...(this.searchParams ? { params: this.searchParams } : {}),
          },
          init,
        ),
      options.signal,
    );
    const out: MemoryCandidate[] = res.points.map((p) => ({
      memory: this.toMemory(p, ns),
      score: Math.max(-1, Math.min(1, p.score)),
    }));
    out.sort(
      (a, b) =>
        b.score - a.score || (a.memory.id < b.memory.id ? -1 : a.memory.id > b.memory.id ? 1 : 0),
    );
    return out;
  }

  /** Marks the store closed (later calls throw `DISPOSED`). Nothing is buffered: every write waited. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) {
      throw new MnemoError("DISPOSED", "This store has been closed; open it again to use it.");
    }
  }

  private call<T>(
    what: string,
    fn: (init: { signal: AbortSignal }) => Promise<{ data: { result?: T } }>,
    signal?: AbortSignal,
  ): Promise<T> {
    const desc = `${what} on collection "${this.info.collection}"`;
    return withRetries(
      this.policy,
      desc,
      async (init) => {
        const res = await fn(init);
        if (res.data.result === undefined) {
          throw new MnemoError("STORE_FAILURE", `Qdrant ${desc} returned no result.`);
        }
        return res.data.result;
      },
      signal,
    );
  }

  private nsCondition(ns: string): Condition {
    return { key: PAYLOAD_FIELDS.namespace, match: { value: ns } };
  }

  private filterFor(ns: string, filter: unknown): Schemas["Filter"] {
    const f = checkMetadata(filter, "filter", "INVALID_OPTION");
    const must: Condition[] = [this.nsCondition(ns)];
    for (const [k, v] of Object.entries(f)) must.push(metadataCondition(k, v));
    return { must };
  }

  /** Fetches memories `(ns, id)` by point id; the map holds those found. */
  private async retrieve(
    ids: readonly string[],
    ns: string,
    full: boolean,
  ): Promise<Map<string, StoredMemory>> {
    const unique = [...new Set(ids)];
    const points = await this.call("get", (init) =>
      this.api.getPoints(
        {
          collection_name: this.info.collection,
          consistency: this.readConsistency,
          ids: unique.map((id) => pointId(ns, id)),
          with_payload: full ? true : [PAYLOAD_FIELDS.namespace, PAYLOAD_FIELDS.id],
          with_vector: full,
        },
        init,
      ),
    );
    const out = new Map<string, StoredMemory>();
    for (const p of points) {
      const payload = (p.payload ?? {}) as Record<string, unknown>;
      const id = payload[PAYLOAD_FIELDS.id];
      if (payload[PAYLOAD_FIELDS.namespace] !== ns || typeof id !== "string") {
        throw this.corrupt(p, "its payload's namespace/id do not match its point id");
      }
      if (full) out.set(id, this.toMemory(p, ns));
      else
        out.set(id, {
          id,
          namespace: ns,
          key: new Float32Array(),
          value: new Float32Array(),
          metadata: {},
        });
    }
    return out;
  }

  private toPoint(id: string, r: CheckedRecord): Point {
    const payload: Record<string, unknown> = {
      [PAYLOAD_FIELDS.namespace]: r.namespace,
      [PAYLOAD_FIELDS.id]: r.id,
      [PAYLOAD_FIELDS.metadata]: r.metadata,
      [PAYLOAD_FIELDS.keyNorm]: norm(r.key),
    };
    if (r.text !== null) payload[PAYLOAD_FIELDS.text] = r.text;
    return {
      id,
      vector: {
        [KEY_VECTOR]: Array.from(r.key),
        [VALUE_VECTOR]: rows(r.value, this.dimensions.valueWidth),
      },
      payload,
    };
  }

  private corrupt(p: ReadPoint, why: string): MnemoError {
    return new MnemoError(
      "STORE_CORRUPT",
      `Point ${String(p.id)} in collection "${this.info.collection}" is not a mnemo memory: ${why}.`,
      { details: { pointId: p.id, collection: this.info.collection } },
    );
  }

  private toMemory(p: ReadPoint, ns: string): StoredMemory {
    const payload = (p.payload ?? {}) as Record<string, unknown>;
    const id = payload[PAYLOAD_FIELDS.id];
    if (typeof id !== "string" || payload[PAYLOAD_FIELDS.namespace] !== ns) {
      throw this.corrupt(p, "its payload has no matching namespace/id");
    }
    const vectors = p.vector as Record<string, unknown> | null | undefined;
    const key = vectors?.[KEY_VECTOR];
    const value = vectors?.[VALUE_VECTOR];
    const { keyWidth, valueWidth } = this.dimensions;
    if (!Array.isArray(key) || key.length !== keyWidth) {
      throw this.corrupt(p, `its "${KEY_VECTOR}" vector is missing or not ${keyWidth} wide`);
    }
    if (
      !Array.isArray(value) ||
      value.length === 0 ||
      !value.every((row) => Array.isArray(row) && row.length === valueWidth)
    ) {
      throw this.corrupt(
        p,
        `its "${VALUE_VECTOR}" multivector is missing or not ${valueWidth} wide`,
      );
    }
    const keyNorm = payload[PAYLOAD_FIELDS.keyNorm];
    const scale = typeof keyNorm === "number" && keyNorm > 0 ? keyNorm : 1;
    const k = new Float32Array(keyWidth);
    for (let i = 0; i < keyWidth; i++) k[i] = (key[i] as number) * scale;
    const v = new Float32Array(value.length * valueWidth);
    value.forEach((row: number[], r) => {
      v.set(row, r * valueWidth);
    });
    const metadata = payload[PAYLOAD_FIELDS.metadata];
    const m: StoredMemory = {
      id,
      namespace: ns,
      key: k,
      value: v,
      metadata:
        typeof metadata === "object" && metadata !== null && !Array.isArray(metadata)
          ? { ...(metadata as Metadata) }
          : {},
    };
    const text = payload[PAYLOAD_FIELDS.text];
    if (typeof text === "string") m.text = text;
    return m;
  }
}

function checkPositiveInt(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new MnemoError(
      "INVALID_OPTION",
      `The option ${name} must be an integer ≥ ${min}; got ${describe(value)}.`,
      { details: { option: name } },
    );
  }
  return value;
}

type VectorParams = Schemas["VectorParams"];

function mismatch(collection: string, why: string, details: Record<string, unknown>): MnemoError {
  return new MnemoError(
    "STORE_MISMATCH",
    `The Qdrant collection "${collection}" does not fit this store: ${why}. ` +
      "Use another collection name, or delete the collection if its data is no longer needed.",
    { details: { collection, ...details } },
  );
}

/** Checks an existing collection's vectors against the store's widths (see {@link openQdrantStore}). */
function checkCollection(
  collection: string,
  info: Schemas["CollectionInfo"],
  dims: StoreDimensions,
): void {
  const vectors = info.config.params.vectors as
    | VectorParams
    | Record<string, VectorParams>
    | undefined;
  if (vectors === undefined || typeof (vectors as VectorParams).size === "number") {
    throw mismatch(
      collection,
      `it has a single unnamed vector, not the named vectors "${KEY_VECTOR}" and "${VALUE_VECTOR}"`,
      { vectors },
    );
  }
  const named = vectors as Record<string, VectorParams>;
  const key = named[KEY_VECTOR];
  const value = named[VALUE_VECTOR];
  if (key === undefined || value === undefined) {
    throw mismatch(
      collection,
      `it has vectors ${JSON.stringify(Object.keys(named))}, not "${KEY_VECTOR}" and "${VALUE_VECTOR}"`,
      { vectors: Object.keys(named) },
    );
  }
  if (key.size !== dims.keyWidth) {
    throw mismatch(
      collection,
      `its "${KEY_VECTOR}" vectors have size ${key.size}, but this store's keyWidth is ${dims.keyWidth}`,
      { expected: dims.keyWidth, actual: key.size, vector: KEY_VECTOR },
    );
  }
  if (key.distance !== "Cosine" || key.multivector_config) {
    throw mismatch(
      collection,
      `its "${KEY_VECTOR}" vectors use ${key.distance} distance${key.multivector_config ? " as a multivector" : ""}, but mnemo searches by cosine similarity`,
      { expected: "Cosine", actual: key.distance, vector: KEY_VECTOR },
    );
  }
  if (value.size !== dims.valueWidth) {
    throw mismatch(
      collection,
      `its "${VALUE_VECTOR}" vectors have size ${value.size}, but this store's valueWidth is ${dims.valueWidth}`,
      { expected: dims.valueWidth, actual: value.size, vector: VALUE_VECTOR },
    );
  }
  if (!value.multivector_config || value.distance === "Cosine") {
    throw mismatch(
      collection,
      `its "${VALUE_VECTOR}" vector must be a multivector with a distance that does not normalise (Dot), not ${value.distance}${value.multivector_config ? "" : " single vector"}`,
      { vector: VALUE_VECTOR, distance: value.distance },
    );
  }
}

/**
 * Connects to a Qdrant server and opens (creating it if needed) the collection of a mnemo store.
 *
 * A new collection gets named vectors {@link KEY_VECTOR} (`keyWidth`, Cosine, HNSW) and
 * {@link VALUE_VECTOR} (`valueWidth`, Dot multivector, HNSW disabled with `m = 0`, on disk by
 * default), a keyword payload index on `namespace` (`is_tenant: true`), and the requested
 * metadata indexes. An existing collection is checked: vector names, sizes and distances must
 * match, or the open fails with `STORE_MISMATCH`; missing payload indexes are created.
 *
 * ```ts
 * const store = await openQdrantStore({
 *   url: "https://xyz.eu-central.aws.cloud.qdrant.io:6333",
 *   apiKey: process.env.QDRANT_API_KEY,
 *   dimensions: { keyWidth: 640, valueWidth: 640 },
 * });
 * ```
 * @throws MnemoError `INVALID_OPTION` (bad options), `STORE_MISMATCH` (collection with other
 *   vectors/sizes/distances, or missing with `createCollection: false`), `STORE_UNAVAILABLE`,
 *   `STORE_TIMEOUT`, `STORE_FAILURE`
 */
export async function openQdrantStore(options: QdrantStoreOptions): Promise<QdrantStore> {
  if (typeof options !== "object" || options === null) {
    throw new MnemoError("INVALID_OPTION", "openQdrantStore needs an options object.");
  }
  const dims = options.dimensions;
  if (typeof dims !== "object" || dims === null) {
    throw new MnemoError(
      "INVALID_OPTION",
      "The option dimensions ({ keyWidth, valueWidth }) is required.",
    );
  }
  const keyWidth = checkPositiveInt(dims.keyWidth, "dimensions.keyWidth", Number.NaN);
  const valueWidth = checkPositiveInt(dims.valueWidth, "dimensions.valueWidth", Number.NaN);
  const url = options.url ?? DEFAULTS.url;
  if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
    throw new MnemoError(
      "INVALID_OPTION",
      `The option url must start with http:// or https://; got ${describe(url)}.`,
    );
  }
  const collection = options.collection ?? DEFAULTS.collection;
  if (typeof collection !== "string" || !/^[A-Za-z0-9_.-]{1,255}$/.test(collection)) {
    throw new MnemoError(
      "INVALID_OPTION",
      `The option collection must be 1-255 characters of letters, digits, "_", "-" or "."; got ${describe(collection)}.`,
    );
  }
  const policy: RetryPolicy = {
    timeoutMs: checkPositiveInt(options.timeoutMs, "timeoutMs", DEFAULTS.timeoutMs),
    retries: checkPositiveInt(options.retries, "retries", DEFAULTS.retries, 0),
    backoffMs: checkPositiveInt(options.backoffMs, "backoffMs", DEFAULTS.backoffMs, 0),
    maxBackoffMs: checkPositiveInt(options.maxBackoffMs, "maxBackoffMs", DEFAULTS.maxBackoffMs, 0),
  };
  const batchSize = checkPositiveInt(options.batchSize, "batchSize", DEFAULTS.batchSize);
  const indexes = options.metadataIndexes ?? {};
  for (const [k, t] of Object.entries(indexes)) {
    metadataPath(k);
    if (!["keyword", "integer", "float", "bool"].includes(t)) {
      throw new MnemoError(
        "INVALID_OPTION",
        `metadataIndexes.${k} must be "keyword", "integer", "float" or "bool"; got ${describe(t)}.`,
      );
    }
  }

  const client = new QdrantClient({
    url,
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    // Timeouts and cancellation are ours (one AbortSignal per attempt): the client's own timeout
    // would replace the caller's signal.
    timeout: Number.POSITIVE_INFINITY,
    checkCompatibility: false,
  });
  const api = client.api();
  const call = <T>(
    what: string,
    fn: (init: { signal: AbortSignal }) => Promise<{ data: { result?: T } }>,
  ) =>
    withRetries(policy, `${what} of collection "${collection}"`, async (init) => {
      const res = await fn(init);
      if (res.data.result === undefined) {
        throw new MnemoError("STORE_FAILURE", `Qdrant ${what} returned no result.`);
      }
      return res.data.result;
    });

  let created = false;
  const exists = await call("existence check", (init) =>
    api.collectionExists({ collection_name: collection }, init),
  );
  if (!exists.exists) {
    if (options.createCollection === false) {
      throw mismatch(collection, "it does not exist and createCollection is false", {});
    }
    const cfg = options.collectionConfig ?? {};
    const hnsw = cfg.hnsw ?? {};
    try {
      await call("creation", (init) =>
        api.createCollection(
          {
            collection_name: collection,
            vectors: {
              [KEY_VECTOR]: {
                size: keyWidth,
                distance: "Cosine",
                ...(cfg.onDiskKeys === undefined ? {} : { on_disk: cfg.onDiskKeys }),
                ...(hnsw.m === undefined && hnsw.efConstruct === undefined
                  ? {}
                  : {
                      hnsw_config: {
                        ...(hnsw.m === undefined ? {} : { m: hnsw.m }),
                        ...(hnsw.efConstruct === undefined
                          ? {}
                          : { ef_construct: hnsw.efConstruct }),
                      },
                    }),
              },
              [VALUE_VECTOR]: {
                size: valueWidth,
                distance: "Dot",
                multivector_config: { comparator: "max_sim" },
                hnsw_config: { m: 0 },
                on_disk: cfg.onDiskValues ?? true,
              },
            },
            ...(cfg.shardNumber === undefined ? {} : { shard_number: cfg.shardNumber }),
            ...(cfg.replicationFactor === undefined
              ? {}
              : { replication_factor: cfg.replicationFactor }),
            ...(cfg.writeConsistencyFactor === undefined
              ? {}
              : { write_consistency_factor: cfg.writeConsistencyFactor }),
            ...(cfg.onDiskPayload === undefined ? {} : { on_disk_payload: cfg.onDiskPayload }),
          },
          init,
        ),
      );
      created = true;
    } catch (e) {
      // Another process may have created it at the same moment (HTTP 409): validate theirs.
      if (!(e instanceof MnemoError) || e.details.status !== 409) throw e;
    }
  }
  const info = await call("read", (init) =>
    api.getCollection({ collection_name: collection }, init),
  );
  checkCollection(collection, info, { keyWidth, valueWidth });

  const wanted: [string, Schemas["PayloadFieldSchema"]][] = [
    [PAYLOAD_FIELDS.namespace, { type: "keyword", is_tenant: true }],
    ...Object.entries(indexes).map(
      ([k, t]) => [metadataPath(k), t] as [string, Schemas["PayloadFieldSchema"]],
    ),
  ];
  for (const [field, schema] of wanted) {
    if (info.payload_schema[field] !== undefined) continue;
    await call("payload index creation", (init) =>
      api.createFieldIndex(
        { collection_name: collection, wait: true, field_name: field, field_schema: schema },
        init,
      ),
    );
  }

  return new QdrantStore(api, { keyWidth, valueWidth }, { url, collection, created }, policy, {
    batchSize,
    ...(options.search === undefined ? {} : { search: options.search }),
    ...(options.readConsistency === undefined ? {} : { readConsistency: options.readConsistency }),
    ...(options.writeOrdering === undefined ? {} : { writeOrdering: options.writeOrdering }),
  });
}

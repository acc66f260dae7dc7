/**
 * A REFERENCE implementation of the `MemoryStore` contract: an in-memory exact brute-force search
 * in float64. It exists to be the expected side of comparisons (`describeCrossEngine`) and to
 * prove the store suite passable; it is not meant for production (linear search, no persistence).
 */
import {
  checkId,
  checkMetadata,
  checkNamespace,
  checkVector,
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
import { referenceCosine } from "./reference.js";

function copy(m: StoredMemory): StoredMemory {
  return {
    ...m,
    key: m.key.slice(),
    value: m.value.slice(),
    metadata: { ...m.metadata },
  };
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Reference {@link MemoryStore}: exact float64 cosine brute force over a `Map`, validation by
 * `@mnemo/core`'s shared helpers. Use it as the expected side of a comparison, never as a store to
 * ship. Create it with {@link createReferenceStore}.
 */
export class ReferenceMemoryStore implements MemoryStore {
  /** Widths this store accepts. */
  readonly dimensions: StoreDimensions;
  private readonly spaces = new Map<string, Map<string, StoredMemory>>();
  private closed = false;

  /** @param dimensions key and value widths */
  constructor(dimensions: StoreDimensions) {
    this.dimensions = { keyWidth: dimensions.keyWidth, valueWidth: dimensions.valueWidth };
  }

  private alive(): void {
    if (this.closed) throw new MnemoError("DISPOSED", "This reference store has been closed.");
  }

  /** Validates the whole batch, then writes it (all-or-nothing). */
  async upsert(memories: readonly MemoryRecord[]): Promise<void> {
    this.alive();
    if (!Array.isArray(memories))
      throw new MnemoError("INVALID_INPUT", "upsert takes an array of memories.");
    const checked = memories.map((m): StoredMemory => {
      const id = checkId(m?.id);
      const key = checkVector(m.key, this.dimensions.keyWidth, `key of memory "${id}"`);
      if (key.every((v) => v === 0))
        throw new MnemoError("INVALID_INPUT", `The key of memory "${id}" is all zeros.`);
      const value = checkVector(
        m.value,
        this.dimensions.valueWidth,
        `value of memory "${id}"`,
        "any",
      );
      if (m.text !== undefined && typeof m.text !== "string")
        throw new MnemoError("INVALID_INPUT", `The text of memory "${id}" must be a string.`);
      return {
        id,
        namespace: checkNamespace(m.namespace),
        key: Float32Array.from(key),
        value: Float32Array.from(value),
        metadata: checkMetadata(m.metadata, `metadata of memory "${id}"`),
        ...(m.text === undefined ? {} : { text: m.text }),
      };
    });
    for (const m of checked) {
      let space = this.spaces.get(m.namespace);
      if (!space) {
        space = new Map();
        this.spaces.set(m.namespace, space);
      }
      space.set(m.id, m);
    }
  }

  /** Reads memories by id; missing ids give `undefined`. */
  async get(ids: readonly string[], namespace?: string): Promise<(StoredMemory | undefined)[]> {
    this.alive();
    const space = this.spaces.get(checkNamespace(namespace));
    return ids.map((id) => {
      const m = space?.get(checkId(id));
      return m && copy(m);
    });
  }

  /** Deletes by id; returns how many existed. */
  async delete(ids: readonly string[], namespace?: string): Promise<number> {
    this.alive();
    const ns = checkNamespace(namespace);
    const space = this.spaces.get(ns);
    let n = 0;
    for (const id of ids.map((i) => checkId(i))) if (space?.delete(id)) n++;
    if (space?.size === 0) this.spaces.delete(ns);
    return n;
  }

  /** Counts one namespace, or all of them. */
  async count(namespace?: string): Promise<number> {
    this.alive();
    if (namespace === undefined) {
      let n = 0;
      for (const s of this.spaces.values()) n += s.size;
      return n;
    }
    return this.spaces.get(checkNamespace(namespace))?.size ?? 0;
  }

  /** Lists one namespace ordered by id, after the filter. */
  async list(options: ListOptions = {}): Promise<StoredMemory[]> {
    this.alive();
    const space = this.spaces.get(checkNamespace(options.namespace, "INVALID_OPTION"));
    const filter = this.filter(options.filter);
    const all = [...(space?.values() ?? [])]
      .filter((m) => matchesFilter(m.metadata, filter))
      .sort(byId);
    const offset = options.offset ?? 0;
    return all.slice(offset, offset + (options.limit ?? 100)).map(copy);
  }

  /** Namespaces holding at least one memory, sorted. */
  async namespaces(): Promise<string[]> {
    this.alive();
    return [...this.spaces.keys()].sort();
  }

  /** Exact top-k by float64 cosine similarity, best first, ties by id. */
  async search(query: Float32Array, options: SearchOptions): Promise<MemoryCandidate[]> {
    this.alive();
    const topK = options?.topK;
    if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1)
      throw new MnemoError("INVALID_OPTION", `topK must be an integer ≥ 1; got ${String(topK)}.`);
    const space = this.spaces.get(checkNamespace(options.namespace, "INVALID_OPTION"));
    const filter = this.filter(options.filter);
    throwIfAborted(options.signal);
    const q = checkVector(query, this.dimensions.keyWidth, "search query");
    if (q.every((v) => v === 0))
      throw new MnemoError("INVALID_INPUT", "The search query is all zeros (no direction).");
    return [...(space?.values() ?? [])]
      .filter((m) => matchesFilter(m.metadata, filter))
      .map((m) => ({ memory: m, score: referenceCosine(q, m.key) }))
      .sort((a, b) => b.score - a.score || byId(a.memory, b.memory))
      .slice(0, topK)
      .map((c) => ({ memory: copy(c.memory), score: c.score }));
  }

  /** Closes the store (idempotent); memories are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    this.spaces.clear();
  }

  private filter(filter: Metadata | undefined): Metadata | undefined {
    return filter === undefined ? undefined : checkMetadata(filter, "filter", "INVALID_OPTION");
  }
}

/**
 * Opens a {@link ReferenceMemoryStore} — the REFERENCE implementation, for the expected side of
 * comparisons only. Matches the {@link StoreFactory} shape.
 * @param options `dimensions` (the location is ignored: the store is in memory)
 */
export async function createReferenceStore(options: {
  dimensions: StoreDimensions;
}): Promise<ReferenceMemoryStore> {
  return new ReferenceMemoryStore(options.dimensions);
}

/**
 * Validation shared by every memory store, so that all stores accept and refuse the same inputs:
 * ids and namespaces are non-empty strings of at most 512 UTF-16 code units; metadata values are
 * strings, finite numbers, booleans or `null`; a filter matches when every key is present with an
 * equal value (`null` matches only a stored `null`).
 */
import { MnemoError, type MnemoErrorCode, throwIfAborted } from "./errors.js";
import {
  DEFAULT_NAMESPACE,
  type Metadata,
  type MetadataValue,
  type StoreDimensions,
} from "./store.js";
import { checkVector, norm } from "./vectors.js";

/** Longest accepted memory id, in UTF-16 code units (the core contract's limit). */
export const MAX_ID_LENGTH = 512;
/** Longest accepted namespace name, in UTF-16 code units. */
export const MAX_NAMESPACE_LENGTH = 512;

/** Throws `code` unless `id` is a non-empty string of at most {@link MAX_ID_LENGTH} characters. */
export function checkId(id: unknown, code: MnemoErrorCode = "INVALID_INPUT"): string {
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new MnemoError(
      code,
      `A memory id must be a non-empty string of at most ${MAX_ID_LENGTH} characters; got ${describe(id)}.`,
      { details: { id: typeof id === "string" ? id.slice(0, 64) : typeof id } },
    );
  }
  return id;
}

/** Returns the namespace (default {@link DEFAULT_NAMESPACE}) or throws `code` if it is malformed. */
export function checkNamespace(ns: unknown, code: MnemoErrorCode = "INVALID_INPUT"): string {
  if (ns === undefined) return DEFAULT_NAMESPACE;
  if (typeof ns !== "string" || ns.length === 0 || ns.length > MAX_NAMESPACE_LENGTH) {
    throw new MnemoError(
      code,
      `A namespace must be a non-empty string of at most ${MAX_NAMESPACE_LENGTH} characters; got ${describe(ns)}.`,
      { details: { namespace: typeof ns === "string" ? ns.slice(0, 64) : typeof ns } },
    );
  }
  return ns;
}

/** True for a plain object (not an array, not a class instance, not null). */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isMetadataValue(v: unknown): v is MetadataValue {
  return (
    v === null ||
    typeof v === "string" ||
    typeof v === "boolean" ||
    (typeof v === "number" && Number.isFinite(v))
  );
}

/**
 * Checks metadata (or a metadata filter): a plain object whose values are strings, finite
 * numbers, booleans or `null`. Returns a shallow copy; `undefined` gives `{}`.
 */
export function checkMetadata(
  metadata: unknown,
  what: string,
  code: MnemoErrorCode = "INVALID_INPUT",
): Metadata {
  if (metadata === undefined) return {};
  if (!isPlainObject(metadata)) {
    throw new MnemoError(code, `The ${what} must be a plain object; got ${describe(metadata)}.`, {
      details: { what },
    });
  }
  const out: Metadata = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (!isMetadataValue(v)) {
      throw new MnemoError(
        code,
        `The ${what} value for "${k}" must be a string, a finite number, a boolean or null; got ${describe(v)}.`,
        { details: { what, key: k } },
      );
    }
    out[k] = v;
  }
  return out;
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "object") {
    const name = (v as object).constructor?.name;
    return !name || name === "Object" ? "an object" : `a ${name}`;
  }
  return typeof v;
}
/** True when `metadata` has every `filter` key with an equal value. */
export function matchesFilter(metadata: Metadata, filter: Metadata | undefined): boolean {
  if (filter === undefined) return true;
  for (const k in filter) {
    if (!Object.hasOwn(metadata, k) || metadata[k] !== filter[k]) return false;
  }
  return true;
}

/** A validated record ready to be written. */
export interface CheckedRecord {
  /** The namespace (default applied). */
  namespace: string;
  /** The memory id. */
  id: string;
  /** The key, `keyWidth` long. */
  key: Float32Array;
  /** The value rows, flattened: `n × valueWidth` long. */
  value: Float32Array;
  /** The memory text, or `null` if none was given. */
  text: string | null;
  /** The validated metadata. */
  metadata: Metadata;
}

/** Validates one record of an upsert batch; `index` is its position (for messages). */
export function checkRecord(record: unknown, dims: StoreDimensions, index: number): CheckedRecord {
  if (typeof record !== "object" || record === null) {
    throw new MnemoError("INVALID_INPUT", `Memory #${index} must be an object.`, {
      details: { index },
    });
  }
  const r = record as Record<string, unknown>;
  const id = checkId(r.id);
  const namespace = checkNamespace(r.namespace);
  const key = checkVector(r.key, dims.keyWidth, `key of memory "${id}"`);
  if (norm(key) === 0) {
    throw new MnemoError(
      "INVALID_INPUT",
      `The key of memory "${id}" is all zeros; it has no direction, so cosine similarity is undefined.`,
      { details: { id, namespace } },
    );
  }
  const value = checkVector(r.value, dims.valueWidth, `value of memory "${id}"`, "any");
  if (r.text !== undefined && typeof r.text !== "string") {
    throw new MnemoError(
      "INVALID_INPUT",
      `The text of memory "${id}" must be a string; got ${describe(r.text)}.`,
      {
        details: { id, namespace },
      },
    );
  }
  const metadata = checkMetadata(r.metadata, `metadata of memory "${id}"`);
  return {
    namespace,
    id,
    key: Float32Array.from(key),
    value: Float32Array.from(value),
    text: r.text === undefined ? null : r.text,
    metadata,
  };
}

/** Checks that `ids` is an array of valid ids. */
export function checkIds(ids: unknown): string[] {
  if (!Array.isArray(ids)) {
    throw new MnemoError(
      "INVALID_INPUT",
      `The ids must be an array of strings; got ${describe(ids)}.`,
    );
  }
  return ids.map((id) => checkId(id));
}

/** Checks an optional non-negative integer option. */
export function checkCount(value: unknown, name: string, fallback: number, min = 0): number {
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

/** A search request after {@link checkSearchRequest}. */
export interface CheckedSearch {
  /** The query as a `Float32Array` of `keyWidth` finite values, not all zero. */
  query: Float32Array;
  /** Integer ≥ 1. */
  topK: number;
  /** The namespace searched ({@link DEFAULT_NAMESPACE} when none was given). */
  namespace: string;
}

/**
 * Validates what every `MemoryStore.search` receives, before any engine sees it (the metadata
 * filter is left to the store, which maps it to its engine).
 * @throws MnemoError `INVALID_OPTION` (no options, `topK` not an integer ≥ 1, bad namespace),
 *   `ABORTED` (signal already fired), `DIMENSION_MISMATCH` / `NON_FINITE_VECTOR` /
 *   `INVALID_INPUT` (a query of the wrong width, with NaN/±Infinity, or all zeros)
 */
export function checkSearchRequest(
  query: unknown,
  options: unknown,
  keyWidth: number,
): CheckedSearch {
  if (typeof options !== "object" || options === null) {
    throw new MnemoError("INVALID_OPTION", "search options ({ topK, ... }) are required.");
  }
  const o = options as { topK?: unknown; namespace?: unknown; signal?: AbortSignal };
  const topK = o.topK;
  if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1) {
    throw new MnemoError(
      "INVALID_OPTION",
      `The option topK must be an integer ≥ 1; got ${describe(topK)}.`,
      { details: { option: "topK" } },
    );
  }
  const namespace = checkNamespace(o.namespace, "INVALID_OPTION");
  throwIfAborted(o.signal);
  const q = checkVector(query, keyWidth, "search query");
  if (norm(q) === 0) {
    throw new MnemoError(
      "INVALID_INPUT",
      "The search query is all zeros; it has no direction, so cosine similarity is undefined.",
    );
  }
  return { query: q, topK, namespace };
}

/**
 * Validates token ids for a backend before any native call (engines abort on out-of-range ids).
 * @param tokens an array (or `Int32Array`/`Uint32Array`) of ids
 * @param vocabSize ids must be integers in `[0, vocabSize)`
 * @param what a noun for messages, e.g. `"prompt"`
 * @param allowEmpty whether an empty list is accepted
 * @returns the ids as a plain array
 * @throws MnemoError `INVALID_INPUT` naming the first bad id and its index
 */
export function checkTokenIds(
  tokens: unknown,
  vocabSize: number,
  what: string,
  allowEmpty = false,
): number[] {
  if (
    !Array.isArray(tokens) &&
    !(tokens instanceof Int32Array) &&
    !(tokens instanceof Uint32Array)
  ) {
    throw new MnemoError("INVALID_INPUT", `The ${what} must be an array of token ids.`);
  }
  const list = Array.from(tokens as ArrayLike<unknown>);
  if (!allowEmpty && list.length === 0) {
    throw new MnemoError("INVALID_INPUT", `The ${what} must contain at least one token id.`);
  }
  for (let i = 0; i < list.length; i++) {
    const t = list[i];
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new MnemoError(
        "INVALID_INPUT",
        `Token id ${String(t)} at index ${i} is outside the vocabulary [0, ${vocabSize}).`,
        { details: { index: i, token: t, vocabSize } },
      );
    }
  }
  return list as number[];
}

/**
 * Validates a whole `MemoryStore.upsert` batch before anything is written (all-or-nothing) and keeps
 * the last record for each `(namespace, id)`, in the order of those last occurrences.
 * @throws MnemoError `INVALID_INPUT` (not an array, or a bad record: see {@link checkRecord}),
 *   `DIMENSION_MISMATCH`, `NON_FINITE_VECTOR`
 */
export function checkUpsertBatch(memories: unknown, dims: StoreDimensions): CheckedRecord[] {
  if (!Array.isArray(memories)) {
    throw new MnemoError(
      "INVALID_INPUT",
      `upsert takes an array of memories; got ${describe(memories)}.`,
    );
  }
  const latest = new Map<string, CheckedRecord>();
  memories.forEach((m, i) => {
    const r = checkRecord(m, dims, i);
    const key = `${r.namespace}\u0000${r.id}`;
    latest.delete(key);
    latest.set(key, r);
  });
  return [...latest.values()];
}

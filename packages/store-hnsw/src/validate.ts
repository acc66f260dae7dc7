import {
  checkId,
  checkMetadata,
  checkNamespace,
  checkVector,
  describe,
  type Metadata,
  MnemoError,
  norm,
  type StoreDimensions,
} from "@mnemo/core";

export {
  checkId,
  checkMetadata,
  checkNamespace,
  describe,
  MAX_ID_LENGTH,
  MAX_NAMESPACE_LENGTH,
  matchesFilter,
} from "@mnemo/core";

/** A validated record ready to be written. */
export interface CheckedRecord {
  namespace: string;
  id: string;
  key: Float32Array;
  value: Float32Array;
  text: string | null;
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

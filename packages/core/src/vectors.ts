import { MnemoError } from "./errors.js";

/**
 * Checks that `vector` is a `Float32Array` (or array of numbers) of exactly `width × count`
 * finite numbers and returns it as a `Float32Array` (copied only when it was not one already).
 *
 * Native engines abort the whole process on some bad inputs (hnswlib on a non-number, llama.cpp
 * on an assertion), so every vector that crosses into an engine goes through here first.
 *
 * @param vector the values; `Float32Array`, `Float64Array` or `number[]`
 * @param width the expected width of one vector (e.g. `hiddenWidth` or `embeddingWidth`)
 * @param what a noun for the error message, e.g. `"memory key"`
 * @param count how many vectors of `width` are expected; `"any"` accepts any whole number ≥ 1
 * @throws MnemoError `DIMENSION_MISMATCH` on a wrong length, `NON_FINITE_VECTOR` on NaN/±Infinity,
 *   `INVALID_INPUT` if it is not an array of numbers
 */
export function checkVector(
  vector: unknown,
  width: number,
  what: string,
  count: number | "any" = 1,
): Float32Array {
  let out: Float32Array;
  if (vector instanceof Float32Array) out = vector;
  else if (
    vector instanceof Float64Array ||
    (Array.isArray(vector) && vector.every((v) => typeof v === "number"))
  ) {
    out = Float32Array.from(vector as ArrayLike<number>);
  } else {
    throw new MnemoError(
      "INVALID_INPUT",
      `The ${what} must be a Float32Array or an array of numbers.`,
      {
        details: { what },
      },
    );
  }
  const ok =
    count === "any" ? out.length > 0 && out.length % width === 0 : out.length === width * count;
  if (!ok) {
    const expected = count === "any" ? `a multiple of ${width}` : `${width * count}`;
    throw new MnemoError(
      "DIMENSION_MISMATCH",
      `The ${what} has ${out.length} values but ${expected} are expected (width ${width}). ` +
        "Encode it with the same model the store/backend was created for.",
      { details: { what, expected: count === "any" ? width : width * count, actual: out.length } },
    );
  }
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new MnemoError(
        "NON_FINITE_VECTOR",
        `The ${what} contains ${out[i]} at index ${i}; every value must be a finite number.`,
        { details: { what, index: i } },
      );
    }
  }
  return out;
}

/** Dot product of two equal-length vectors, accumulated in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Euclidean norm, accumulated in float64. */
export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/**
 * Cosine similarity `a·b / (|a||b|)` in [-1, 1], accumulated in float64.
 * Returns 0 when either vector is all zeros (no direction).
 */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new MnemoError(
      "DIMENSION_MISMATCH",
      `Cannot compare vectors of ${a.length} and ${b.length} values.`,
      {
        details: { expected: a.length, actual: b.length },
      },
    );
  }
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return 0;
  return dot(a, b) / (na * nb);
}

/** Returns a unit-length copy of `a` (a zero vector stays zero). */
export function normalize(a: ArrayLike<number>): Float32Array {
  const n = norm(a);
  const out = new Float32Array(a.length);
  if (n === 0) return out;
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) / n;
  return out;
}

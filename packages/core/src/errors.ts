/**
 * Every error mnemo throws on purpose is a {@link MnemoError} with a stable {@link MnemoErrorCode}.
 * Codes never change meaning between versions; messages may be reworded. Catch by code:
 *
 * ```ts
 * try { await store.upsert(records) } catch (e) {
 *   if (isMnemoError(e, "DIMENSION_MISMATCH")) { ... }
 * }
 * ```
 */
export type MnemoErrorCode =
  /** An option is out of range or of the wrong type (e.g. `temperature < 0`, `topP` outside (0, 1]). */
  | "INVALID_OPTION"
  /** An input value is malformed (empty prompt, token id outside the vocabulary, bad JSON line). */
  | "INVALID_INPUT"
  /** A vector's length does not match the width the model or store expects. */
  | "DIMENSION_MISMATCH"
  /** A vector contains NaN or ±Infinity. */
  | "NON_FINITE_VECTOR"
  /** More positions were asked for than the context (KV cache) holds. */
  | "CONTEXT_OVERFLOW"
  /** The model file does not exist or cannot be read. */
  | "MODEL_NOT_FOUND"
  /** The model file exists but is not a model the backend can load (corrupt, wrong format). */
  | "MODEL_INVALID"
  /** The native library does not match the version/ABI this package was written against. */
  | "ABI_MISMATCH"
  /** The engine reported a failure (decode returned an error code, out of memory, ...). */
  | "BACKEND_FAILURE"
  /** An object was used after `dispose()` / `close()`. */
  | "DISPOSED"
  /** A memory with the given id does not exist. */
  | "NOT_FOUND"
  /** A recall found no memory that qualifies and the policy says `onNoMemory: "error"`. */
  | "NO_MEMORY"
  /** A store on disk was written for another model or dimension. */
  | "STORE_MISMATCH"
  /** A store on disk is damaged or incomplete. */
  | "STORE_CORRUPT"
  /** A store could not be reached (server down, connection refused). */
  | "STORE_UNAVAILABLE"
  /** A store request took longer than its timeout. */
  | "STORE_TIMEOUT"
  /** A store refused or failed a request for another reason. */
  | "STORE_FAILURE"
  /** Reading or writing a file failed (permissions, disk full, path is a directory). */
  | "IO_ERROR"
  /** The operation was cancelled through an `AbortSignal`. */
  | "ABORTED";

/** Options for {@link MnemoError}. */
export interface MnemoErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Structured facts about the failure (expected/actual widths, ids, paths, ...). */
  details?: Record<string, unknown>;
}

/**
 * The one error class of mnemo. `code` is stable; `message` says what happened and what to do.
 * Every package (backends, stores, CLI) throws this class, never a bare `Error`, for expected failures.
 */
export class MnemoError extends Error {
  /** Stable machine-readable code; see {@link MnemoErrorCode}. */
  readonly code: MnemoErrorCode;
  /** Structured facts about the failure. */
  readonly details: Record<string, unknown>;

  constructor(code: MnemoErrorCode, message: string, options: MnemoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MnemoError";
    this.code = code;
    this.details = options.details ?? {};
  }
}

/**
 * True when `error` is a {@link MnemoError}, optionally with the given code.
 * Works across package copies (checks `name` and `code`, not only `instanceof`).
 */
export function isMnemoError(error: unknown, code?: MnemoErrorCode): error is MnemoError {
  if (error instanceof MnemoError) return code === undefined || error.code === code;
  if (typeof error !== "object" || error === null) return false;
  const e = error as { name?: unknown; code?: unknown };
  return (
    e.name === "MnemoError" && typeof e.code === "string" && (code === undefined || e.code === code)
  );
}

/** Throws `ABORTED` if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new MnemoError("ABORTED", "The operation was aborted by its AbortSignal.", {
      cause: signal.reason,
    });
  }
}

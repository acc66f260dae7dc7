import { MnemoError, type MnemoErrorCode } from "@mnemo/core";

/** How requests to Qdrant are timed out and retried. */
export interface RetryPolicy {
  /** Time limit of one HTTP attempt, in milliseconds. */
  timeoutMs: number;
  /** Retries after the first attempt (so at most `retries + 1` attempts). */
  retries: number;
  /** First backoff delay in milliseconds; doubles each retry (full jitter), capped at `maxBackoffMs`. */
  backoffMs: number;
  /** Longest backoff delay in milliseconds (also caps a server's `Retry-After`). */
  maxBackoffMs: number;
}

/** One classified failure of one attempt. */
interface Failure {
  code: MnemoErrorCode;
  retryable: boolean;
  message: string;
  status?: number;
  retryAfterMs?: number;
  cause: unknown;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function networkCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && typeof cur === "object" && cur !== null; depth++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === "string" && NETWORK_CODES.has(c)) return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function serverMessage(data: unknown): string | undefined {
  if (typeof data === "object" && data !== null) {
    const status = (data as { status?: unknown }).status;
    if (typeof status === "object" && status !== null) {
      const error = (status as { error?: unknown }).error;
      if (typeof error === "string") return error;
    }
  }
  return typeof data === "string" && data.length > 0 ? data.slice(0, 300) : undefined;
}

/** Classifies an error thrown by @qdrant/js-client-rest (or fetch) for one attempt. */
function classify(e: unknown): Failure {
  const err = e as { status?: unknown; data?: unknown; retry_after?: unknown; name?: unknown };
  if (typeof err?.status === "number") {
    const status = err.status;
    const text = serverMessage(err.data) ?? String((e as Error).message ?? "");
    const retryAfterMs =
      typeof err.retry_after === "number" ? Math.max(0, err.retry_after * 1000) : undefined;
    const base = { status, retryAfterMs, cause: e };
    if (status === 429 || status === 408) {
      return {
        ...base,
        code: "STORE_FAILURE",
        retryable: true,
        message: `HTTP ${status}: ${text}`,
      };
    }
    if (status === 503 || status === 502) {
      return {
        ...base,
        code: "STORE_UNAVAILABLE",
        retryable: true,
        message: `HTTP ${status}: ${text}`,
      };
    }
    if (status === 504) {
      return { ...base, code: "STORE_TIMEOUT", retryable: true, message: `HTTP 504: ${text}` };
    }
    if (status >= 500) {
      return {
        ...base,
        code: "STORE_FAILURE",
        retryable: true,
        message: `HTTP ${status}: ${text}`,
      };
    }
    if (status === 401 || status === 403) {
      return {
        ...base,
        code: "STORE_FAILURE",
        retryable: false,
        message: `HTTP ${status}: ${text} (check the apiKey option)`,
      };
    }
    return { ...base, code: "STORE_FAILURE", retryable: false, message: `HTTP ${status}: ${text}` };
  }
  if (err?.name === "QdrantClientResourceExhaustedError") {
    return { code: "STORE_FAILURE", retryable: true, message: String(err), cause: e };
  }
  const net = networkCode(e);
  if (net !== undefined || (e instanceof TypeError && /fetch failed/i.test(e.message))) {
    return {
      code: "STORE_UNAVAILABLE",
      retryable: true,
      message: `cannot reach the server (${net ?? (e as Error).message})`,
      cause: e,
    };
  }
  return {
    code: "STORE_FAILURE",
    retryable: false,
    message: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
    cause: e,
  };
}

function abortedError(signal: AbortSignal, what: string): MnemoError {
  return new MnemoError("ABORTED", `The Qdrant ${what} was aborted by its AbortSignal.`, {
    cause: signal.reason,
  });
}

/** Waits `ms`, or rejects with `ABORTED` as soon as `signal` fires. */
function sleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(signal, what));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal as AbortSignal, what));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs one Qdrant REST call with a per-attempt timeout and bounded retries with exponential
 * backoff (full jitter). Every Qdrant operation mnemo issues is idempotent (upserts and deletes by
 * id), so each may be retried.
 *
 * @param what a short description for messages, e.g. `"search in collection \"mnemo\""`
 * @param attempt issues the request with the given `RequestInit` (carries the attempt's signal)
 * @param signal the caller's signal; firing it cancels the in-flight request
 * @throws MnemoError `ABORTED` (caller's signal), `STORE_TIMEOUT` (every attempt ran out of time, or
 *   HTTP 504), `STORE_UNAVAILABLE` (connection refused/reset, HTTP 502/503), `STORE_FAILURE` (other
 *   HTTP errors; 4xx are not retried)
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  what: string,
  attempt: (init: { signal: AbortSignal }) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  let last: Failure | undefined;
  let made = 0;
  const attempts = policy.retries + 1;
  for (let i = 0; i < attempts; i++) {
    if (signal?.aborted) throw abortedError(signal, what);
    made++;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${policy.timeoutMs} ms`));
    }, policy.timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await attempt({ signal: controller.signal });
    } catch (e) {
      if (signal?.aborted) throw abortedError(signal, what);
      last = timedOut
        ? {
            code: "STORE_TIMEOUT",
            retryable: true,
            message: `no answer within ${policy.timeoutMs} ms`,
            cause: e,
          }
        : classify(e);
      if (!last.retryable) break;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
    if (i + 1 < attempts) {
      const cap = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** i);
      const delay = Math.min(policy.maxBackoffMs, last.retryAfterMs ?? Math.random() * cap);
      await sleep(delay, signal, what);
    }
  }
  const f = last as Failure;
  const tries = made > 1 ? ` after ${made} attempts` : "";
  throw new MnemoError(f.code, `Qdrant ${what} failed${tries}: ${f.message}`, {
    cause: f.cause,
    details: { status: f.status, attempts: made },
  });
}

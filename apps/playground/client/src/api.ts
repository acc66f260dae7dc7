/** Talking to the playground server: JSON requests and server-sent event streams. */
import { createParser } from "eventsource-parser";
import type { ApiErrorBody } from "../../src/shared/api.js";

/** An error answer of the API, with its stable code and per-field issues. */
export class ApiRequestError extends Error {
  /**
   * @param code the API's error code
   * @param issues per-field problems, for validation errors
   */
  constructor(
    readonly code: string,
    message: string,
    readonly issues: NonNullable<ApiErrorBody["error"]["issues"]> = [],
  ) {
    super(message);
  }
}

async function failure(res: Response): Promise<ApiRequestError> {
  try {
    const body = (await res.json()) as ApiErrorBody;
    return new ApiRequestError(body.error.code, body.error.message, body.error.issues);
  } catch {
    return new ApiRequestError(`HTTP_${res.status}`, `${res.status} ${res.statusText}`);
  }
}

/** Sends a request and parses the JSON answer; throws {@link ApiRequestError} on an error status. */
export async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/**
 * Sends a request whose answer is a server-sent event stream, and calls `onEvent` with each event's
 * JSON data until the stream ends.
 */
export async function stream<T>(
  url: string,
  init: { body: string; contentType: string; signal?: AbortSignal },
  onEvent: (event: T) => void,
): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": init.contentType, accept: "text/event-stream" },
    body: init.body,
    ...(init.signal ? { signal: init.signal } : {}),
  });
  if (!res.ok) throw await failure(res);
  if (!res.body) throw new ApiRequestError("NO_BODY", "The server sent no stream.");
  const parser = createParser({ onEvent: (message) => onEvent(JSON.parse(message.data) as T) });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
}

/** A message for any thrown value. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiRequestError) return `${error.message} [${error.code}]`;
  return error instanceof Error ? error.message : String(error);
}

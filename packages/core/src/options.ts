/**
 * Small helpers that backends and stores share to validate their options and to serialise calls
 * on one engine object. They live in core so every implementation refuses the same bad input with
 * the same code and message.
 */
import { MnemoError } from "./errors.js";

/**
 * Returns `value` when it is an integer in `[min, max]`, `fallback` when it is `undefined`.
 * @throws MnemoError `INVALID_OPTION` otherwise, naming the option and the range
 */
export function integerOption(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new MnemoError(
      "INVALID_OPTION",
      `Option ${name} must be an integer in [${min}, ${max}], got ${String(value)}.`,
      { details: { option: name, value } },
    );
  }
  return value;
}

/**
 * Returns `value` when it is one of `allowed`, `fallback` when it is `undefined`.
 * @throws MnemoError `INVALID_OPTION` otherwise, listing the allowed values
 */
export function enumOption<T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !allowed.includes(value as T)) {
    throw new MnemoError(
      "INVALID_OPTION",
      `${name} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}; got ${String(value)}.`,
      { details: { option: name, value } },
    );
  }
  return value as T;
}

/**
 * Runs tasks one after another, in call order, whatever each one's outcome: for engine objects
 * whose state changes with every call (a KV cache, a llama.cpp context that is not thread-safe).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Queues `task`; resolves or rejects with its result once every earlier task has settled. */
  run<T>(task: () => Promise<T> | T): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

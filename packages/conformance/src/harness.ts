/**
 * Shared machinery of the suites: factories, skipped cases with printed reasons, error-code checks.
 */
import type { InferenceBackend, MemoryStore, StoreDimensions } from "@mnemo/core";
import { expect, it } from "vitest";

/**
 * Creates (loads) the backend under test. The suite calls it in `beforeAll` and disposes what it
 * returns in `afterAll`; the error cases call it once more to test use after `dispose()`.
 */
export type BackendFactory = () => Promise<InferenceBackend>;

/** What the suite passes to a {@link StoreFactory}. */
export interface StoreFactoryOptions {
  /** Widths of the store to open. */
  dimensions: StoreDimensions;
  /**
   * A name unique to this store inside the test run (e.g. a directory or collection name). Opening
   * the same `location` again after `close()` must give back the same memories when the store
   * declares `persistence`; different locations never share data.
   */
  location: string;
  /** The model identity to record, when the suite has a model (recall loop). */
  modelIdentity?: string;
}

/** Opens a store. The suite closes every store it opens. */
export type StoreFactory = (options: StoreFactoryOptions) => Promise<MemoryStore>;

/** A backend factory with a display name (matrix entries, cross-engine pairs). */
export interface NamedBackend {
  /** Shown in test titles, e.g. `"llama.cpp (tiny)"`. */
  name: string;
  /** Loads the backend. */
  create: BackendFactory;
}

/** A store factory with a display name (matrix entries, cross-engine pairs). */
export interface NamedStore {
  /** Shown in test titles, e.g. `"hnsw (disk)"`. */
  name: string;
  /** Opens the store. */
  create: StoreFactory;
}

/** Prefix of every line the suites print. */
export const LOG_PREFIX = "[conformance]";

/** A case body. */
type CaseBody = () => Promise<void> | void;

/**
 * Registers one case: `it(title, body)` when `skipReason` is undefined, otherwise prints the reason
 * (`console.warn`) and registers `it.skip` with the reason in its title.
 * @internal
 */
export function defineCase(
  suite: string,
  title: string,
  skipReason: string | undefined,
  body: CaseBody,
  timeout?: number,
): void {
  if (skipReason === undefined) {
    it(title, body, timeout);
    return;
  }
  console.warn(`${LOG_PREFIX} ${suite} › ${title}: SKIPPED — ${skipReason}`);
  it.skip(`${title} [skipped: ${skipReason}]`, () => undefined);
}

/**
 * The reason a case is skipped because `only` does not list it, or `undefined`.
 * @internal
 */
export function notSelected<C extends string>(
  id: C,
  only: readonly C[] | undefined,
): string | undefined {
  if (only === undefined || only.includes(id)) return undefined;
  return `not selected (capabilities.only = ${only.join(", ")})`;
}

/**
 * Asserts that `action` throws or rejects with a `MnemoError` of `code` (checked by `name` and
 * `code`, so that it works across package copies).
 * @param action a promise, or a function that throws or returns a promise
 * @param code the expected `MnemoErrorCode`
 * @param what shown in the failure message
 */
export async function expectMnemoError(
  action: Promise<unknown> | (() => unknown),
  code: string,
  what = "the call",
): Promise<void> {
  let error: unknown;
  let threw = false;
  try {
    await (typeof action === "function" ? action() : action);
  } catch (e) {
    error = e;
    threw = true;
  }
  expect(threw, `${what} should fail with ${code}, but it succeeded`).toBe(true);
  const e = error as { name?: unknown; code?: unknown; message?: unknown };
  expect(
    { name: e?.name, code: e?.code },
    `${what} should fail with a MnemoError ${code}; got ${String(e?.name)} ${String(e?.code)}: ${String(e?.message ?? error)}`,
  ).toEqual({ name: "MnemoError", code });
}

let counter = 0;

/** A location name unique within this process, for {@link StoreFactoryOptions.location}. @internal */
export function uniqueLocation(prefix: string): string {
  counter += 1;
  return `${prefix.replace(/[^a-z0-9]+/gi, "_").toLowerCase()}_${process.pid}_${counter}`;
}

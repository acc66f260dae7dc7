import { MnemoError } from "./errors.js";
import { checkNumber, stripUndefined } from "./sampling.js";
import { DEFAULT_NAMESPACE, type Metadata } from "./store.js";
import { checkNamespace } from "./validation.js";

/**
 * When and how the loop recalls a memory (seed §3.1: trigger → query → search → sample → inject).
 */
export interface RecallPolicy {
  /**
   * The trigger: a token id, or a text (which may span several tokens). Default `"<recall>"`.
   * The query is the final hidden state of the trigger's last token.
   */
  trigger?: number | string;
  /** How many candidates the store returns (cosine similarity, best first); integer ≥ 1. Default 5. */
  topK?: number;
  /**
   * Temperature of softmax(score / temperature) over the candidates' cosine scores, ≥ 0;
   * 0 = always the best. Cosine scores span [-1, 1], so useful values are small. Default 0.1.
   */
  temperature?: number;
  /** Nucleus over the candidates' probabilities, in (0, 1]. Default 0.9. */
  topP?: number;
  /** Candidates scoring below this cosine similarity are ignored, in [-1, 1]. Default -1 (none). */
  minScore?: number;
  /** At most this many injections per generation (integer ≥ 0); later triggers are ignored. Default 8. */
  maxRecalls?: number;
  /** Namespace searched. Default `"default"`. */
  namespace?: string;
  /** Metadata equality filter for candidates. */
  filter?: Metadata;
  /**
   * What to do when no memory qualifies (empty store, unknown namespace, all below `minScore`):
   * `"continue"` generates on from the trigger's logits and emits `recall-skipped` (default);
   * `"error"` ends the generation with `NO_MEMORY`.
   */
  onNoMemory?: "continue" | "error";
}

/** {@link RecallPolicy} with every default filled in. */
export interface ResolvedRecallPolicy extends Required<Omit<RecallPolicy, "filter">> {
  /** Metadata equality filter for the store search, or `undefined` for none. */
  filter: Metadata | undefined;
}

/** Defaults for {@link RecallPolicy}. */
export const DEFAULT_RECALL_POLICY: ResolvedRecallPolicy = {
  trigger: "<recall>",
  topK: 5,
  temperature: 0.1,
  topP: 0.9,
  minScore: -1,
  maxRecalls: 8,
  namespace: DEFAULT_NAMESPACE,
  filter: undefined,
  onNoMemory: "continue",
};

/**
 * Fills defaults and validates.
 * @throws MnemoError `INVALID_OPTION` (topK < 1, negative temperature, topP outside (0, 1], a namespace
 *   that is empty or over 512 characters, ...)
 */
export function resolveRecallPolicy(policy: RecallPolicy = {}): ResolvedRecallPolicy {
  const p = { ...DEFAULT_RECALL_POLICY, ...stripUndefined(policy) };
  if (typeof p.trigger === "string") {
    if (p.trigger.length === 0)
      throw new MnemoError("INVALID_OPTION", "recall.trigger must not be empty.");
  } else {
    checkNumber(
      "recall.trigger",
      p.trigger,
      (v) => Number.isInteger(v) && v >= 0,
      "a token id (integer ≥ 0) or a text",
    );
  }
  checkNumber("recall.topK", p.topK, (v) => Number.isInteger(v) && v >= 1, "an integer ≥ 1");
  checkNumber(
    "recall.temperature",
    p.temperature,
    (v) => v >= 0 && Number.isFinite(v),
    "a finite number ≥ 0",
  );
  checkNumber("recall.topP", p.topP, (v) => v > 0 && v <= 1, "in (0, 1]");
  checkNumber("recall.minScore", p.minScore, (v) => v >= -1 && v <= 1, "in [-1, 1]");
  checkNumber(
    "recall.maxRecalls",
    p.maxRecalls,
    (v) => Number.isInteger(v) && v >= 0,
    "an integer ≥ 0",
  );
  // The stores' own rule (non-empty, at most 512 characters), checked before the first decode step
  // rather than at the first recall's search.
  checkNamespace(p.namespace, "INVALID_OPTION");
  if (p.onNoMemory !== "continue" && p.onNoMemory !== "error") {
    throw new MnemoError(
      "INVALID_OPTION",
      `recall.onNoMemory must be "continue" or "error"; got ${String(p.onNoMemory)}.`,
    );
  }
  return p;
}

/**
 * The event stream of one generation: a discriminated union on `type`, in the order they happen.
 */
import type { MnemoError } from "./errors.js";

/** One memory injection, as the seed records it (§3.3) plus what identifies the memory. */
export interface Injection {
  /**
   * The seed's `injection_pos`: the number of tokens in the token sequence (prompt + generated,
   * BOS included; injected vectors are not tokens) when the memory went in. Seed example: 7.
   */
  position: number;
  /** KV-cache position of the first injected vector (counts earlier injected vectors too). */
  kvPosition: number;
  /** How many vectors were injected (the memory's value rows; 1 in the seed). */
  vectorCount: number;
  /** Cosine similarity between the query and the memory's key (the seed's `memory_score`). */
  score: number;
  /** Probability with which this memory was sampled among the candidates. */
  probability: number;
  /** The injected memory's id. */
  memoryId: string;
  /** The injected memory's namespace. */
  namespace: string;
  /** The memory's text, if stored. */
  text?: string;
}

/** A candidate as shown in `recall-candidates`. */
export interface RecallCandidate {
  /** The candidate memory's id. */
  memoryId: string;
  /** The candidate memory's namespace. */
  namespace: string;
  /** Cosine similarity to the query. */
  score: number;
  /** Sampling probability (softmax(score/temperature) after top-p; 0 if cut). */
  probability: number;
  /** The candidate memory's text, if stored. */
  text?: string;
}

/** Why generation ended. */
export type FinishReason =
  /** The model produced an end-of-generation token. */
  | "eos"
  /** A stop string appeared (it is not included in the text). */
  | "stop-string"
  /** `maxTokens` tokens were generated. */
  | "max-tokens"
  /** The context (KV cache) is full. */
  | "context-full"
  /** The `AbortSignal` fired. */
  | "aborted";

/** Token counts of one generation. */
export interface Usage {
  /** Tokens in the prompt (BOS included). */
  promptTokens: number;
  /** Tokens generated (the EOS token, if any, not counted). */
  completionTokens: number;
  /** Vectors injected in total. */
  injectedVectors: number;
  /** KV-cache positions used at the end (prompt + generated + injected). */
  kvPositions: number;
}

/** Every event of a generation. */
export type GenerationEvent =
  | {
      /** Prefill of the prompt is about to start. */
      type: "start";
      /** Number of prompt tokens (BOS included). */
      promptTokens: number;
    }
  | {
      /** A token was sampled. `text` is the new text it completes ('' mid-character or while held for a stop string). */
      type: "token";
      /** The sampled token id. */
      token: number;
      /** Text this token completes (may be empty). */
      text: string;
      /** Index of this token in the token sequence. */
      position: number;
    }
  | {
      /**
       * Text released at the end without a new token: held back because it might have begun a stop
       * string, or an incomplete character (shown as U+FFFD). Print `text` of `token` and `text` events.
       */
      type: "text";
      /** The released text. */
      text: string;
    }
  | {
      /** The last input token completed the trigger: its hidden state is the query. */
      type: "recall-start";
      /** Tokens in the token sequence so far (where a memory would go in; see {@link Injection.position}). */
      position: number;
      /** KV-cache position the memory would take. */
      kvPosition: number;
      /** The query: final hidden state of the trigger's last token, length `hiddenWidth`. */
      query: Float32Array;
    }
  | {
      /** The store answered; one candidate was sampled. */
      type: "recall-candidates";
      /** Token position of the recall (as in `recall-start`). */
      position: number;
      /** The store's top-k, best first, with their sampling probabilities. */
      candidates: RecallCandidate[];
      /** Index of the chosen candidate in `candidates`. */
      chosen: number;
    }
  | {
      /** The trigger fired but nothing was injected. */
      type: "recall-skipped";
      /** Token position of the recall (as in `recall-start`). */
      position: number;
      /** Why nothing was injected. */
      reason: "no-candidates" | "below-min-score" | "max-recalls" | "context-full";
      /** Candidates that were found but did not qualify (below minScore). */
      candidates: RecallCandidate[];
    }
  | {
      /** The chosen memory's vectors went in at `injection.kvPosition`. */
      type: "memory-injected";
      /** The injection record. */
      injection: Injection;
    }
  | {
      /** Generation ended. */
      type: "finish";
      /** Why generation ended. */
      finishReason: FinishReason;
      /** The whole generated text (prompt not included). */
      text: string;
      /** Generated token ids. */
      tokens: number[];
      /** Every memory injection, in order. */
      injections: Injection[];
      /** Token counts. */
      usage: Usage;
    }
  | {
      /** Generation failed; no further events follow. */
      type: "error";
      /** What went wrong (a typed error with a stable `code`). */
      error: MnemoError;
    };

/** The type names of {@link GenerationEvent}. */
export type GenerationEventType = GenerationEvent["type"];

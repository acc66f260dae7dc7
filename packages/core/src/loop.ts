/**
 * The generation loop with latent memory recall, as an explicit state machine.
 *
 * It follows the seed (`recall-mechanism.zh.md` §2), one step per state:
 *
 * ```
 *   detect ──▶ forward ──▶ sampleToken ──▶ detect …          (no trigger)
 *                 │
 *                 └─(trigger)─▶ query ──▶ sampleMemory ──▶ inject ──▶ sampleToken
 *                                 └─(nothing qualifies)──────────────▶ sampleToken
 * ```
 *
 * - detect (seed step 2): is the last input token the trigger? → `recallPending`.
 * - forward (step 3): run the pending tokens on the sequence's KV cache; ask for the final hidden
 *   state only when a recall is pending.
 * - query (step 4): the hidden state of the trigger's last token searches the store (cosine, topK).
 * - sampleMemory: softmax(score / temperature) + top-p over the candidates, one drawn.
 * - inject: the memory's value vectors are the next input positions (`inputs_embeds`, same KV
 *   cache); the injection is recorded as (position = tokens so far, score) (§3.3).
 * - sampleToken (step 5–6): the next token comes from the logits of the last position — the memory
 *   position after an injection (§3.4) — and is appended to the token sequence.
 */
import type { InferenceBackend, InferenceSequence } from "./backend.js";
import { isMnemoError, MnemoError } from "./errors.js";
import type { FinishReason, GenerationEvent, Injection, RecallCandidate, Usage } from "./events.js";
import { type RecallPolicy, type ResolvedRecallPolicy, resolveRecallPolicy } from "./policy.js";
import { createRandom, type Random } from "./random.js";
import {
  checkNumber,
  drawIndex,
  memoryProbabilities,
  type ResolvedSamplingOptions,
  resolveSamplingOptions,
  type SamplingOptions,
  sampleToken,
} from "./sampling.js";
import type { MemoryCandidate, MemoryStore } from "./store.js";
import { TextStream, TriggerDetector } from "./text.js";

/** Options of {@link generate} and {@link generateText}. */
export interface GenerateOptions {
  /** The loaded model. */
  backend: InferenceBackend;
  /** Where memories are searched. Without a store, triggers are detected but nothing is injected. */
  store?: MemoryStore;
  /** The prompt: a text (special tokens such as `<recall>` parsed) or token ids. */
  prompt: string | readonly number[];
  /** Add the model's BOS token in front of a text prompt. Default `true`. */
  addBos?: boolean;
  /** Recall settings, or `false` to generate without recall. */
  recall?: RecallPolicy | false;
  /** Token sampling settings. */
  sampling?: SamplingOptions;
  /** Seed for token and memory sampling; same seed + same inputs = same output. */
  seed?: number;
  /** Maximum tokens to generate (integer ≥ 1). Default 256. */
  maxTokens?: number;
  /** Stop strings: generation ends before the first one (not included in the text). */
  stop?: readonly string[];
  /** Stop at the model's end-of-generation tokens. Default `true`. */
  stopAtEos?: boolean;
  /** Cancels generation; the stream then ends with `finish` and reason `"aborted"`. */
  signal?: AbortSignal;
  /**
   * Continue an existing sequence (its KV cache is kept and extended) instead of opening a new one
   * that is disposed at the end. Positions in injections count this call's tokens only.
   */
  sequence?: InferenceSequence;
}

/** The result of {@link generateText}. */
export interface GenerateTextResult {
  /** The generated text (prompt not included, stop string not included). */
  text: string;
  /** Generated token ids. */
  tokens: number[];
  /** Every memory injection, in order (the seed's `memory_injection_positions`). */
  injections: Injection[];
  /** Why generation ended. */
  finishReason: FinishReason;
  /** Token counts. */
  usage: Usage;
  /** Every event, in order. */
  events: GenerationEvent[];
}

/** The loop's states (seed §2). */
export type LoopState =
  | "detect"
  | "forward"
  | "query"
  | "sampleMemory"
  | "inject"
  | "sampleToken"
  | "done";

interface Resolved {
  backend: InferenceBackend;
  store: MemoryStore | undefined;
  promptTokens: number[];
  recall: ResolvedRecallPolicy | undefined;
  sampling: ResolvedSamplingOptions;
  maxTokens: number;
  stop: readonly string[];
  stopAtEos: boolean;
  signal: AbortSignal | undefined;
  random: Random;
  sequence: InferenceSequence | undefined;
}

function resolve(options: GenerateOptions): Resolved {
  const { backend, store } = options;
  if (!backend || typeof backend.createSequence !== "function") {
    throw new MnemoError("INVALID_OPTION", "generate() needs a `backend` (an InferenceBackend).");
  }
  const maxTokens = checkNumber(
    "maxTokens",
    options.maxTokens ?? 256,
    (v) => Number.isInteger(v) && v >= 1,
    "an integer ≥ 1",
  );
  if (options.seed !== undefined) checkNumber("seed", options.seed, Number.isInteger, "an integer");
  const recall = options.recall === false ? undefined : resolveRecallPolicy(options.recall);
  if (store && recall) {
    const { hiddenWidth, embeddingWidth } = backend.info;
    if (
      store.dimensions.keyWidth !== hiddenWidth ||
      store.dimensions.valueWidth !== embeddingWidth
    ) {
      throw new MnemoError(
        "DIMENSION_MISMATCH",
        `The store holds keys of width ${store.dimensions.keyWidth} and values of width ${store.dimensions.valueWidth}, ` +
          `but the model has hidden width ${hiddenWidth} and embedding width ${embeddingWidth}. ` +
          "Use a store created for this model.",
        { details: { store: store.dimensions, model: { hiddenWidth, embeddingWidth } } },
      );
    }
  }
  let promptTokens: number[];
  if (typeof options.prompt === "string") {
    promptTokens = backend.tokenize(options.prompt, {
      addSpecial: options.addBos ?? true,
      parseSpecial: true,
    });
  } else if (Array.isArray(options.prompt)) {
    promptTokens = [...options.prompt];
  } else {
    throw new MnemoError("INVALID_INPUT", "prompt must be a string or an array of token ids.");
  }
  if (promptTokens.length === 0) {
    throw new MnemoError("INVALID_INPUT", "The prompt is empty: give at least one token.");
  }
  for (const t of promptTokens) {
    if (!Number.isInteger(t) || t < 0 || t >= backend.info.vocabSize) {
      throw new MnemoError(
        "INVALID_INPUT",
        `Prompt token ${t} is outside the vocabulary [0, ${backend.info.vocabSize}).`,
      );
    }
  }
  const stop = options.stop ?? [];
  if (!Array.isArray(stop) || stop.some((s) => typeof s !== "string")) {
    throw new MnemoError("INVALID_OPTION", "stop must be an array of strings.");
  }
  return {
    backend,
    store,
    promptTokens,
    recall,
    sampling: resolveSamplingOptions(options.sampling),
    maxTokens,
    stop,
    stopAtEos: options.stopAtEos ?? true,
    signal: options.signal,
    random: createRandom(options.seed),
    sequence: options.sequence,
  };
}

/**
 * Generates text with latent memory recall, as a stream of {@link GenerationEvent}s.
 *
 * Options are validated at once (this function throws `INVALID_OPTION` / `INVALID_INPUT` /
 * `DIMENSION_MISMATCH` before returning); a failure while generating ends the stream with an
 * `error` event (never a crash). Aborting ends it with `finish` and reason `"aborted"`.
 *
 * @example
 * for await (const event of generate({ backend, store, prompt: "让我回忆一下<recall>" })) {
 *   if (event.type === "token") process.stdout.write(event.text);
 * }
 */
export function generate(
  options: GenerateOptions,
): AsyncGenerator<GenerationEvent, void, undefined> {
  const resolved = resolve(options);
  return runLoop(resolved);
}

/**
 * Runs {@link generate} to the end and returns the text, the injections and all events.
 * @throws MnemoError any error the stream ended with, and the option errors of {@link generate}
 */
export async function generateText(options: GenerateOptions): Promise<GenerateTextResult> {
  const events: GenerationEvent[] = [];
  for await (const event of generate(options)) {
    events.push(event);
    if (event.type === "error") throw event.error;
    if (event.type === "finish") {
      const { text, tokens, injections, finishReason, usage } = event;
      return { text, tokens, injections, finishReason, usage, events };
    }
  }
  throw new MnemoError("BACKEND_FAILURE", "The generation ended without a finish event.");
}

async function* runLoop(r: Resolved): AsyncGenerator<GenerationEvent, void, undefined> {
  const { backend, store, recall } = r;
  const ownsSequence = r.sequence === undefined;
  let sequence: InferenceSequence | undefined;
  try {
    sequence = r.sequence ?? (await backend.createSequence());
    yield* steps(r, sequence);
  } catch (error) {
    yield { type: "error", error: toMnemoError(error) };
  } finally {
    if (ownsSequence && sequence) await sequence.dispose().catch(() => undefined);
  }

  async function* steps(r: Resolved, seq: InferenceSequence): AsyncGenerator<GenerationEvent> {
    const contextSize = backend.info.contextSize;
    const eog = new Set(backend.info.eogTokens);
    const trigger = recall ? new TriggerDetector(recall.trigger) : undefined;
    const text = new TextStream(r.stop);

    /** The seed's `input_ids`: prompt and generated tokens (injected vectors are not tokens). */
    const tokens: number[] = [];
    const generated: number[] = [];
    const injections: Injection[] = [];
    let injectedVectors = 0;

    let state: LoopState = "detect";
    let pending: number[] = r.promptTokens;
    let recallPending = false;
    let logits: Float32Array | undefined;
    let query: Float32Array | undefined;
    let candidates: MemoryCandidate[] = [];
    let probabilities: number[] = [];
    let chosen = -1;
    let finishReason: FinishReason | undefined;

    if (seq.length + pending.length > contextSize) {
      throw new MnemoError(
        "CONTEXT_OVERFLOW",
        `The prompt has ${pending.length} tokens but only ${contextSize - seq.length} positions are free ` +
          `in the context (size ${contextSize}). Shorten the prompt or raise contextSize.`,
        { details: { promptTokens: pending.length, contextSize, used: seq.length } },
      );
    }
    yield { type: "start", promptTokens: pending.length };

    while (state !== "done") {
      if (r.signal?.aborted) {
        finishReason = "aborted";
        break;
      }
      try {
        state = yield* step(state);
      } catch (error) {
        // An engine or store that honours the signal throws ABORTED: that is a normal end.
        if (isMnemoError(error, "ABORTED") && r.signal?.aborted) {
          finishReason = "aborted";
          break;
        }
        throw error;
      }
    }

    const tail = text.flush();
    if (tail) yield { type: "text", text: tail };
    yield {
      type: "finish",
      finishReason: finishReason ?? "max-tokens",
      text: text.text,
      tokens: generated,
      injections,
      usage: {
        promptTokens: r.promptTokens.length,
        completionTokens: generated.length,
        injectedVectors,
        kvPositions: seq.length,
      },
    };

    /** Runs one state; returns the next. */
    async function* step(current: LoopState): AsyncGenerator<GenerationEvent, LoopState> {
      let next: LoopState = current;
      switch (current) {
        case "detect": {
          // Seed §5.1: only the LAST input token can trigger; feed every token so a text trigger
          // split over several tokens is seen.
          let hit = false;
          if (trigger) for (const t of pending) hit = trigger.push(t, backend.tokenBytes(t));
          recallPending = false;
          if (hit && recall) {
            if (injections.length >= recall.maxRecalls) {
              yield skipped(tokens.length + pending.length, "max-recalls", []);
            } else recallPending = true;
          }
          next = "forward";
          break;
        }
        case "forward": {
          if (seq.length + pending.length > contextSize) {
            finishReason = "context-full";
            next = "done";
            break;
          }
          const out = await seq.forwardTokens(pending, {
            wantHiddenState: recallPending,
            signal: r.signal,
          });
          tokens.push(...pending);
          logits = out.logits;
          query = out.hiddenState;
          next = recallPending ? "query" : "sampleToken";
          break;
        }
        case "query": {
          const policy = recall as ResolvedRecallPolicy;
          if (!query)
            throw new MnemoError(
              "BACKEND_FAILURE",
              "The backend did not return the hidden state asked for.",
            );
          yield { type: "recall-start", position: tokens.length, kvPosition: seq.length, query };
          const found = store
            ? await store.search(query, {
                topK: policy.topK,
                namespace: policy.namespace,
                ...(policy.filter ? { filter: policy.filter } : {}),
                ...(r.signal ? { signal: r.signal } : {}),
              })
            : [];
          candidates = found.filter((c) => c.score >= policy.minScore);
          if (candidates.length === 0) {
            const reason = found.length === 0 ? "no-candidates" : "below-min-score";
            if (policy.onNoMemory === "error") {
              throw new MnemoError(
                "NO_MEMORY",
                `The trigger at position ${tokens.length} found no memory (${reason}) in namespace "${policy.namespace}". ` +
                  'Add memories, lower minScore, or use onNoMemory: "continue".',
                { details: { reason, namespace: policy.namespace } },
              );
            }
            yield skipped(
              tokens.length,
              reason,
              found.map((c) => candidateView(c, 0)),
            );
            next = "sampleToken";
          } else next = "sampleMemory";
          break;
        }
        case "sampleMemory": {
          const policy = recall as ResolvedRecallPolicy;
          probabilities = memoryProbabilities(
            candidates.map((c) => c.score),
            policy.temperature,
            policy.topP,
          );
          chosen = drawIndex(probabilities, r.random);
          yield {
            type: "recall-candidates",
            position: tokens.length,
            candidates: candidates.map((c, i) => candidateView(c, probabilities[i] as number)),
            chosen,
          };
          next = "inject";
          break;
        }
        case "inject": {
          const candidate = candidates[chosen] as MemoryCandidate;
          const vectorCount = candidate.memory.value.length / backend.info.embeddingWidth;
          if (seq.length + vectorCount > contextSize) {
            yield skipped(tokens.length, "context-full", []);
            next = "sampleToken";
            break;
          }
          const kvPosition = seq.length;
          const out = await seq.forwardEmbeddings(candidate.memory.value, { signal: r.signal });
          logits = out.logits;
          injectedVectors += vectorCount;
          const injection: Injection = {
            position: tokens.length,
            kvPosition,
            vectorCount,
            score: candidate.score,
            probability: probabilities[chosen] as number,
            memoryId: candidate.memory.id,
            namespace: candidate.memory.namespace,
            ...(candidate.memory.text === undefined ? {} : { text: candidate.memory.text }),
          };
          injections.push(injection);
          yield { type: "memory-injected", injection };
          next = "sampleToken";
          break;
        }
        case "sampleToken": {
          const token = sampleToken(logits as Float32Array, r.sampling, r.random, tokens);
          if (r.stopAtEos && eog.has(token)) {
            finishReason = "eos";
            next = "done";
            break;
          }
          generated.push(token);
          const delta = text.push(backend.tokenBytes(token));
          yield { type: "token", token, text: delta, position: tokens.length };
          if (text.stopped) finishReason = "stop-string";
          else if (generated.length >= r.maxTokens) finishReason = "max-tokens";
          if (finishReason) {
            tokens.push(token);
            next = "done";
            break;
          }
          pending = [token];
          next = "detect";
          break;
        }
      }
      return next;
    }
  }
}

function skipped(
  position: number,
  reason: "no-candidates" | "below-min-score" | "max-recalls" | "context-full",
  candidates: RecallCandidate[],
): GenerationEvent {
  return { type: "recall-skipped", position, reason, candidates };
}

function candidateView(c: MemoryCandidate, probability: number): RecallCandidate {
  return {
    memoryId: c.memory.id,
    namespace: c.memory.namespace,
    score: c.score,
    probability,
    ...(c.memory.text === undefined ? {} : { text: c.memory.text }),
  };
}

function toMnemoError(error: unknown): MnemoError {
  if (isMnemoError(error)) return error;
  return new MnemoError(
    "BACKEND_FAILURE",
    `Generation failed: ${(error as Error)?.message ?? String(error)}`,
    {
      cause: error,
    },
  );
}

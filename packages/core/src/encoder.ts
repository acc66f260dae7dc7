/**
 * Turning memory text into `{ key, value }` with the model itself.
 *
 * The key must be made the way queries are made, or retrieval is meaningless: queries are the final
 * hidden state of the trigger's last token, so keys are the final hidden state of the memory
 * text's last token (optionally framed by `keyTemplate`, e.g. to end in the trigger too).
 */
import type { InferenceBackend, InferenceSequence } from "./backend.js";
import { MnemoError, throwIfAborted } from "./errors.js";
import { integerOption } from "./options.js";
import type { MemoryRecord, Metadata } from "./store.js";

/**
 * How a memory's value (the vectors injected after the trigger) is made:
 * - `"mean-embedding"`: ONE vector, the mean of the text's input-embedding rows (scaled as the
 *   model scales token inputs). The seed's one-vector injection for models never trained for it:
 *   it stays in the space the model reads, so it steers generation toward the memory's words.
 * - `"token-embeddings"`: the text's embedding rows, one vector per token (n × width). Injecting
 *   them equals feeding the memory text itself, so an off-the-shelf model can really read it;
 *   costs one KV position per token.
 * - `"hidden-state"`: the key itself (final hidden state) as ONE vector, or with
 *   `valueVectors: n` n vectors: the key followed by the hidden states of `n − 1` more positions,
 *   each made by feeding `valueFiller` after the key text (KV cache reused). For models trained to
 *   read memories from hidden states (mnemo's recall demo model: n ≤ 8); needs
 *   hiddenWidth = embeddingWidth.
 */
export type ValueStrategy = "mean-embedding" | "token-embeddings" | "hidden-state";

/** The value strategies, for option parsing. */
export const VALUE_STRATEGIES: readonly ValueStrategy[] = [
  "mean-embedding",
  "token-embeddings",
  "hidden-state",
];

/** Options of {@link createMemoryEncoder}. */
export interface MemoryEncoderOptions {
  /** How values are made. Default `"mean-embedding"`. */
  value?: ValueStrategy;
  /**
   * Text run through the model to make the key; `{text}` stands for the memory text.
   * Default `"{text}"`. The key is the hidden state of this text's last token.
   */
  keyTemplate?: string;
  /** Put the model's BOS token before the key text. Default `true` (as prompts get it). */
  addBos?: boolean;
  /**
   * `"hidden-state"` only: vectors per value, an integer in [1, 64]. Default 1 (the seed's one
   * vector). More vectors carry more content (the recall demo model spells random strings of up to
   * 24 bytes with 2 or 4: 0.979 / 0.997 exact); each costs one KV position at injection and one decode
   * step at encoding.
   */
  valueVectors?: number;
  /**
   * `"hidden-state"` with `valueVectors > 1`: text of the ONE token fed after the key text to make
   * each further vector, e.g. `"<pad>"` (special tokens are parsed). Default `""` (none: then
   * `valueVectors` must be 1).
   */
  valueFiller?: string;
}

/** A memory's vectors. */
export interface EncodedMemory {
  /** `Float32Array` of length `hiddenWidth`. */
  key: Float32Array;
  /** `Float32Array` of length `n × embeddingWidth`. */
  value: Float32Array;
  /** Tokens of the memory text (without BOS). */
  tokenCount: number;
}

/** Turns text into memory vectors with a model. */
export interface MemoryEncoder {
  /** The model this encoder uses. */
  readonly backend: InferenceBackend;
  /** The resolved options. */
  readonly options: Required<MemoryEncoderOptions>;
  /**
   * Encodes one text.
   * @throws MnemoError `INVALID_INPUT` (empty text), `CONTEXT_OVERFLOW`, `DISPOSED`, `ABORTED`, backend errors
   */
  encode(text: string, options?: { signal?: AbortSignal }): Promise<EncodedMemory>;
  /** Frees the sequence the encoder keeps. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * Creates an encoder that keeps one sequence of `backend` and reuses it (truncated) for every text.
 * @throws MnemoError `INVALID_OPTION` (unknown strategy, template without `{text}`, `valueVectors`
 *   not an integer in [1, 64] or set with another strategy, `valueFiller` not exactly one token),
 *   `DIMENSION_MISMATCH` (`"hidden-state"` on a model whose hidden and embedding widths differ)
 */
export function createMemoryEncoder(
  backend: InferenceBackend,
  options: MemoryEncoderOptions = {},
): MemoryEncoder {
  const resolved: Required<MemoryEncoderOptions> = {
    value: options.value ?? "mean-embedding",
    keyTemplate: options.keyTemplate ?? "{text}",
    addBos: options.addBos ?? true,
    valueVectors: integerOption("valueVectors", options.valueVectors, 1, 1, 64),
    valueFiller: options.valueFiller ?? "",
  };
  if (!VALUE_STRATEGIES.includes(resolved.value)) {
    throw new MnemoError(
      "INVALID_OPTION",
      `Unknown value strategy "${resolved.value}"; use one of ${VALUE_STRATEGIES.join(", ")}.`,
    );
  }
  if (!resolved.keyTemplate.includes("{text}")) {
    throw new MnemoError("INVALID_OPTION", 'keyTemplate must contain "{text}".');
  }
  if (resolved.valueVectors > 1 && resolved.value !== "hidden-state") {
    throw new MnemoError(
      "INVALID_OPTION",
      `valueVectors (${resolved.valueVectors}) applies to the "hidden-state" value only (the other strategies set their own count): use value "hidden-state" with a valueFiller token, or valueVectors 1.`,
    );
  }
  let fillerToken: number | undefined;
  if (resolved.valueVectors > 1) {
    const filler = backend.tokenize(resolved.valueFiller, {
      addSpecial: false,
      parseSpecial: true,
    });
    if (filler.length !== 1) {
      throw new MnemoError(
        "INVALID_OPTION",
        `valueFiller must be the text of exactly one token of this model (e.g. "<pad>"); "${resolved.valueFiller}" is ${filler.length} tokens.`,
      );
    }
    fillerToken = filler[0];
  }
  const { hiddenWidth, embeddingWidth } = backend.info;
  if (resolved.value === "hidden-state" && hiddenWidth !== embeddingWidth) {
    throw new MnemoError(
      "DIMENSION_MISMATCH",
      `The "hidden-state" value needs hidden width (${hiddenWidth}) = embedding width (${embeddingWidth}).`,
    );
  }
  let sequence: Promise<InferenceSequence> | undefined;
  let disposed = false;
  // One text at a time on the shared sequence.
  let queue: Promise<unknown> = Promise.resolve();

  async function encodeNow(text: string, signal?: AbortSignal): Promise<EncodedMemory> {
    if (disposed) throw new MnemoError("DISPOSED", "This memory encoder was disposed.");
    if (typeof text !== "string" || text.trim().length === 0) {
      throw new MnemoError(
        "INVALID_INPUT",
        "The text to encode (a memory or a query) must be a non-empty string.",
      );
    }
    throwIfAborted(signal);
    const keyText = resolved.keyTemplate.replaceAll("{text}", text);
    const keyTokens = backend.tokenize(keyText, {
      addSpecial: resolved.addBos,
      parseSpecial: true,
    });
    const textTokens = backend.tokenize(text, { addSpecial: false, parseSpecial: true });
    const positions = keyTokens.length + resolved.valueVectors - 1;
    if (positions > backend.info.contextSize) {
      throw new MnemoError(
        "CONTEXT_OVERFLOW",
        `The memory text needs ${positions} positions; the context holds ${backend.info.contextSize}. Split it.`,
      );
    }
    sequence ??= backend.createSequence();
    const seq = await sequence;
    await seq.truncate(0);
    /** Forwards `tokens` and returns the last position's final hidden state. */
    const hiddenAfter = async (tokens: readonly number[]): Promise<Float32Array> => {
      const out = await seq.forwardTokens(tokens, {
        wantHiddenState: true,
        ...(signal ? { signal } : {}),
      });
      if (!out.hiddenState)
        throw new MnemoError("BACKEND_FAILURE", "The backend returned no hidden state.");
      return out.hiddenState;
    };
    const key = await hiddenAfter(keyTokens);
    let value: Float32Array;
    if (resolved.value === "hidden-state") {
      value = new Float32Array(resolved.valueVectors * embeddingWidth);
      value.set(key, 0);
      // Further vectors: the hidden state after each filler token (causal, so vector 1 stays the key).
      for (let i = 1; i < resolved.valueVectors; i++)
        value.set(await hiddenAfter([fillerToken as number]), i * embeddingWidth);
    } else {
      const rows = await backend.tokenEmbeddings(textTokens);
      value = resolved.value === "token-embeddings" ? rows : meanRows(rows, embeddingWidth);
    }
    return { key, value, tokenCount: textTokens.length };
  }

  return {
    backend,
    options: resolved,
    encode(text, opts = {}) {
      const run = queue.then(() => encodeNow(text, opts.signal));
      queue = run.catch(() => undefined);
      return run;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await queue;
      if (sequence) await (await sequence).dispose();
    },
  };
}

/** Mean of `n` rows of `width` values (float64 accumulation). */
export function meanRows(rows: Float32Array, width: number): Float32Array {
  const n = rows.length / width;
  const acc = new Float64Array(width);
  for (let r = 0; r < n; r++)
    for (let i = 0; i < width; i++) (acc[i] as number) += rows[r * width + i] as number;
  const out = new Float32Array(width);
  for (let i = 0; i < width; i++) out[i] = (acc[i] as number) / n;
  return out;
}

/** A memory to add from text. */
export interface MemoryInput {
  /** Id; default: a stable id derived from namespace and text (so re-importing the same text is idempotent). */
  id?: string;
  /** The memory text; it is encoded into the key and the value. */
  text: string;
  /** Namespace to store the memory in; default `"default"`. */
  namespace?: string;
  /** Metadata stored with the memory (usable in recall filters). */
  metadata?: Metadata;
}

/**
 * Encodes memory texts into {@link MemoryRecord}s ready for `store.upsert`.
 * @param onProgress called after each memory with (done, total)
 */
export async function encodeMemories(
  encoder: MemoryEncoder,
  inputs: readonly MemoryInput[],
  onProgress?: (done: number, total: number) => void,
): Promise<MemoryRecord[]> {
  const out: MemoryRecord[] = [];
  for (const input of inputs) {
    const { key, value } = await encoder.encode(input.text);
    out.push({
      id: input.id ?? (await stableId(input.namespace ?? "", input.text)),
      key,
      value,
      text: input.text,
      ...(input.namespace === undefined ? {} : { namespace: input.namespace }),
      ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
    });
    onProgress?.(out.length, inputs.length);
  }
  return out;
}

/** `m-` + the first 16 hex digits of SHA-256(namespace + "\n" + text). */
async function stableId(namespace: string, text: string): Promise<string> {
  const data = new TextEncoder().encode(`${namespace}\n${text}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return `m-${Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

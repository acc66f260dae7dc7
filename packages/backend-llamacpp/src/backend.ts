import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename } from "node:path";
import {
  checkTokenIds,
  checkVector,
  enumOption,
  type ForwardOptions,
  type ForwardResult,
  type InferenceBackend,
  type InferenceSequence,
  integerOption,
  MnemoError,
  type ModelInfo,
  type SequenceOptions,
  SerialQueue,
  type TokenizeOptions,
  throwIfAborted,
} from "@mnemo/core";
import koffi from "koffi";
import {
  GGML_TYPE_F32,
  LLAMA_POOLING_TYPE_NONE,
  type LlamaApi,
  loadNative,
  type NativeBatch,
  type Ptr,
} from "./native.js";

/** Options of {@link loadLlamaCppBackend}. */
export interface LlamaCppBackendOptions {
  /** Path of a single-file GGUF model. */
  modelPath: string;
  /** Default context size (KV-cache positions) of each sequence. Integer ≥ 1; default 2048. */
  contextSize?: number;
  /**
   * Most positions sent to llama.cpp in one `llama_decode` call (llama.cpp's `n_batch` and
   * `n_ubatch`). Longer inputs are split into several calls. Integer ≥ 1; default 512.
   */
  batchSize?: number;
  /**
   * CPU threads per decode. Integer ≥ 1; default `clamp(os.availableParallelism() − 1, 1, 4)`: one
   * core is left to the event loop and everything else, because ggml's threads spin at barriers
   * and collapse when a core is taken away (measured on a busy 2-core box: Gemma 3 270M decode
   * ~25 ms/token with 1 thread vs 160–460 ms with 2).
   */
  threads?: number;
  /**
   * Layers to offload to a GPU (llama.cpp's `n_gpu_layers`; −1 = all). Default 0. Only has an
   * effect with a GPU build of the binaries; the CPU build ignores it.
   */
  gpuLayers?: number;
  /**
   * llama.cpp's flash attention: `"auto"` (llama.cpp decides; default), `"on"`, `"off"`. On the CPU
   * its kernel accumulates V·softmax in float16, so logits differ from an f32 reference by up to
   * ~1e-2; `"off"` with `kvCacheType: "f32"` computes attention in float32.
   */
  flashAttention?: "auto" | "on" | "off";
  /** Element type of the KV cache: `"f16"` (default, half the memory) or `"f32"` (exact). */
  kvCacheType?: "f16" | "f32";
}

/** Architectures whose graph multiplies *token* inputs (not embedding inputs) by `sqrt(n_embd)`. */
const TOKEN_ONLY_SQRT_SCALE = new Set(["gemma3", "gemma3n", "gemma-embedding", "gemma4"]);

const MIB = 1024 * 1024;
const SEQ = 0;

/** llama.h `enum llama_flash_attn_type`. */
const FLASH_ATTN_TYPE = { auto: -1, off: 0, on: 1 } as const;
/** ggml.h `enum ggml_type` values of the KV cache types offered. */
const GGML_TYPE = { f32: 0, f16: 1 } as const;

/** `clamp(availableParallelism() − 1, 1, 4)`. */
function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

function decodeAsync(api: LlamaApi, ctx: Ptr, batch: NativeBatch): Promise<number> {
  return new Promise((resolve, reject) => {
    api.llama_decode.async(ctx, batch, (err: unknown, rc: number) => {
      if (err) reject(err);
      else resolve(rc);
    });
  });
}

function callAsync<T>(fn: LlamaApi[keyof LlamaApi], ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    (fn as { async: (...a: unknown[]) => void }).async(...args, (err: unknown, res: T) => {
      if (err) reject(err);
      else resolve(res);
    });
  });
}

/** Copies `count` floats from native memory. */
function copyFloats(ptr: Ptr, count: number): Float32Array {
  return new Float32Array(koffi.view(ptr, count * 4)).slice();
}

/** Where the input-embedding matrix lives in the model file. */
interface EmbeddingTable {
  /** Absolute byte offset of row 0 in the file. */
  offset: number;
  /** Bytes per row. */
  rowBytes: number;
  /** ggml type of the tensor. */
  type: number;
  /** Values per row (= n_embd). */
  width: number;
}

/**
 * An {@link InferenceBackend} over llama.cpp (the prebuilt libraries of node-llama-cpp, called
 * through koffi). Create it with {@link loadLlamaCppBackend}.
 *
 * Each sequence owns its own `llama_context` (its own KV cache, compute buffers and threads), so
 * sequences are fully independent and may run concurrently; calls on one sequence are serialized.
 */
export class LlamaCppBackend implements InferenceBackend {
  /** Model facts; see {@link ModelInfo}. `identity` is `${architecture}:${file bytes}:${sha256 of the first MiB}`. */
  readonly info: ModelInfo;
  /** The options the backend was loaded with, defaults filled in. */
  readonly options: Readonly<Required<LlamaCppBackendOptions>>;

  private readonly api: LlamaApi;
  private model: Ptr | null;
  private readonly vocab: Ptr;
  private readonly embdTable: EmbeddingTable;
  private readonly pieceCache = new Map<number, Uint8Array>();
  private readonly sequences = new Set<LlamaCppSequence>();
  private readonly creating = new Set<Promise<unknown>>();
  private disposed = false;

  /** @internal use {@link loadLlamaCppBackend}. */
  constructor(
    api: LlamaApi,
    model: Ptr,
    info: ModelInfo,
    options: Required<LlamaCppBackendOptions>,
    embdTable: EmbeddingTable,
  ) {
    this.api = api;
    this.model = model;
    this.vocab = api.llama_model_get_vocab(model) as Ptr;
    this.info = info;
    this.options = Object.freeze({ ...options });
    this.embdTable = embdTable;
  }

  private assertAlive(): void {
    if (this.disposed) {
      throw new MnemoError("DISPOSED", "This llama.cpp backend has been disposed.");
    }
  }

  /** @internal Validates token ids; throws `INVALID_INPUT`. */
  checkTokens(tokens: unknown, what: string, allowEmpty: boolean): number[] {
    return checkTokenIds(tokens, this.info.vocabSize, what, allowEmpty);
  }

  /**
   * Text → token ids (llama.cpp's tokenizer for the model's vocabulary).
   * @param text any string (UTF-8 encoded for the tokenizer)
   * @param options `addSpecial` (default false) prepends BOS where the model wants it;
   *   `parseSpecial` (default true) maps special-token text such as `<recall>` to its id
   * @throws MnemoError `INVALID_INPUT` if `text` is not a string, `DISPOSED`
   */
  tokenize(text: string, options: TokenizeOptions = {}): number[] {
    this.assertAlive();
    if (typeof text !== "string") {
      throw new MnemoError("INVALID_INPUT", "tokenize() takes a string.");
    }
    const bytes = Buffer.from(text, "utf8");
    const add = options.addSpecial ?? false;
    const parse = options.parseSpecial ?? true;
    let cap = bytes.length + 8;
    for (let attempt = 0; attempt < 2; attempt++) {
      const out = new Int32Array(cap);
      const n = this.api.llama_tokenize(
        this.vocab,
        bytes,
        bytes.length,
        out,
        cap,
        add,
        parse,
      ) as number;
      if (n >= 0) return Array.from(out.subarray(0, n));
      if (n === -2147483648) break;
      cap = -n;
    }
    throw new MnemoError("BACKEND_FAILURE", "llama_tokenize failed (text too long?).", {
      details: { bytes: bytes.length },
    });
  }

  /**
   * The raw bytes token `token` stands for (special tokens rendered as their text; SentencePiece
   * byte tokens as the byte itself; `▁` as a space). May be a partial UTF-8 character.
   * @returns a fresh `Uint8Array` (safe to modify)
   * @throws MnemoError `INVALID_INPUT` for an id outside `[0, vocabSize)`, `DISPOSED`
   */
  tokenBytes(token: number): Uint8Array {
    this.assertAlive();
    this.checkTokens([token], "token", false);
    let piece = this.pieceCache.get(token);
    if (!piece) {
      let cap = 32;
      for (;;) {
        const buf = Buffer.alloc(cap);
        const n = this.api.llama_token_to_piece(this.vocab, token, buf, cap, 0, true) as number;
        if (n >= 0) {
          piece = new Uint8Array(buf.subarray(0, n));
          break;
        }
        cap = -n;
      }
      this.pieceCache.set(token, piece);
    }
    return piece.slice();
  }

  /**
   * Token ids → text (llama.cpp's detokenizer; special tokens rendered as their text, nothing
   * removed). Invalid UTF-8 (a split character) becomes U+FFFD.
   * @throws MnemoError `INVALID_INPUT` for an id outside the vocabulary, `DISPOSED`
   */
  detokenize(tokens: readonly number[]): string {
    this.assertAlive();
    const list = this.checkTokens(tokens, "tokens", true);
    if (list.length === 0) return "";
    const ids = Int32Array.from(list);
    let cap = list.length * 8 + 16;
    for (let attempt = 0; attempt < 2; attempt++) {
      const buf = Buffer.alloc(cap);
      const n = this.api.llama_detokenize(
        this.vocab,
        ids,
        ids.length,
        buf,
        cap,
        false,
        true,
      ) as number;
      if (n >= 0) return new TextDecoder("utf-8").decode(buf.subarray(0, n));
      cap = -n;
    }
    throw new MnemoError("BACKEND_FAILURE", "llama_detokenize failed.");
  }

  /**
   * The model's own input-embedding rows (`token_embd.weight`, dequantized by ggml's own
   * `to_float`) multiplied by {@link ModelInfo.inputScale}, so that injecting row `i` with
   * `forwardEmbeddings` equals feeding `tokens[i]`.
   * @returns `Float32Array` of `tokens.length × embeddingWidth` values
   * @throws MnemoError `INVALID_INPUT` for an id outside the vocabulary, `IO_ERROR` if the model
   *   file can no longer be read, `DISPOSED`
   */
  async tokenEmbeddings(tokens: readonly number[]): Promise<Float32Array> {
    this.assertAlive();
    const list = this.checkTokens(tokens, "tokens", true);
    const { offset, rowBytes, type, width } = this.embdTable;
    const outWidth = this.info.embeddingWidth;
    const out = new Float32Array(list.length * outWidth);
    const scale = Math.fround(this.info.inputScale);
    let fd: number;
    try {
      fd = openSync(this.options.modelPath, "r");
    } catch (cause) {
      throw new MnemoError(
        "IO_ERROR",
        `Cannot reopen ${this.options.modelPath}: ${String(cause)}`,
        {
          cause,
        },
      );
    }
    try {
      const raw = Buffer.alloc(rowBytes);
      const row = new Float32Array(width);
      for (let i = 0; i < list.length; i++) {
        const pos = offset + (list[i] as number) * rowBytes;
        const got = readSync(fd, raw, 0, rowBytes, pos);
        if (got !== rowBytes) {
          throw new MnemoError(
            "IO_ERROR",
            `Short read of token_embd row ${list[i]} (file changed?).`,
          );
        }
        if (type === GGML_TYPE_F32) {
          row.set(new Float32Array(raw.buffer, raw.byteOffset, width));
        } else {
          this.api.toFloat(type, raw, row, width);
        }
        const base = i * outWidth;
        if (scale === 1) out.set(row, base);
        else
          for (let j = 0; j < width; j++) out[base + j] = Math.fround((row[j] as number) * scale);
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /**
   * Opens a sequence with its own `llama_context` (empty KV cache of `contextSize` positions).
   * @param options `contextSize` (integer ≥ 1, default the backend's)
   * @throws MnemoError `INVALID_OPTION`, `BACKEND_FAILURE` (llama.cpp could not create the context,
   *   e.g. out of memory), `DISPOSED`
   */
  async createSequence(options: SequenceOptions = {}): Promise<LlamaCppSequence> {
    this.assertAlive();
    const contextSize = integerOption(
      "contextSize",
      options.contextSize,
      this.info.contextSize,
      1,
      1 << 24,
    );
    const { batchSize, threads, flashAttention, kvCacheType } = this.options;
    const defaults = this.api.llama_context_default_params() as Record<string, unknown>;
    const params = {
      ...defaults,
      n_ctx: contextSize,
      n_batch: batchSize,
      n_ubatch: batchSize,
      n_seq_max: 1,
      n_threads: threads,
      n_threads_batch: threads,
      pooling_type: LLAMA_POOLING_TYPE_NONE,
      embeddings: false,
      no_perf: true,
      flash_attn_type: FLASH_ATTN_TYPE[flashAttention],
      type_k: GGML_TYPE[kvCacheType],
      type_v: GGML_TYPE[kvCacheType],
    };
    this.api.takeErrors();
    const creating = callAsync<Ptr | null>(this.api.llama_init_from_model, this.model, params);
    this.creating.add(creating);
    let ctx: Ptr | null;
    try {
      ctx = await creating;
    } finally {
      this.creating.delete(creating);
    }
    if (!ctx) {
      throw new MnemoError(
        "BACKEND_FAILURE",
        `llama.cpp could not create a context of ${contextSize} positions: ${this.api.takeErrors().slice(-3).join(" | ") || "no details"}`,
        { details: { contextSize } },
      );
    }
    if (this.disposed) {
      this.api.llama_free(ctx);
      this.assertAlive();
    }
    const nCtx = this.api.llama_n_ctx(ctx) as number;
    if (nCtx < contextSize) {
      this.api.llama_free(ctx);
      throw new MnemoError(
        "BACKEND_FAILURE",
        `llama.cpp gave a context of ${nCtx} positions, fewer than the ${contextSize} asked for.`,
      );
    }
    // llama.cpp clamps n_batch to n_ctx for causal models: never send more than it accepts
    const nBatch = Math.min(batchSize, this.api.llama_n_batch(ctx) as number);
    const seq = new LlamaCppSequence(this.api, this, ctx, contextSize, nBatch, () =>
      this.sequences.delete(seq),
    );
    this.sequences.add(seq);
    return seq;
  }

  /** Frees every sequence, then the model. Idempotent; afterwards every method throws `DISPOSED`. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // contexts still being created must exist before the model can be freed
    await Promise.allSettled([...this.creating]);
    await Promise.all([...this.sequences].map((s) => s.dispose()));
    if (this.model) {
      this.api.llama_model_free(this.model);
      this.model = null;
    }
  }
}

/**
 * One sequence of a {@link LlamaCppBackend}: a `llama_context` with its own KV cache. Positions are
 * numbered `0 … length − 1`; tokens and injected vectors each take one position.
 */
export class LlamaCppSequence implements InferenceSequence {
  private readonly api: LlamaApi;
  private readonly backend: LlamaCppBackend;
  private ctx: Ptr | null;
  private readonly mem: Ptr;
  private readonly onDispose: () => void;
  private readonly queue = new SerialQueue();
  private readonly batchSize: number;
  private tokBatch: NativeBatch | null = null;
  private embBatch: NativeBatch | null = null;
  private filled = 0;
  private disposed = false;
  /** Context size (positions) of this sequence. */
  readonly contextSize: number;

  /** @internal use {@link LlamaCppBackend.createSequence}. */
  constructor(
    api: LlamaApi,
    backend: LlamaCppBackend,
    ctx: Ptr,
    contextSize: number,
    batchSize: number,
    onDispose: () => void,
  ) {
    this.api = api;
    this.backend = backend;
    this.ctx = ctx;
    this.mem = api.llama_get_memory(ctx) as Ptr;
    this.contextSize = contextSize;
    this.batchSize = batchSize;
    this.onDispose = onDispose;
  }

  /** Number of KV-cache positions filled (tokens + injected vectors). */
  get length(): number {
    return this.filled;
  }

  private assertAlive(): void {
    if (this.disposed) throw new MnemoError("DISPOSED", "This sequence has been disposed.");
  }

  private checkRoom(n: number): void {
    if (this.filled + n > this.contextSize) {
      throw new MnemoError(
        "CONTEXT_OVERFLOW",
        `Cannot add ${n} positions to a sequence holding ${this.filled} of ${this.contextSize}.`,
        { details: { length: this.filled, adding: n, contextSize: this.contextSize } },
      );
    }
  }

  /** Allocates a native batch (tokens when `width` is 0, else vectors) and sets seq ids once. */
  private allocBatch(width: number): NativeBatch {
    const b = this.api.llama_batch_init(this.batchSize, width, 1) as NativeBatch;
    if (!b.pos || !b.n_seq_id || !b.seq_id || !b.logits || !(width ? b.embd : b.token)) {
      throw new MnemoError("BACKEND_FAILURE", "llama_batch_init returned an incomplete batch.");
    }
    const nSeq = new Int32Array(koffi.view(b.n_seq_id, this.batchSize * 4));
    nSeq.fill(1);
    const seqPtrs = new BigUint64Array(koffi.view(b.seq_id, this.batchSize * 8));
    for (let i = 0; i < this.batchSize; i++) {
      new Int32Array(koffi.view(seqPtrs[i] as bigint, 4))[0] = SEQ;
    }
    return b;
  }

  /**
   * Decodes positions `[filled, filled + count)` from `batch` (already holding the inputs at
   * `0 … count − 1`), asking for output at the last one when `output`.
   */
  private async decodeChunk(
    batch: NativeBatch,
    count: number,
    output: boolean,
    hidden: boolean,
  ): Promise<void> {
    const pos = new Int32Array(koffi.view(batch.pos as bigint, count * 4));
    const logits = new Int8Array(koffi.view(batch.logits as bigint, count));
    for (let i = 0; i < count; i++) {
      pos[i] = this.filled + i;
      logits[i] = 0;
    }
    if (output) logits[count - 1] = 1;
    const ctx = this.ctx as Ptr;
    if (hidden) this.api.llama_set_embeddings(ctx, true);
    this.api.takeErrors();
    let rc: number;
    try {
      rc = await decodeAsync(this.api, ctx, { ...batch, n_tokens: count });
    } finally {
      if (hidden) this.api.llama_set_embeddings(ctx, false);
    }
    if (rc !== 0) {
      throw new MnemoError(
        "BACKEND_FAILURE",
        `llama_decode returned ${rc}: ${this.api.takeErrors().slice(-2).join(" | ") || "no details"}`,
        { details: { rc, length: this.filled, count } },
      );
    }
    this.filled += count;
  }

  /** Removes positions ≥ `length` from the KV cache. */
  private removeFrom(length: number): void {
    const ok = this.api.llama_memory_seq_rm(this.mem, SEQ, length, -1) as boolean;
    if (!ok) {
      throw new MnemoError(
        "BACKEND_FAILURE",
        `llama.cpp could not truncate the KV cache to ${length}.`,
      );
    }
    this.filled = length;
  }

  /**
   * Runs `n` positions through the model in chunks of at most `batchSize` (the last position alone
   * when the hidden state is wanted), and reads the outputs of the last one. On failure or abort the
   * sequence is rolled back to its previous length.
   */
  private async run(
    n: number,
    fill: (batch: NativeBatch, from: number, count: number) => void,
    kind: "tokens" | "vectors",
    options: ForwardOptions,
  ): Promise<ForwardResult> {
    if (!this.ctx) throw new MnemoError("DISPOSED", "This sequence has been disposed.");
    throwIfAborted(options.signal);
    this.checkRoom(n);
    const wantHidden = options.wantHiddenState === true;
    let batch: NativeBatch;
    if (kind === "tokens") {
      this.tokBatch ??= this.allocBatch(0);
      batch = this.tokBatch;
    } else {
      this.embBatch ??= this.allocBatch(this.backend.info.embeddingWidth);
      batch = this.embBatch;
    }
    const start = this.filled;
    // With embeddings on, llama.cpp outputs every position of the batch (logits + hidden state),
    // so the hidden state is asked for on a batch holding only the last position.
    const bulk = wantHidden ? n - 1 : n;
    try {
      for (let from = 0; from < bulk; from += this.batchSize) {
        const count = Math.min(this.batchSize, bulk - from);
        fill(batch, from, count);
        await this.decodeChunk(batch, count, !wantHidden && from + count === n, false);
        throwIfAborted(options.signal);
      }
      if (wantHidden) {
        fill(batch, n - 1, 1);
        await this.decodeChunk(batch, 1, true, true);
      }
    } catch (e) {
      if (this.ctx && this.filled !== start) {
        try {
          this.removeFrom(start);
        } catch {
          // keep the original error
        }
      }
      throw e;
    }
    const ctx = this.ctx as Ptr;
    const info = this.backend.info;
    const lp = this.api.llama_get_logits_ith(ctx, -1) as Ptr | null;
    if (!lp) throw new MnemoError("BACKEND_FAILURE", "llama.cpp returned no logits.");
    const result: ForwardResult = { logits: copyFloats(lp, info.vocabSize) };
    if (wantHidden) {
      const hp = this.api.llama_get_embeddings_ith(ctx, -1) as Ptr | null;
      if (!hp) throw new MnemoError("BACKEND_FAILURE", "llama.cpp returned no hidden state.");
      result.hiddenState = copyFloats(hp, info.hiddenWidth);
    }
    return result;
  }

  /**
   * Appends `tokens` at positions `length …` and returns the logits of the last one (and its
   * final-norm hidden state when `wantHiddenState`). Inputs longer than `batchSize` are decoded in
   * several `llama_decode` calls; the event loop stays free (koffi async calls).
   * @param tokens token ids in `[0, vocabSize)`, at least one
   * @returns `logits` (`vocabSize` floats), `hiddenState` (`hiddenWidth` floats) when asked
   * @throws MnemoError `INVALID_INPUT`, `CONTEXT_OVERFLOW`, `BACKEND_FAILURE`, `ABORTED`, `DISPOSED`
   */
  forwardTokens(tokens: readonly number[], options: ForwardOptions = {}): Promise<ForwardResult> {
    let list: number[];
    try {
      this.assertAlive();
      list = this.backend.checkTokens(tokens, "tokens", false);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.queue.run(() =>
      this.run(
        list.length,
        (batch, from, count) => {
          new Int32Array(koffi.view(batch.token as bigint, count * 4)).set(
            list.slice(from, from + count),
          );
        },
        "tokens",
        options,
      ),
    );
  }

  /**
   * Appends `vectors.length / embeddingWidth` embedding vectors (`inputs_embeds`) as the next
   * positions and returns the logits of the last one (and its hidden state when asked). Vectors are
   * in the space of {@link LlamaCppBackend.tokenEmbeddings} (already scaled by `inputScale`).
   * @param vectors `Float32Array` of `count × embeddingWidth` finite values, count ≥ 1
   * @throws MnemoError `DIMENSION_MISMATCH`, `NON_FINITE_VECTOR`, `INVALID_INPUT`, `CONTEXT_OVERFLOW`,
   *   `BACKEND_FAILURE`, `ABORTED`, `DISPOSED`
   */
  forwardEmbeddings(vectors: Float32Array, options: ForwardOptions = {}): Promise<ForwardResult> {
    const width = this.backend.info.embeddingWidth;
    let data: Float32Array;
    try {
      this.assertAlive();
      data = checkVector(vectors, width, "input embedding", "any");
      data = data.slice(); // the caller may change it while we wait in the queue
    } catch (e) {
      return Promise.reject(e);
    }
    return this.queue.run(() =>
      this.run(
        data.length / width,
        (batch, from, count) => {
          new Float32Array(koffi.view(batch.embd as bigint, count * width * 4)).set(
            data.subarray(from * width, (from + count) * width),
          );
        },
        "vectors",
        options,
      ),
    );
  }

  /**
   * Drops every position ≥ `length` from the KV cache (`llama_memory_seq_rm`).
   * @param length integer in `[0, this.length]`
   * @throws MnemoError `INVALID_INPUT` for a bad length, `BACKEND_FAILURE`, `DISPOSED`
   */
  truncate(length: number): Promise<void> {
    try {
      this.assertAlive();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.queue.run(() => {
      if (!this.ctx) throw new MnemoError("DISPOSED", "This sequence has been disposed.");
      if (
        typeof length !== "number" ||
        !Number.isInteger(length) ||
        length < 0 ||
        length > this.filled
      ) {
        throw new MnemoError(
          "INVALID_INPUT",
          `Cannot truncate to ${String(length)}: must be an integer in [0, ${this.filled}].`,
          { details: { length, current: this.filled } },
        );
      }
      if (length < this.filled) this.removeFrom(length);
    });
  }

  /** Frees the context and its KV cache after pending calls finish. Idempotent. */
  dispose(): Promise<void> {
    if (this.disposed) return this.queue.run(() => undefined);
    this.disposed = true;
    return this.queue.run(() => {
      if (this.tokBatch) this.api.llama_batch_free(this.tokBatch);
      if (this.embBatch) this.api.llama_batch_free(this.embBatch);
      this.tokBatch = null;
      this.embBatch = null;
      if (this.ctx) this.api.llama_free(this.ctx);
      this.ctx = null;
      this.onDispose();
    });
  }
}

// ---- loading -----------------------------------------------------------------------------------

function readMeta(api: LlamaApi, model: Ptr, key: string): string | undefined {
  const buf = Buffer.alloc(512);
  const n = api.llama_model_meta_val_str(model, key, buf, buf.length) as number;
  if (n < 0) return undefined;
  if (n >= buf.length) {
    const big = Buffer.alloc(n + 1);
    api.llama_model_meta_val_str(model, key, big, big.length);
    return big.subarray(0, n).toString("utf8");
  }
  return buf.subarray(0, n).toString("utf8");
}

function findEmbeddingTable(
  api: LlamaApi,
  path: string,
  width: number,
  vocab: number,
): EmbeddingTable {
  const ctx = api.gguf_init_from_file(path, { no_alloc: true, ctx: null }) as Ptr | null;
  if (!ctx)
    throw new MnemoError("MODEL_INVALID", `gguf could not read the tensor table of ${path}.`);
  try {
    const id = api.gguf_find_tensor(ctx, "token_embd.weight") as bigint | number;
    if (Number(id) < 0) {
      throw new MnemoError("MODEL_INVALID", `${path} has no token_embd.weight tensor.`);
    }
    const type = api.gguf_get_tensor_type(ctx, id) as number;
    const rowBytes = Number(api.ggml_row_size(type, width));
    const size = Number(api.gguf_get_tensor_size(ctx, id));
    if (size !== rowBytes * vocab) {
      throw new MnemoError(
        "MODEL_INVALID",
        `token_embd.weight has ${size} bytes, expected ${vocab} rows of ${rowBytes}.`,
      );
    }
    const offset =
      Number(api.gguf_get_data_offset(ctx)) + Number(api.gguf_get_tensor_offset(ctx, id));
    return { offset, rowBytes, type, width };
  } finally {
    api.gguf_free(ctx);
  }
}

/**
 * Loads a GGUF model with llama.cpp and returns a backend for it.
 *
 * Before loading, the file must exist and start with the GGUF magic; the native libraries are
 * located through node-llama-cpp and their ABI is checked once per process (struct sizes, default
 * parameter values and the llama.cpp release, see README). Loading runs off the event loop.
 *
 * `info.identity` is `${architecture}:${file size in bytes}:${sha256 hex of the first MiB}`.
 *
 * @throws MnemoError `INVALID_OPTION` (bad option), `MODEL_NOT_FOUND` (missing/unreadable file or a
 *   directory), `MODEL_INVALID` (not GGUF, truncated, unsupported architecture, encoder-only),
 *   `ABI_MISMATCH` (binaries differ from the pinned release)
 */
export async function loadLlamaCppBackend(
  options: LlamaCppBackendOptions,
): Promise<LlamaCppBackend> {
  if (
    typeof options !== "object" ||
    options === null ||
    typeof options.modelPath !== "string" ||
    options.modelPath === ""
  ) {
    throw new MnemoError("INVALID_OPTION", "loadLlamaCppBackend needs { modelPath: string }.");
  }
  const opts: Required<LlamaCppBackendOptions> = {
    modelPath: options.modelPath,
    contextSize: integerOption("contextSize", options.contextSize, 2048, 1, 1 << 24),
    batchSize: integerOption("batchSize", options.batchSize, 512, 1, 1 << 16),
    // More threads than cores only adds spin-waiting at ggml's barriers.
    threads: integerOption(
      "threads",
      options.threads,
      defaultThreads(),
      1,
      Math.max(1, availableParallelism()),
    ),
    gpuLayers: integerOption("gpuLayers", options.gpuLayers, 0, -1, 1 << 16),
    flashAttention: enumOption(
      "flashAttention",
      options.flashAttention,
      ["auto", "on", "off"],
      "auto",
    ),
    kvCacheType: enumOption("kvCacheType", options.kvCacheType, ["f16", "f32"], "f16"),
  };
  const path = opts.modelPath;

  let size: number;
  let head: Buffer;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error("not a regular file");
    size = st.size;
    const fd = openSync(path, "r");
    try {
      head = Buffer.alloc(Math.min(size, MIB));
      readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (cause) {
    throw new MnemoError(
      "MODEL_NOT_FOUND",
      `Cannot read model file ${path}: ${String((cause as Error).message ?? cause)}`,
      {
        cause,
        details: { path },
      },
    );
  }
  if (head.length < 24 || head.toString("latin1", 0, 4) !== "GGUF") {
    throw new MnemoError("MODEL_INVALID", `${path} is not a GGUF file (bad magic).`, {
      details: { path },
    });
  }
  const identityHash = createHash("sha256").update(head).digest("hex");

  const api = loadNative();
  const params = {
    ...(api.llama_model_default_params() as Record<string, unknown>),
    n_gpu_layers: opts.gpuLayers,
  };
  api.takeErrors();
  const model = await callAsync<Ptr | null>(api.llama_model_load_from_file, path, params);
  if (!model) {
    throw new MnemoError(
      "MODEL_INVALID",
      `llama.cpp could not load ${path}: ${api.takeErrors().slice(-3).join(" | ") || "no details"}`,
      { details: { path } },
    );
  }
  try {
    if (
      !(api.llama_model_has_decoder(model) as boolean) ||
      (api.llama_model_has_encoder(model) as boolean)
    ) {
      throw new MnemoError("MODEL_INVALID", `${path} is not a decoder-only model.`);
    }
    const vocab = api.llama_model_get_vocab(model) as Ptr;
    const vocabSize = api.llama_vocab_n_tokens(vocab) as number;
    const nEmbd = api.llama_model_n_embd(model) as number;
    const nEmbdInp = api.llama_model_n_embd_inp(model) as number;
    const nEmbdOut = api.llama_model_n_embd_out(model) as number;
    const architecture = readMeta(api, model, "general.architecture") ?? "unknown";
    const name = readMeta(api, model, "general.name") ?? basename(path);
    const eogTokens: number[] = [];
    for (let t = 0; t < vocabSize; t++) if (api.llama_vocab_is_eog(vocab, t)) eogTokens.push(t);
    const bos = api.llama_vocab_bos(vocab) as number;
    const inputScale = TOKEN_ONLY_SQRT_SCALE.has(architecture) ? Math.fround(Math.sqrt(nEmbd)) : 1;
    const table = findEmbeddingTable(api, path, nEmbd, vocabSize);
    // Past the context the model was trained for, its output is garbage: default to at most that,
    // and refuse more when asked explicitly.
    const nCtxTrain = api.llama_model_n_ctx_train(model) as number;
    if (nCtxTrain > 0) {
      if (options.contextSize === undefined)
        opts.contextSize = Math.min(opts.contextSize, nCtxTrain);
      else if (opts.contextSize > nCtxTrain) {
        throw new MnemoError(
          "INVALID_OPTION",
          `contextSize ${opts.contextSize} exceeds the ${nCtxTrain} positions ${basename(path)} was trained for; use at most ${nCtxTrain}.`,
          {
            details: { option: "contextSize", value: opts.contextSize, trainedContext: nCtxTrain },
          },
        );
      }
    }
    const info: ModelInfo = {
      architecture,
      name,
      identity: `${architecture}:${size}:${identityHash}`,
      vocabSize,
      embeddingWidth: nEmbdInp,
      hiddenWidth: nEmbdOut,
      contextSize: opts.contextSize,
      inputScale,
      eogTokens: Object.freeze(eogTokens),
      ...(bos >= 0 && bos < vocabSize ? { bosToken: bos } : {}),
    };
    return new LlamaCppBackend(api, model, Object.freeze(info), opts, table);
  } catch (e) {
    api.llama_model_free(model);
    throw e;
  }
}

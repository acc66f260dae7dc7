import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import {
  checkTokenIds,
  checkVector,
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
import * as ort from "onnxruntime-node";
import type { PreparedModelMeta } from "./prepare.js";
import { halfToFloat } from "./prepare.js";
import { loadTokenizer, type ModelTokenizer } from "./tokenizer.js";

/** Options of {@link loadOnnxBackend}. */
export interface OnnxBackendOptions {
  /**
   * A model rewritten by `prepareOnnxModel` (it needs the sidecar `MODEL.mnemo.json` and
   * `MODEL.embed.bin` beside it).
   */
  modelPath: string;
  /**
   * Folder holding `tokenizer.json` (and optionally `tokenizer_config.json`), Hugging Face format.
   * Default: the model's folder.
   */
  tokenizerDir?: string;
  /**
   * Default context size (KV positions) of each sequence. Integer ≥ 1; default 2048, capped by the
   * model's `maxPositions` when the sidecar states one.
   */
  contextSize?: number;
  /** onnxruntime intra-op threads. Integer ≥ 1; default 1 (no oversubscription on a shared 2-core box). */
  threads?: number;
  /** onnxruntime inter-op threads. Integer ≥ 1; default 1. */
  interOpThreads?: number;
  /**
   * Let onnxruntime's worker threads spin-wait between ops (`session.intra_op.allow_spinning`).
   * Default `false`: spinning burns the other core on a shared machine and collapses when it is busy.
   */
  allowSpinning?: boolean;
  /** onnxruntime graph optimization level. Default `"all"`. */
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
}

const MIB = 1024 * 1024;

/**
 * An {@link InferenceBackend} over onnxruntime-node, for a decoder prepared by `prepareOnnxModel`
 * (inputs `inputs_embeds`, `attention_mask`, optional `position_ids`, `past_key_values.N.*`; outputs
 * `logits`, `last_hidden_state`, `present.N.*`). Create it with {@link loadOnnxBackend}.
 *
 * One `InferenceSession` serves every sequence; each sequence keeps its KV cache as the
 * onnxruntime tensors the previous step returned and feeds them straight back.
 */
export class OnnxBackend implements InferenceBackend {
  /** Model facts. `identity` is `${architecture}:${model bytes}:${sha256 of the first MiB of the model}`. */
  readonly info: ModelInfo;
  /** The options the backend was loaded with, defaults filled in. */
  readonly options: Readonly<Required<OnnxBackendOptions>>;
  /** The sidecar written by `prepareOnnxModel`. */
  readonly meta: Readonly<PreparedModelMeta>;

  private session: ort.InferenceSession | null;
  private readonly tokenizer: ModelTokenizer;
  private readonly embedPath: string;
  private readonly sequences = new Set<OnnxSequence>();
  private disposed = false;

  /** @internal use {@link loadOnnxBackend}. */
  constructor(
    session: ort.InferenceSession,
    info: ModelInfo,
    options: Required<OnnxBackendOptions>,
    meta: PreparedModelMeta,
    tokenizer: ModelTokenizer,
    embedPath: string,
  ) {
    this.session = session;
    this.info = info;
    this.options = Object.freeze({ ...options });
    this.meta = Object.freeze(meta);
    this.tokenizer = tokenizer;
    this.embedPath = embedPath;
  }

  /** @internal */
  assertAlive(): ort.InferenceSession {
    if (this.disposed || !this.session) {
      throw new MnemoError("DISPOSED", "This ONNX backend has been disposed.");
    }
    return this.session;
  }

  /** @internal Validates token ids; throws `INVALID_INPUT`. */
  checkTokens(tokens: unknown, what: string, allowEmpty: boolean): number[] {
    return checkTokenIds(tokens, this.info.vocabSize, what, allowEmpty);
  }

  /**
   * Text → token ids with the model's `tokenizer.json` (`@huggingface/tokenizers`).
   * @param options `addSpecial` (default false) adds the tokenizer's BOS; `parseSpecial` is always
   *   effectively true (special-token text becomes its id; the library has no switch for it)
   * @throws MnemoError `INVALID_INPUT` if `text` is not a string, `DISPOSED`
   */
  tokenize(text: string, options: TokenizeOptions = {}): number[] {
    this.assertAlive();
    if (typeof text !== "string")
      throw new MnemoError("INVALID_INPUT", "tokenize() takes a string.");
    return this.tokenizer.encode(text, options.addSpecial ?? false);
  }

  /**
   * The raw bytes of token `token`: byte-fallback tokens `<0xNN>` give that byte, `▁` a space,
   * special tokens their text. May be a partial UTF-8 character.
   * @throws MnemoError `INVALID_INPUT` for an id outside `[0, vocabSize)`, `DISPOSED`
   */
  tokenBytes(token: number): Uint8Array {
    this.assertAlive();
    this.checkTokens([token], "token", false);
    return this.tokenizer.bytes(token).slice();
  }

  /**
   * Token ids → text: the tokens' bytes joined and decoded as UTF-8 (special tokens rendered as
   * their text, nothing stripped; a split character becomes U+FFFD).
   * @throws MnemoError `INVALID_INPUT` for an id outside the vocabulary, `DISPOSED`
   */
  detokenize(tokens: readonly number[]): string {
    this.assertAlive();
    const list = this.checkTokens(tokens, "tokens", true);
    const parts = list.map((t) => this.tokenizer.bytes(t));
    return new TextDecoder("utf-8").decode(Buffer.concat(parts));
  }

  /**
   * Rows of the embedding table extracted by `prepareOnnxModel`, multiplied by
   * {@link ModelInfo.inputScale} in float32 (exactly what the removed `Gather`/`Mul` computed), so
   * injecting row `i` equals feeding `tokens[i]`. Rows are read from `MODEL.embed.bin` on demand.
   * @returns `Float32Array` of `tokens.length × embeddingWidth`
   * @throws MnemoError `INVALID_INPUT`, `IO_ERROR`, `DISPOSED`
   */
  async tokenEmbeddings(tokens: readonly number[]): Promise<Float32Array> {
    this.assertAlive();
    const list = this.checkTokens(tokens, "tokens", true);
    return this.rows(list);
  }

  /** @internal Embedding rows (scaled) for validated ids. */
  rows(list: readonly number[]): Float32Array {
    const { width, dtype } = this.meta.embeddings;
    const elem = dtype === "float32" ? 4 : 2;
    const rowBytes = width * elem;
    const out = new Float32Array(list.length * width);
    if (list.length === 0) return out;
    const scale = Math.fround(this.info.inputScale);
    let fd: number;
    try {
      fd = openSync(this.embedPath, "r");
    } catch (cause) {
      throw new MnemoError("IO_ERROR", `Cannot open ${this.embedPath}: ${String(cause)}`, {
        cause,
      });
    }
    try {
      const raw = Buffer.alloc(rowBytes);
      for (let i = 0; i < list.length; i++) {
        const got = readSync(fd, raw, 0, rowBytes, (list[i] as number) * rowBytes);
        if (got !== rowBytes)
          throw new MnemoError("IO_ERROR", `Short read of embedding row ${list[i]}.`);
        const base = i * width;
        if (dtype === "float32") {
          const row = new Float32Array(raw.buffer, raw.byteOffset, width);
          if (scale === 1) out.set(row, base);
          else
            for (let j = 0; j < width; j++) out[base + j] = Math.fround((row[j] as number) * scale);
        } else {
          for (let j = 0; j < width; j++) {
            const v = Math.fround(halfToFloat(raw.readUInt16LE(j * 2)));
            out[base + j] = scale === 1 ? v : Math.fround(v * scale);
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /**
   * Opens a sequence with an empty KV cache.
   * @param options `contextSize` (integer ≥ 1, at most the model's `maxPositions`)
   * @throws MnemoError `INVALID_OPTION`, `DISPOSED`
   */
  async createSequence(options: SequenceOptions = {}): Promise<OnnxSequence> {
    const session = this.assertAlive();
    const max = this.meta.maxPositions ?? 1 << 24;
    const contextSize = integerOption(
      "contextSize",
      options.contextSize,
      this.info.contextSize,
      1,
      max,
    );
    const seq = new OnnxSequence(session, this, contextSize, () => this.sequences.delete(seq));
    this.sequences.add(seq);
    return seq;
  }

  /** Frees every sequence and the session. Idempotent; afterwards every method throws `DISPOSED`. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([...this.sequences].map((s) => s.dispose()));
    const s = this.session;
    this.session = null;
    await s?.release();
  }
}

/**
 * One sequence of an {@link OnnxBackend}: the `present.*` tensors of its last step (fed back as
 * `past_key_values.*`) and the number of positions they hold.
 */
export class OnnxSequence implements InferenceSequence {
  private readonly session: ort.InferenceSession;
  private readonly backend: OnnxBackend;
  private readonly contextSize: number;
  private readonly onDispose: () => void;
  private readonly queue = new SerialQueue();
  private past: Map<string, ort.Tensor> | null = new Map();
  private filled = 0;
  private disposed = false;

  /** @internal created by {@link OnnxBackend.createSequence}. */
  constructor(
    session: ort.InferenceSession,
    backend: OnnxBackend,
    contextSize: number,
    onDispose: () => void,
  ) {
    this.session = session;
    this.backend = backend;
    this.contextSize = contextSize;
    this.onDispose = onDispose;
  }

  /** Number of KV positions filled (tokens + injected vectors). */
  get length(): number {
    return this.filled;
  }

  private assertAlive(): void {
    if (this.disposed) throw new MnemoError("DISPOSED", "This sequence has been disposed.");
    this.backend.assertAlive();
  }

  private pastTensor(name: string, heads: number, headDim: number): ort.Tensor {
    const t = this.past?.get(name);
    if (t) return t;
    return new ort.Tensor("float32", new Float32Array(0), [1, heads, 0, headDim]);
  }

  private async run(
    embeds: Float32Array,
    n: number,
    options: ForwardOptions,
  ): Promise<ForwardResult> {
    if (!this.past) throw new MnemoError("DISPOSED", "This sequence has been disposed.");
    throwIfAborted(options.signal);
    if (this.filled + n > this.contextSize) {
      throw new MnemoError(
        "CONTEXT_OVERFLOW",
        `Cannot add ${n} positions to a sequence holding ${this.filled} of ${this.contextSize}.`,
        { details: { length: this.filled, adding: n, contextSize: this.contextSize } },
      );
    }
    const meta = this.backend.meta;
    const info = this.backend.info;
    const total = this.filled + n;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor("float32", embeds, [1, n, info.embeddingWidth]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(total).fill(1n), [1, total]),
    };
    if (meta.positionIds) {
      const pos = new BigInt64Array(n);
      for (let i = 0; i < n; i++) pos[i] = BigInt(this.filled + i);
      feeds.position_ids = new ort.Tensor("int64", pos, [1, n]);
    }
    const fetches = ["logits"];
    for (const l of meta.kv) {
      feeds[l.key] = this.pastTensor(l.key, l.heads, l.headDim);
      feeds[l.value] = this.pastTensor(l.value, l.heads, l.headDim);
      fetches.push(l.present[0], l.present[1]);
    }
    const wantHidden = options.wantHiddenState === true;
    if (wantHidden) fetches.push("last_hidden_state");
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.session.run(feeds, fetches);
    } catch (cause) {
      throw new MnemoError(
        "BACKEND_FAILURE",
        `onnxruntime run failed: ${(cause as Error).message}`,
        {
          cause,
          details: { length: this.filled, count: n },
        },
      );
    }
    if (options.signal?.aborted) {
      // the KV state is unchanged: nothing of this call was committed
      throwIfAborted(options.signal);
    }
    const next = new Map<string, ort.Tensor>();
    for (const l of meta.kv) {
      next.set(l.key, out[l.present[0]] as ort.Tensor);
      next.set(l.value, out[l.present[1]] as ort.Tensor);
    }
    const logitsT = out.logits as ort.Tensor;
    const vocab = info.vocabSize;
    const ld = logitsT.data as Float32Array;
    if (ld.length < vocab || ld.length % vocab !== 0) {
      throw new MnemoError(
        "BACKEND_FAILURE",
        `logits have ${ld.length} values, not a multiple of ${vocab}.`,
      );
    }
    const result: ForwardResult = { logits: ld.slice(ld.length - vocab) };
    if (wantHidden) {
      const h = (out.last_hidden_state as ort.Tensor).data as Float32Array;
      result.hiddenState = h.slice(h.length - info.hiddenWidth);
    }
    this.past = next;
    this.filled = total;
    return result;
  }

  /**
   * Appends `tokens` (as their embedding rows, see {@link OnnxBackend.tokenEmbeddings}) and returns the
   * logits of the last one (and its final hidden state when `wantHiddenState`).
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
    return this.queue.run(() => this.run(this.backend.rows(list), list.length, options));
  }

  /**
   * Appends `vectors.length / embeddingWidth` vectors as `inputs_embeds` and returns the logits of the
   * last one (and its hidden state when asked).
   * @throws MnemoError `DIMENSION_MISMATCH`, `NON_FINITE_VECTOR`, `INVALID_INPUT`, `CONTEXT_OVERFLOW`,
   *   `BACKEND_FAILURE`, `ABORTED`, `DISPOSED`
   */
  forwardEmbeddings(vectors: Float32Array, options: ForwardOptions = {}): Promise<ForwardResult> {
    const width = this.backend.info.embeddingWidth;
    let data: Float32Array;
    try {
      this.assertAlive();
      data = checkVector(vectors, width, "input embedding", "any").slice();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.queue.run(() => this.run(data, data.length / width, options));
  }

  /**
   * Keeps positions `[0, length)` of the KV cache (slices every past tensor along the sequence axis).
   * @throws MnemoError `INVALID_INPUT` for a bad length, `DISPOSED`
   */
  truncate(length: number): Promise<void> {
    try {
      this.assertAlive();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.queue.run(() => {
      if (!this.past) throw new MnemoError("DISPOSED", "This sequence has been disposed.");
      if (
        typeof length !== "number" ||
        !Number.isInteger(length) ||
        length < 0 ||
        length > this.filled
      ) {
        throw new MnemoError(
          "INVALID_INPUT",
          `Cannot truncate to ${String(length)}: must be an integer in [0, ${this.filled}].`,
          {
            details: { length, current: this.filled },
          },
        );
      }
      if (length === this.filled) return;
      const next = new Map<string, ort.Tensor>();
      for (const [name, t] of this.past) {
        const [b, h, p, d] = t.dims as [number, number, number, number];
        const src = t.data as Float32Array;
        const dst = new Float32Array(b * h * length * d);
        for (let i = 0; i < b * h; i++) {
          dst.set(src.subarray(i * p * d, i * p * d + length * d), i * length * d);
        }
        next.set(name, new ort.Tensor("float32", dst, [b, h, length, d]));
      }
      this.past = next;
      this.filled = length;
    });
  }

  /** Drops the KV tensors after pending calls finish. Idempotent. */
  dispose(): Promise<void> {
    if (this.disposed) return this.queue.run(() => undefined);
    this.disposed = true;
    return this.queue.run(() => {
      this.past = null;
      this.onDispose();
    });
  }
}

function readMeta(path: string): PreparedModelMeta {
  const metaPath = `${path}.mnemo.json`;
  let text: string;
  try {
    text = readFileSync(metaPath, "utf8");
  } catch {
    throw new MnemoError(
      "MODEL_INVALID",
      `${path} has no ${metaPath}: run "mnemo onnx prepare IN OUT" on a standard export first.`,
      { details: { path } },
    );
  }
  let meta: PreparedModelMeta;
  try {
    meta = JSON.parse(text) as PreparedModelMeta;
  } catch (cause) {
    throw new MnemoError("MODEL_INVALID", `${metaPath} is not valid JSON.`, { cause });
  }
  if (meta.format !== "mnemo-onnx-prepared" || meta.version !== 1 || !Array.isArray(meta.kv)) {
    throw new MnemoError(
      "MODEL_INVALID",
      `${metaPath} is not a mnemo prepare sidecar (version 1).`,
    );
  }
  return meta;
}

const LEVELS = new Set(["disabled", "basic", "extended", "all"]);

/**
 * Loads a prepared ONNX decoder with onnxruntime-node and returns a backend for it.
 *
 * Checks, in order: the file exists (`MODEL_NOT_FOUND`), the sidecar and embedding table exist and
 * agree, onnxruntime can load it (`MODEL_INVALID` for a file that is not ONNX), and the session has
 * every input and output the backend feeds and fetches (`MODEL_INVALID`, listing what is missing).
 *
 * @throws MnemoError `INVALID_OPTION`, `MODEL_NOT_FOUND`, `MODEL_INVALID`
 */
export async function loadOnnxBackend(options: OnnxBackendOptions): Promise<OnnxBackend> {
  if (
    typeof options !== "object" ||
    options === null ||
    typeof options.modelPath !== "string" ||
    !options.modelPath
  ) {
    throw new MnemoError("INVALID_OPTION", "loadOnnxBackend needs { modelPath: string }.");
  }
  const path = resolve(options.modelPath);
  const level = options.graphOptimizationLevel ?? "all";
  if (!LEVELS.has(level)) {
    throw new MnemoError(
      "INVALID_OPTION",
      `graphOptimizationLevel must be one of ${[...LEVELS].join(", ")}.`,
    );
  }
  const opts: Required<OnnxBackendOptions> = {
    modelPath: path,
    tokenizerDir: options.tokenizerDir ?? dirname(path),
    contextSize: integerOption("contextSize", options.contextSize, 2048, 1, 1 << 24),
    threads: integerOption("threads", options.threads, 1, 1, 1024),
    interOpThreads: integerOption("interOpThreads", options.interOpThreads, 1, 1, 1024),
    allowSpinning: options.allowSpinning ?? false,
    graphOptimizationLevel: level,
  };
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
      `Cannot read model file ${path}: ${(cause as Error).message}`,
      {
        cause,
        details: { path },
      },
    );
  }
  const meta = readMeta(path);
  const embedPath = join(dirname(path), meta.embeddings.file);
  const elem = meta.embeddings.dtype === "float32" ? 4 : 2;
  let embedSize = -1;
  try {
    embedSize = statSync(embedPath).size;
  } catch {
    // reported below
  }
  if (embedSize !== meta.embeddings.rows * meta.embeddings.width * elem) {
    throw new MnemoError(
      "MODEL_INVALID",
      `${embedPath} is missing or has the wrong size (${embedSize} bytes).`,
      {
        details: { path: embedPath },
      },
    );
  }
  const tokenizer = loadTokenizer(opts.tokenizerDir, meta.embeddings.rows);

  const spin = opts.allowSpinning ? "1" : "0";
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      executionProviders: ["cpu"],
      intraOpNumThreads: opts.threads,
      interOpNumThreads: opts.interOpThreads,
      executionMode: "sequential",
      graphOptimizationLevel: level,
      extra: {
        session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } },
      },
    });
  } catch (cause) {
    throw new MnemoError(
      "MODEL_INVALID",
      `onnxruntime could not load ${path}: ${(cause as Error).message}`,
      {
        cause,
        details: { path },
      },
    );
  }
  const needIn = ["inputs_embeds", "attention_mask", ...meta.kv.flatMap((l) => [l.key, l.value])];
  if (meta.positionIds) needIn.push("position_ids");
  const needOut = ["logits", "last_hidden_state", ...meta.kv.flatMap((l) => l.present)];
  const missingIn = needIn.filter((n) => !session.inputNames.includes(n));
  const missingOut = needOut.filter((n) => !session.outputNames.includes(n));
  const extraIn = session.inputNames.filter((n) => !needIn.includes(n));
  if (missingIn.length || missingOut.length || extraIn.length) {
    await session.release();
    throw new MnemoError(
      "MODEL_INVALID",
      `${path} does not match its sidecar: missing inputs [${missingIn.join(", ")}], missing outputs [${missingOut.join(", ")}], unexpected inputs [${extraIn.join(", ")}].`,
      { details: { missingIn, missingOut, extraIn } },
    );
  }
  const contextSize = Math.min(opts.contextSize, meta.maxPositions ?? opts.contextSize);
  const info: ModelInfo = {
    architecture: meta.architecture,
    name: meta.name,
    identity: `${meta.architecture}:${size}:${createHash("sha256").update(head).digest("hex")}`,
    vocabSize: meta.embeddings.rows,
    embeddingWidth: meta.embeddings.width,
    hiddenWidth: meta.hiddenWidth,
    contextSize,
    inputScale: meta.inputScale,
    eogTokens: Object.freeze([...tokenizer.eogTokens]),
    ...(tokenizer.bosToken !== undefined ? { bosToken: tokenizer.bosToken } : {}),
  };
  return new OnnxBackend(
    session,
    Object.freeze(info),
    { ...opts, contextSize },
    meta,
    tokenizer,
    embedPath,
  );
}

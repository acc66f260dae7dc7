/**
 * Fakes for unit tests of PURE loop logic (state machine, records, events). They never stand in
 * for an engine in integration tests: those run llama.cpp on real GGUF files.
 *
 * FakeBackend: a byte-level "model" (vocab = 256 bytes + BOS + EOS + <recall>) whose logits at
 * KV position p favour `script[p]` strongly, so generations are scripted by position.
 */
import type {
  ForwardOptions,
  ForwardResult,
  InferenceBackend,
  InferenceSequence,
  ModelInfo,
} from "../src/backend.js";
import { MnemoError } from "../src/errors.js";
import {
  DEFAULT_NAMESPACE,
  type MemoryCandidate,
  type MemoryRecord,
  type MemoryStore,
  type SearchOptions,
  type StoredMemory,
} from "../src/store.js";
import { checkVector, cosineSimilarity } from "../src/vectors.js";

export const BOS = 256;
export const EOS = 257;
export const RECALL = 258;
export const WIDTH = 4;

export interface ForwardCall {
  kind: "tokens" | "embeddings";
  start: number;
  count: number;
  wantHiddenState: boolean;
  vectors?: Float32Array;
}

export class FakeBackend implements InferenceBackend {
  readonly info: ModelInfo = {
    architecture: "fake",
    name: "fake",
    identity: "fake:1",
    vocabSize: 259,
    embeddingWidth: WIDTH,
    hiddenWidth: WIDTH,
    contextSize: 64,
    inputScale: 1,
    bosToken: BOS,
    eogTokens: [EOS],
  };
  readonly calls: ForwardCall[] = [];
  /** Token to favour at each KV position (the logits of position p-1 predict position p). */
  script: (kvLength: number) => number;
  /** The hidden state returned at a KV position. */
  hidden: (kvLength: number) => Float32Array = (p) => Float32Array.of(1, p, 0, 0);

  constructor(script: (kvLength: number) => number) {
    this.script = script;
  }

  tokenize(text: string, options: { addSpecial?: boolean } = {}): number[] {
    const out: number[] = options.addSpecial ? [BOS] : [];
    const parts = text.split("<recall>");
    parts.forEach((part, i) => {
      if (i > 0) out.push(RECALL);
      out.push(...new TextEncoder().encode(part));
    });
    return out;
  }
  tokenBytes(token: number): Uint8Array {
    if (token < 256) return Uint8Array.of(token);
    if (token === RECALL) return new TextEncoder().encode("<recall>");
    return new Uint8Array(0);
  }
  detokenize(tokens: readonly number[]): string {
    return new TextDecoder().decode(
      Uint8Array.from(tokens.flatMap((t) => [...this.tokenBytes(t)])),
    );
  }
  async tokenEmbeddings(tokens: readonly number[]): Promise<Float32Array> {
    const out = new Float32Array(tokens.length * WIDTH);
    tokens.forEach((t, i) => {
      out.set([t, 1, 0, 0], i * WIDTH);
    });
    return out;
  }
  async createSequence(): Promise<InferenceSequence> {
    return new FakeSequence(this);
  }
  async dispose(): Promise<void> {}
}

class FakeSequence implements InferenceSequence {
  length = 0;
  disposed = false;
  constructor(private readonly backend: FakeBackend) {}

  #result(wantHiddenState: boolean): ForwardResult {
    const logits = new Float32Array(this.backend.info.vocabSize);
    logits[this.backend.script(this.length)] = 50;
    return wantHiddenState ? { logits, hiddenState: this.backend.hidden(this.length) } : { logits };
  }
  async forwardTokens(
    tokens: readonly number[],
    options: ForwardOptions = {},
  ): Promise<ForwardResult> {
    if (this.disposed) throw new MnemoError("DISPOSED", "disposed");
    if (options.signal?.aborted) throw new MnemoError("ABORTED", "aborted");
    this.backend.calls.push({
      kind: "tokens",
      start: this.length,
      count: tokens.length,
      wantHiddenState: !!options.wantHiddenState,
    });
    this.length += tokens.length;
    return this.#result(!!options.wantHiddenState);
  }
  async forwardEmbeddings(
    vectors: Float32Array,
    options: ForwardOptions = {},
  ): Promise<ForwardResult> {
    checkVector(vectors, WIDTH, "injected vector", "any");
    this.backend.calls.push({
      kind: "embeddings",
      start: this.length,
      count: vectors.length / WIDTH,
      wantHiddenState: !!options.wantHiddenState,
      vectors,
    });
    this.length += vectors.length / WIDTH;
    return this.#result(!!options.wantHiddenState);
  }
  async truncate(length: number): Promise<void> {
    this.length = length;
  }
  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

/** A brute-force in-memory store for loop unit tests (the real stores have their own suites). */
export class FakeStore implements MemoryStore {
  readonly dimensions = { keyWidth: WIDTH, valueWidth: WIDTH };
  readonly records = new Map<string, StoredMemory>();
  searches = 0;

  async upsert(memories: readonly MemoryRecord[]): Promise<void> {
    for (const m of memories) {
      const namespace = m.namespace ?? DEFAULT_NAMESPACE;
      this.records.set(`${namespace}\u0000${m.id}`, {
        ...m,
        namespace,
        metadata: m.metadata ?? {},
      });
    }
  }
  async get(ids: readonly string[], namespace = DEFAULT_NAMESPACE) {
    return ids.map((id) => this.records.get(`${namespace}\u0000${id}`));
  }
  async delete(ids: readonly string[], namespace = DEFAULT_NAMESPACE) {
    let n = 0;
    for (const id of ids) if (this.records.delete(`${namespace}\u0000${id}`)) n++;
    return n;
  }
  async count(namespace?: string) {
    return [...this.records.values()].filter(
      (r) => namespace === undefined || r.namespace === namespace,
    ).length;
  }
  async list() {
    return [...this.records.values()];
  }
  async namespaces() {
    return [...new Set([...this.records.values()].map((r) => r.namespace))].sort();
  }
  async search(query: Float32Array, options: SearchOptions): Promise<MemoryCandidate[]> {
    this.searches++;
    const ns = options.namespace ?? DEFAULT_NAMESPACE;
    return [...this.records.values()]
      .filter((r) => r.namespace === ns)
      .map((memory) => ({ memory, score: cosineSimilarity(query, memory.key) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, options.topK);
  }
  async close() {}
}

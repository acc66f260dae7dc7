import { describe, expect, it } from "vitest";
import { isMnemoError, MnemoError } from "../src/errors.js";
import type { GenerationEvent } from "../src/events.js";
import { generate, generateText } from "../src/loop.js";
import { BOS, EOS, FakeBackend, FakeStore, RECALL } from "./fakes.js";

const A = 65; // 'A'
const byte = (s: string) => s.charCodeAt(0);

async function collect(it: AsyncIterable<GenerationEvent>): Promise<GenerationEvent[]> {
  const out: GenerationEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return d / Math.sqrt(na * nb);
}

async function storeWith(...keys: number[][]): Promise<FakeStore> {
  const store = new FakeStore();
  await store.upsert(
    keys.map((k, i) => ({
      id: `m${i}`,
      key: Float32Array.from(k),
      value: Float32Array.of(100 + i, 0, 0, 0),
      text: `memory ${i}`,
    })),
  );
  return store;
}

describe("recall loop (seed scenario)", () => {
  it("prompt ending in the trigger: one injection at position = prompt tokens, score = cosine(query, key)", async () => {
    // Seed: [让, 我, 回, 忆, 一, 下, <recall>] → memory at position 7.
    const prompt = [A, A + 1, A + 2, A + 3, A + 4, A + 5, RECALL];
    const backend = new FakeBackend((p) => (p === 8 ? byte("u") : p < 12 ? byte("x") : EOS));
    const store = await storeWith([1, 0, 0, 0], [1, 7, 0.5, 0], [0, 1, 0, 0]);
    const result = await generateText({
      backend,
      store,
      prompt,
      recall: { temperature: 0 },
      maxTokens: 10,
    });

    const query = backend.hidden(7);
    const scores = [...store.records.values()].map((r) => cosine(query, r.key));
    const best = scores.indexOf(Math.max(...scores));
    expect(result.injections).toHaveLength(1);
    const injection = result.injections[0];
    expect(injection?.position).toBe(7);
    expect(injection?.kvPosition).toBe(7);
    expect(injection?.memoryId).toBe(`m${best}`);
    expect(injection?.score).toBeCloseTo(scores[best] as number, 6);
    expect(injection?.vectorCount).toBe(1);

    // Step by step: prefill with hidden state, inject at 7, then decode steps without hidden state.
    expect(backend.calls[0]).toMatchObject({
      kind: "tokens",
      start: 0,
      count: 7,
      wantHiddenState: true,
    });
    expect(backend.calls[1]).toMatchObject({ kind: "embeddings", start: 7, count: 1 });
    expect([...(backend.calls[1]?.vectors ?? [])]).toEqual([100 + best, 0, 0, 0]);
    expect(
      backend.calls
        .slice(2)
        .every((c) => c.kind === "tokens" && c.count === 1 && !c.wantHiddenState),
    ).toBe(true);
    // The first token comes from the logits AT the memory position (KV length 8 after injection).
    expect(result.tokens[0]).toBe(byte("u"));
    expect(result.text.startsWith("u")).toBe(true);
    expect(result.finishReason).toBe("eos");
  });

  it("events, injections and text agree", async () => {
    const backend = new FakeBackend((p) => (p < 12 ? byte("a") + (p % 3) : EOS));
    const store = await storeWith([1, 7, 0, 0]);
    const result = await generateText({ backend, store, prompt: [A, RECALL], maxTokens: 20 });
    const types = result.events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      "start",
      "recall-start",
      "recall-candidates",
      "memory-injected",
    ]);
    expect(types.at(-1)).toBe("finish");
    const injected = result.events.flatMap((e) =>
      e.type === "memory-injected" ? [e.injection] : [],
    );
    expect(injected).toEqual(result.injections);
    const streamed = result.events
      .map((e) => (e.type === "token" || e.type === "text" ? e.text : ""))
      .join("");
    expect(streamed).toBe(result.text);
    const tokenEvents = result.events.flatMap((e) => (e.type === "token" ? [e.token] : []));
    expect(tokenEvents).toEqual(result.tokens);
    expect(backend.detokenize(result.tokens)).toBe(result.text);
    expect(result.usage).toEqual({
      promptTokens: 2,
      completionTokens: result.tokens.length,
      injectedVectors: 1,
      kvPositions: 2 + 1 + result.tokens.length,
    });
  });

  it("a generated trigger recalls: position counts prompt + generated tokens", async () => {
    // Prompt of 3 tokens; the model emits "b", "c", <recall>, then text.
    const backend = new FakeBackend(
      (p) => [0, 0, 0, byte("b"), byte("c"), RECALL][p] ?? (p < 10 ? byte("z") : EOS),
    );
    const store = await storeWith([1, 5, 0, 0]);
    const result = await generateText({ backend, store, prompt: [BOS, A, A], maxTokens: 20 });
    expect(result.injections).toHaveLength(1);
    // Tokens before the memory: BOS A A b c <recall> = 6.
    expect(result.injections[0]?.position).toBe(6);
    expect(result.injections[0]?.kvPosition).toBe(6);
    const hiddenCalls = backend.calls.filter((c) => c.wantHiddenState);
    expect(hiddenCalls).toHaveLength(1);
    expect(hiddenCalls[0]).toMatchObject({ kind: "tokens", start: 5, count: 1 });
    expect(result.text).toBe("bc<recall>zzz");
  });

  it("a text trigger split across tokens fires on its last token", async () => {
    const trigger = "##";
    const seq = [0, 0, byte("q"), byte("#"), byte("#"), byte("r")];
    const backend = new FakeBackend((p) => seq[p] ?? EOS);
    const store = await storeWith([1, 0, 0, 0]);
    const result = await generateText({
      backend,
      store,
      prompt: [BOS, A],
      recall: { trigger },
      maxTokens: 20,
    });
    expect(result.injections).toHaveLength(1);
    expect(result.injections[0]?.position).toBe(5); // BOS A q # #
    const hiddenCalls = backend.calls.filter((c) => c.wantHiddenState);
    expect(hiddenCalls.map((c) => c.start)).toEqual([4]);
    // A prompt that ends with the trigger text also fires.
    const backend2 = new FakeBackend(() => EOS);
    const r2 = await generateText({
      backend: backend2,
      store,
      prompt: "hi ##",
      recall: { trigger },
      maxTokens: 5,
    });
    expect(r2.injections.map((i) => i.position)).toEqual([
      backend2.tokenize("hi ##", { addSpecial: true }).length,
    ]);
    // Not when the trigger is followed by more text in the same prompt.
    const backend3 = new FakeBackend(() => EOS);
    const r3 = await generateText({
      backend: backend3,
      store,
      prompt: "## hi",
      recall: { trigger },
      maxTokens: 5,
    });
    expect(r3.injections).toHaveLength(0);
  });

  it("n × width values inject n positions; the next token comes from the last one", async () => {
    const backend = new FakeBackend((p) => (p === 5 ? byte("k") : EOS));
    const store = new FakeStore();
    await store.upsert([
      { id: "multi", key: Float32Array.of(1, 2, 0, 0), value: new Float32Array(12).fill(3) },
    ]);
    const result = await generateText({ backend, store, prompt: [A, RECALL], maxTokens: 3 });
    expect(result.injections[0]).toMatchObject({ position: 2, kvPosition: 2, vectorCount: 3 });
    expect(backend.calls[1]).toMatchObject({ kind: "embeddings", start: 2, count: 3 });
    expect(result.tokens[0]).toBe(byte("k"));
  });

  it("maxRecalls caps injections; later triggers are reported as skipped", async () => {
    const backend = new FakeBackend((p) => (p < 12 ? RECALL : EOS));
    const store = await storeWith([1, 1, 0, 0]);
    const result = await generateText({
      backend,
      store,
      prompt: [A],
      recall: { maxRecalls: 2 },
      maxTokens: 8,
    });
    expect(result.injections).toHaveLength(2);
    const skipped = result.events.filter((e) => e.type === "recall-skipped");
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((e) => e.type === "recall-skipped" && e.reason === "max-recalls")).toBe(
      true,
    );
  });

  it("minScore: nothing qualifies → recall-skipped and generation goes on from the trigger's logits", async () => {
    const backend = new FakeBackend((p) => (p === 2 ? byte("n") : EOS));
    const store = await storeWith([0, 0, 1, 0]); // cosine with (1, 2, 0, 0) = 0
    const result = await generateText({
      backend,
      store,
      prompt: [A, RECALL],
      recall: { minScore: 0.5 },
      maxTokens: 3,
    });
    expect(result.injections).toHaveLength(0);
    const skip = result.events.find((e) => e.type === "recall-skipped");
    expect(skip).toMatchObject({ reason: "below-min-score", position: 2 });
    expect(result.tokens[0]).toBe(byte("n"));
  });

  it("empty store / unknown namespace → no-candidates; onNoMemory: error → NO_MEMORY", async () => {
    const backend = new FakeBackend(() => EOS);
    const store = await storeWith([1, 0, 0, 0]);
    const r = await generateText({
      backend,
      store,
      prompt: [A, RECALL],
      recall: { namespace: "nobody" },
    });
    expect(r.events.find((e) => e.type === "recall-skipped")).toMatchObject({
      reason: "no-candidates",
    });
    await expect(
      generateText({
        backend,
        store: new FakeStore(),
        prompt: [A, RECALL],
        recall: { onNoMemory: "error" },
      }),
    ).rejects.toMatchObject({ code: "NO_MEMORY" });
    const events = await collect(
      generate({
        backend,
        store: new FakeStore(),
        prompt: [A, RECALL],
        recall: { onNoMemory: "error" },
      }),
    );
    expect(events.at(-1)).toMatchObject({ type: "error" });
  });

  it("recall: false never asks for a hidden state", async () => {
    const backend = new FakeBackend((p) => (p < 6 ? RECALL : EOS));
    const store = await storeWith([1, 0, 0, 0]);
    const r = await generateText({
      backend,
      store,
      prompt: [A, RECALL],
      recall: false,
      maxTokens: 10,
    });
    expect(r.injections).toHaveLength(0);
    expect(store.searches).toBe(0);
    expect(backend.calls.some((c) => c.wantHiddenState)).toBe(false);
  });
});

describe("stopping", () => {
  it("maxTokens", async () => {
    const backend = new FakeBackend(() => byte("a"));
    const r = await generateText({ backend, prompt: [A], maxTokens: 5 });
    expect(r.tokens).toHaveLength(5);
    expect(r.finishReason).toBe("max-tokens");
  });

  it("stop strings across tokens are cut and never streamed", async () => {
    const out = new TextEncoder().encode("abcSTOPdef");
    const backend = new FakeBackend((p) => (p - 1 < out.length ? (out[p - 1] as number) : EOS));
    const r = await generateText({ backend, prompt: [A], stop: ["STOP"], maxTokens: 50 });
    expect(r.text).toBe("abc");
    expect(r.finishReason).toBe("stop-string");
    const streamed = r.events
      .map((e) => (e.type === "token" || e.type === "text" ? e.text : ""))
      .join("");
    expect(streamed).toBe("abc");
  });

  it("UTF-8: Chinese split over byte tokens streams whole characters only", async () => {
    const out = new TextEncoder().encode("用户的生日是1990年");
    const backend = new FakeBackend((p) => (p - 1 < out.length ? (out[p - 1] as number) : EOS));
    const r = await generateText({ backend, prompt: [A], maxTokens: 100 });
    const deltas = r.events.flatMap((e) => (e.type === "token" ? [e.text] : []));
    expect(deltas.join("")).toBe("用户的生日是1990年");
    expect(deltas.some((d) => d.includes("\uFFFD"))).toBe(false);
    expect(deltas.filter((d) => d.length > 0).every((d) => [...d].length >= 1)).toBe(true);
  });

  it("AbortSignal ends the stream with finish 'aborted'", async () => {
    const backend = new FakeBackend(() => byte("a"));
    const controller = new AbortController();
    const events: GenerationEvent[] = [];
    for await (const e of generate({
      backend,
      prompt: [A],
      maxTokens: 1000,
      signal: controller.signal,
    })) {
      events.push(e);
      if (e.type === "token" && events.filter((x) => x.type === "token").length === 3)
        controller.abort();
    }
    const finish = events.at(-1);
    expect(finish).toMatchObject({ type: "finish", finishReason: "aborted" });
    expect(finish?.type === "finish" && finish.tokens.length).toBe(3);
  });
});

describe("bad input", () => {
  const backend = new FakeBackend(() => EOS);
  const cases: [string, Parameters<typeof generate>[0]][] = [
    ["negative temperature", { backend, prompt: [A], sampling: { temperature: -1 } }],
    ["topP 0", { backend, prompt: [A], sampling: { topP: 0 } }],
    ["topP > 1", { backend, prompt: [A], sampling: { topP: 1.5 } }],
    ["recall topK 0", { backend, prompt: [A], recall: { topK: 0 } }],
    ["recall topK 1.5", { backend, prompt: [A], recall: { topK: 1.5 } }],
    ["recall temperature NaN", { backend, prompt: [A], recall: { temperature: Number.NaN } }],
    ["recall topP 2", { backend, prompt: [A], recall: { topP: 2 } }],
    ["recall namespace empty", { backend, prompt: [A], recall: { namespace: "" } }],
    [
      "recall namespace of 513 characters",
      { backend, prompt: [A], recall: { namespace: "n".repeat(513) } },
    ],
    ["maxTokens 0", { backend, prompt: [A], maxTokens: 0 }],
  ];
  for (const [name, options] of cases) {
    it(`${name} → INVALID_OPTION`, () => {
      try {
        generate(options);
        expect.unreachable("should throw");
      } catch (e) {
        expect(isMnemoError(e, "INVALID_OPTION")).toBe(true);
        expect((e as MnemoError).message.length).toBeGreaterThan(10);
      }
    });
  }

  it("empty prompt and out-of-vocabulary ids → INVALID_INPUT", () => {
    expect(() => generate({ backend, prompt: [] })).toThrow(MnemoError);
    expect(() => generate({ backend, prompt: [999] })).toThrow(/vocabulary/);
  });

  it("prompt longer than the context → CONTEXT_OVERFLOW as an error event", async () => {
    const events = await collect(generate({ backend, prompt: new Array(100).fill(A) }));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "error", error: { code: "CONTEXT_OVERFLOW" } });
  });

  it("non-finite logits → BACKEND_FAILURE error event, not a garbage token", async () => {
    const broken = new FakeBackend(() => A);
    const seqFactory = broken.createSequence.bind(broken);
    broken.createSequence = async () => {
      const seq = await seqFactory();
      const forward = seq.forwardTokens.bind(seq);
      seq.forwardTokens = async (t, o) => ({
        ...(await forward(t, o)),
        logits: new Float32Array(259).fill(Number.NaN),
      });
      return seq;
    };
    for (const temperature of [0, 0.8]) {
      const events = await collect(
        generate({ backend: broken, prompt: [A], sampling: { temperature } }),
      );
      expect(events.at(-1)).toMatchObject({ type: "error", error: { code: "BACKEND_FAILURE" } });
    }
  });

  it("a store of another width → DIMENSION_MISMATCH", () => {
    const store = new FakeStore();
    Object.assign(store, { dimensions: { keyWidth: 8, valueWidth: 4 } });
    expect(() => generate({ backend, store, prompt: [A] })).toThrow(/hidden width/);
  });
});

describe("model config files", () => {
  it("parses encoder settings and refuses bad ones by code", async () => {
    const { parseModelConfig } = await import("../src/model-config.js");
    expect(
      parseModelConfig(
        { trigger: "<recall>", encoder: { value: "hidden-state", keyTemplate: "{text}</s>" } },
        "m.json",
      ),
    ).toEqual({
      trigger: "<recall>",
      encoder: { value: "hidden-state", keyTemplate: "{text}</s>" },
    });
    expect(() => parseModelConfig({ encoder: { value: "nope" } }, "m.json")).toThrow(
      /encoder.value/,
    );
    expect(() =>
      parseModelConfig({ encoder: { keyTemplate: "no placeholder" } }, "m.json"),
    ).toThrow(MnemoError);
    expect(() => parseModelConfig([], "m.json")).toThrow(/not a JSON object/);
    expect(
      parseModelConfig({ encoder: { valueVectors: 4, valueFiller: "<pad>" } }, "m.json"),
    ).toEqual({ encoder: { valueVectors: 4, valueFiller: "<pad>" } });
    for (const valueVectors of [0, 65, 1.5, "4"])
      expect(() => parseModelConfig({ encoder: { valueVectors } }, "m.json")).toThrow(
        expect.objectContaining({ code: "MODEL_INVALID" }),
      );
    expect(() => parseModelConfig({ encoder: { valueFiller: 7 } }, "m.json")).toThrow(
      /encoder.valueFiller/,
    );
    // misspelt keys would silently change how memories are encoded
    expect(() => parseModelConfig({ encoder: { valuevectors: 4 } }, "m.json")).toThrow(
      expect.objectContaining({
        code: "MODEL_INVALID",
        message: expect.stringMatching(/"valuevectors"/),
      }),
    );
    expect(() => parseModelConfig({ encoders: {} }, "m.json")).toThrow(/unknown key "encoders"/);
    expect(
      parseModelConfig({ name: "x", prompt: { template: "{question}", language: ["zh"] } }, "m"),
    ).toEqual({ name: "x", prompt: { template: "{question}", language: ["zh"] } });
  });

  it("formatPrompt puts the text in literally, $ patterns included", async () => {
    const { formatPrompt } = await import("../src/model-config.js");
    expect(formatPrompt("User: {question}\nAssistant: ", "What is my pet's name?")).toBe(
      "User: What is my pet's name?\nAssistant: ",
    );
    // String.prototype.replace would expand $& and $' here
    expect(formatPrompt("Q: {question} A:", "cost $& more$'")).toBe("Q: cost $& more$' A:");
  });

  it("drops the config's vector settings when the user picks another value strategy", async () => {
    const { configEncoderOptions } = await import("../src/model-config.js");
    const recall = {
      value: "hidden-state" as const,
      keyTemplate: "{text}</s>",
      valueVectors: 4,
      valueFiller: "<pad>",
    };
    expect(configEncoderOptions(recall)).toEqual(recall);
    expect(configEncoderOptions(recall, "hidden-state")).toEqual(recall);
    expect(configEncoderOptions(recall, "mean-embedding")).toEqual({
      value: "hidden-state",
      keyTemplate: "{text}</s>",
    });
    expect(configEncoderOptions(undefined, "token-embeddings")).toEqual({});
  });

  it("finds <name>.json beside a GGUF and model.json in a GGUF's or an ONNX model's folder", async () => {
    const { loadModelConfig } = await import("../src/model-config.js");
    const { mkdtemp, mkdir, writeFile, rm } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = await mkdtemp(join(tmpdir(), "mnemo-config-"));
    try {
      await writeFile(join(dir, "a.json"), JSON.stringify({ trigger: "<a>" }));
      await writeFile(join(dir, "model.json"), JSON.stringify({ trigger: "<folder>" }));
      await mkdir(join(dir, "onnx"));
      await writeFile(join(dir, "onnx", "model.json"), JSON.stringify({ trigger: "<onnx>" }));
      // prepare's sidecar is never read as a config
      await writeFile(join(dir, "onnx", "model.mnemo.json"), "not json");
      expect((await loadModelConfig(join(dir, "a.gguf")))?.trigger).toBe("<a>");
      expect((await loadModelConfig(join(dir, "b.gguf")))?.trigger).toBe("<folder>");
      expect((await loadModelConfig(join(dir, "onnx", "model.mnemo.onnx")))?.trigger).toBe(
        "<onnx>",
      );
      expect(await loadModelConfig(join(dir, "weights.bin"))).toBeUndefined();
      await writeFile(join(dir, "onnx", "model.json"), "{");
      await expect(loadModelConfig(join(dir, "onnx", "model.onnx"))).rejects.toMatchObject({
        code: "MODEL_INVALID",
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

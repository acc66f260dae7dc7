#!/usr/bin/env node
// Benchmarks of the recall loop on the real model, measured side by side in one run:
//  1. decode tokens/s of mnemo's loop vs node-llama-cpp's own generation (same GGUF, same threads,
//     same prompt, greedy), interleaved rounds, medians → ratio (target ≥ 0.95);
//  2. the cost of one recall (query hidden state + store search + inject forward) in decode-step
//     units (target ≤ 1.5), with a store of 10,000 memories.
// Writes bench-results/loop.json and prints a markdown table. Env: MNEMO_BENCH_MODEL, MNEMO_BENCH_THREADS,
// MNEMO_BENCH_TOKENS, MNEMO_BENCH_ROUNDS.
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import { generate } from "@mnemo/core";
import { openHnswStore } from "@mnemo/store-hnsw";
import { getLlama } from "node-llama-cpp";

const root = resolve(import.meta.dirname, "../../..");
const modelPath =
  process.env.MNEMO_BENCH_MODEL ?? join(root, ".mnemo/models/gemma-3-270m-q4_k_m.gguf");
// Same default as the backend: one core left free (ggml threads spin-wait; on a shared 2-core
// machine two threads are several times slower than one).
const threads = Number(
  process.env.MNEMO_BENCH_THREADS ?? Math.min(4, Math.max(1, availableParallelism() - 1)),
);
const nTokens = Number(process.env.MNEMO_BENCH_TOKENS ?? 64);
const rounds = Number(process.env.MNEMO_BENCH_ROUNDS ?? 3);
const contextSize = 1024;
const prompt = "Write a short story about a lighthouse keeper who finds a message in a bottle.";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const now = () => performance.now();

// --- mnemo -------------------------------------------------------------------------------------
const backend = await loadLlamaCppBackend({ modelPath, threads, contextSize });
const promptTokens = backend.tokenize(prompt, { addSpecial: true });

async function mnemoDecode() {
  const stamps = [];
  for await (const e of generate({
    backend,
    prompt: promptTokens,
    recall: false,
    sampling: { temperature: 0 },
    maxTokens: nTokens,
    stopAtEos: false,
  })) {
    if (e.type === "token") stamps.push(now());
  }
  return (stamps.length - 1) / ((stamps.at(-1) - stamps[0]) / 1000);
}

// --- node-llama-cpp's own generation --------------------------------------------------------------
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize, threads, batchSize: 512 });

async function nodeLlamaCppDecode() {
  const sequence = context.getSequence();
  try {
    const stamps = [];
    const tokens = model.tokenize(prompt, false).slice();
    if (model.tokens.bos !== undefined && tokens[0] !== model.tokens.bos)
      tokens.unshift(model.tokens.bos);
    for await (const _token of sequence.evaluate(tokens, { temperature: 0 })) {
      stamps.push(now());
      if (stamps.length >= nTokens) break;
    }
    return (stamps.length - 1) / ((stamps.at(-1) - stamps[0]) / 1000);
  } finally {
    sequence.dispose();
  }
}

const mnemoRuns = [];
const nlcRuns = [];
await mnemoDecode(); // warm-up
await nodeLlamaCppDecode();
for (let r = 0; r < rounds; r++) {
  mnemoRuns.push(await mnemoDecode());
  nlcRuns.push(await nodeLlamaCppDecode());
}
await context.dispose();
await model.dispose();
await llama.dispose();

// --- one recall in decode-step units ---------------------------------------------------------------
const N_MEMORIES = 10_000;
const { hiddenWidth, embeddingWidth } = backend.info;
const store = await openHnswStore({
  dimensions: { keyWidth: hiddenWidth, valueWidth: embeddingWidth },
  modelIdentity: backend.info.identity,
});
let seed = 1;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return (seed / 2 ** 31) * 2 - 1;
};
const batch = [];
for (let i = 0; i < N_MEMORIES; i++) {
  batch.push({
    id: `m${i}`,
    key: Float32Array.from({ length: hiddenWidth }, rand),
    value: Float32Array.from({ length: embeddingWidth }, rand),
  });
  if (batch.length === 1000) await store.upsert(batch.splice(0));
}

// One recall = the extra cost of asking for the hidden state in the trigger's forward pass
// + the search + the inject forward pass. The last two are timed inside the loop (recall-start
// is emitted right after the trigger's forward, memory-injected right after the inject); the
// first by prefilling the same prompt with and without the hidden state.
const recallPrompt = backend.tokenize("Let me recall what I know about the user<recall>", {
  addSpecial: true,
});
const searchAndInject = [];
const stepTimes = [];
const prefillWith = [];
const prefillWithout = [];
for (let r = 0; r < 5 * rounds; r++) {
  let recallStart;
  let last;
  for await (const e of generate({
    backend,
    store,
    prompt: recallPrompt,
    recall: { temperature: 0 },
    sampling: { temperature: 0 },
    maxTokens: 8,
    stopAtEos: false,
  })) {
    const t = now();
    if (e.type === "recall-start") recallStart = t;
    if (e.type === "memory-injected") searchAndInject.push(t - recallStart);
    if (e.type === "token") {
      if (last !== undefined) stepTimes.push(t - last);
      last = t;
    }
  }
  for (const [wantHiddenState, times] of [
    [true, prefillWith],
    [false, prefillWithout],
  ]) {
    const seq = await backend.createSequence();
    const t = now();
    await seq.forwardTokens(recallPrompt, { wantHiddenState });
    times.push(now() - t);
    await seq.dispose();
  }
}
const queryMs = Math.max(0, median(prefillWith) - median(prefillWithout));
const recallMs = queryMs + median(searchAndInject);
await store.close();
await backend.dispose();

const result = {
  date: new Date().toISOString(),
  model: modelPath,
  threads,
  tokens: nTokens,
  rounds,
  decode: {
    mnemoTokensPerSecond: mnemoRuns,
    nodeLlamaCppTokensPerSecond: nlcRuns,
    ratio: median(mnemoRuns) / median(nlcRuns),
    target: 0.95,
  },
  recall: {
    memories: N_MEMORIES,
    queryOverheadMs: queryMs,
    searchAndInjectMs: median(searchAndInject),
    recallMs,
    decodeStepMs: median(stepTimes),
    costInDecodeSteps: recallMs / median(stepTimes),
    target: 1.5,
  },
};
mkdirSync(join(root, "bench-results"), { recursive: true });
writeFileSync(join(root, "bench-results/loop.json"), `${JSON.stringify(result, null, 2)}\n`);
console.log(`
| benchmark (${model.filename ?? "model"}, ${threads} threads) | mnemo | reference | ratio | target |
| --- | --- | --- | --- | --- |
| decode tokens/s vs node-llama-cpp | ${median(mnemoRuns).toFixed(1)} | ${median(nlcRuns).toFixed(1)} | ${result.decode.ratio.toFixed(3)} | ≥ 0.95 |
| one recall (query + search in ${N_MEMORIES} + inject), decode steps | ${recallMs.toFixed(1)} ms | step ${median(stepTimes).toFixed(1)} ms | ${result.recall.costInDecodeSteps.toFixed(2)} | ≤ 1.5 |
`);

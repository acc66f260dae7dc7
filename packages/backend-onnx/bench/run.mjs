// Decode speed of @mnemo/backend-onnx, side by side in one run:
//  1. vs transformers.js (@huggingface/transformers 4.3.1, also onnxruntime-node 1.30.0): greedy
//     generation from the same standard-layout ONNX export and the same prompt, decode tokens/s
//     (prefill excluded), on Gemma 3 270M and on the tiny test model; both must emit the same tokens;
//  2. vs @mnemo/backend-llamacpp on Gemma 3 270M (same weights): ms per decode step at 128, 512 and
//     1024 tokens of context.
// Writes bench-results/backend-onnx.json at the repository root. Run: pnpm --filter @mnemo/backend-onnx bench
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import { loadOnnxBackend } from "../dist/index.js";
import {
  generateOnnx,
  generateTransformersJs,
  loadTransformersJs,
  makeTransformersJsDir,
} from "./transformers-js.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const MODELS = join(root, ".mnemo/models");
const GEMMA_DIR = join(MODELS, "gemma-3-270m-onnx");
const TINY_DIR = join(MODELS, "tiny-llama-onnx");
const ONNX = join(GEMMA_DIR, "model.mnemo.onnx");
const GGUF = join(MODELS, "gemma-3-270m-q4_k_m.gguf");
if (!existsSync(ONNX) || !existsSync(GGUF) || !existsSync(join(GEMMA_DIR, "model.onnx"))) {
  console.log(`[bench backend-onnx] skipped: ${ONNX} or ${GGUF} is missing (run pnpm setup).`);
  process.exit(0);
}
const CONTEXTS = [128, 512, 1024];
const STEPS = Number(process.env.MNEMO_BENCH_STEPS ?? 16);
const GEN_TOKENS = Number(process.env.MNEMO_BENCH_GEN_TOKENS ?? 32);
const REPS = Number(process.env.MNEMO_BENCH_REPS ?? 3);
const THREADS = 1;
const PROMPT =
  "The capital of France is Paris. The capital of Germany is Berlin. Write a short story about a lighthouse keeper who";

function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

async function measure(backend) {
  const out = {};
  const filler = backend.tokenize(" The quick brown fox jumps over the lazy dog.".repeat(200));
  for (const ctx of CONTEXTS) {
    const s = await backend.createSequence({ contextSize: ctx + STEPS + 1 });
    await s.forwardTokens(filler.slice(0, ctx));
    let next = 506;
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) {
      const r = await s.forwardTokens([next]);
      next = argmax(r.logits);
    }
    out[ctx] = (performance.now() - t0) / STEPS;
    await s.dispose();
  }
  return out;
}

/** Ours vs transformers.js on one model folder, alternating REPS times; best rate of each. */
async function versusTransformersJs(modelDir, name) {
  const tjsDir = makeTransformersJsDir(
    join(modelDir, "model.onnx"),
    join(modelDir, "model.mnemo.onnx.mnemo.json"),
    join(root, ".mnemo", "bench", "transformers-js", name),
  );
  const ours = await loadOnnxBackend({
    modelPath: join(modelDir, "model.mnemo.onnx"),
    threads: THREADS,
  });
  const tjs = await loadTransformersJs(tjsDir, THREADS);
  const prompt = ours.tokenize(PROMPT, { addSpecial: true });
  const oursRates = [];
  const tjsRates = [];
  let same = true;
  let firstDiff = -1;
  for (let rep = 0; rep < REPS; rep++) {
    const a = await generateOnnx(ours, prompt, GEN_TOKENS);
    const b = await generateTransformersJs(tjs, prompt, GEN_TOKENS);
    oursRates.push((a.steps * 1000) / a.decodeMs);
    tjsRates.push((b.steps * 1000) / b.decodeMs);
    const d = a.tokens.findIndex((t, i) => t !== b.tokens[i]);
    if (d >= 0 || a.tokens.length !== b.tokens.length) {
      same = false;
      firstDiff = d;
    }
  }
  await tjs.model.dispose();
  await ours.dispose();
  const best = (xs) => Math.max(...xs);
  return {
    promptTokens: prompt.length,
    generatedTokens: GEN_TOKENS,
    decodeTokensPerSecond: { onnx: best(oursRates), transformersJs: best(tjsRates) },
    perRep: { onnx: oursRates, transformersJs: tjsRates },
    ratioOnnxOverTransformersJs: best(oursRates) / best(tjsRates),
    sameGreedyTokens: same,
    ...(same ? {} : { firstDifferentToken: firstDiff }),
  };
}

const vsGemma = await versusTransformersJs(GEMMA_DIR, "gemma-3-270m");
const vsTiny = existsSync(join(TINY_DIR, "model.onnx"))
  ? await versusTransformersJs(TINY_DIR, "tiny-llama")
  : "skipped (tiny model missing)";

const onnx = await loadOnnxBackend({ modelPath: ONNX, contextSize: 2048, threads: THREADS });
const onnxMs = await measure(onnx);
await onnx.dispose();
const llama = await loadLlamaCppBackend({ modelPath: GGUF, contextSize: 2048, threads: THREADS });
const llamaMs = await measure(llama);
await llama.dispose();

const result = {
  date: new Date().toISOString(),
  model: "gemma-3-270m (GGUF Q4_K_M; ONNX = the same weights dequantized to float32)",
  threads: THREADS,
  versusTransformersJs: {
    note: "greedy decode tokens/s (prefill excluded), same standard-layout ONNX export and prompt; transformers.js 4.3.1 on onnxruntime-node 1.30.0 (fp32, CPU, same thread count); best of the alternating repetitions",
    "gemma-3-270m": vsGemma,
    "tiny-llama": vsTiny,
  },
  stepsPerPoint: STEPS,
  msPerDecodeStep: { onnx: onnxMs, llamacpp: llamaMs },
  decodeTokensPerSecondAt128: { onnx: 1000 / onnxMs[128], llamacpp: 1000 / llamaMs[128] },
  ratioOnnxOverLlamacpp: Object.fromEntries(CONTEXTS.map((c) => [c, llamaMs[c] / onnxMs[c]])),
};
mkdirSync(join(root, "bench-results"), { recursive: true });
writeFileSync(
  join(root, "bench-results", "backend-onnx.json"),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log(JSON.stringify(result, null, 2));

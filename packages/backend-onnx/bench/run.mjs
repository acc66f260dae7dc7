// Decode cost of @mnemo/backend-onnx vs @mnemo/backend-llamacpp on Gemma 3 270M (same weights),
// side by side in one run: ms per decode step at 128, 512 and 1024 tokens of context.
// Writes bench-results/backend-onnx.json at the repository root. Run: pnpm --filter @mnemo/backend-onnx bench
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import { loadOnnxBackend } from "../dist/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const ONNX = join(root, ".mnemo/models/gemma-3-270m-onnx/model.mnemo.onnx");
const GGUF = join(root, ".mnemo/models/gemma-3-270m-q4_k_m.gguf");
if (!existsSync(ONNX) || !existsSync(GGUF)) {
  console.log(`[bench backend-onnx] skipped: ${ONNX} or ${GGUF} is missing (run pnpm setup).`);
  process.exit(0);
}
const CONTEXTS = [128, 512, 1024];
const STEPS = Number(process.env.MNEMO_BENCH_STEPS ?? 16);

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

const onnx = await loadOnnxBackend({ modelPath: ONNX, contextSize: 2048 });
const onnxMs = await measure(onnx);
await onnx.dispose();
const llama = await loadLlamaCppBackend({ modelPath: GGUF, contextSize: 2048, threads: 1 });
const llamaMs = await measure(llama);
await llama.dispose();

const result = {
  date: new Date().toISOString(),
  model: "gemma-3-270m (GGUF Q4_K_M; ONNX = the same weights dequantized to float32)",
  threads: 1,
  stepsPerPoint: STEPS,
  msPerDecodeStep: { onnx: onnxMs, llamacpp: llamaMs },
  decodeTokensPerSecondAt128: { onnx: 1000 / onnxMs[128], llamacpp: 1000 / llamaMs[128] },
  ratioOnnxOverLlamacpp: Object.fromEntries(CONTEXTS.map((c) => [c, llamaMs[c] / onnxMs[c]])),
  transformersJs: "not measured yet (see packages/backend-onnx/README.md)",
};
mkdirSync(join(root, "bench-results"), { recursive: true });
writeFileSync(
  join(root, "bench-results", "backend-onnx.json"),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log(JSON.stringify(result, null, 2));

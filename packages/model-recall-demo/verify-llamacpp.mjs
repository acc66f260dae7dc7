// Checks that llama.cpp (through node-llama-cpp) tokenizes exactly like training/tok.py and
// computes the same next-token distribution as the PyTorch model.
// Usage: node packages/model-recall-demo/verify-llamacpp.mjs MODEL.gguf REF.json [TOL]
//   REF.json from training/make_reference.py (same checkpoint).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const req = createRequire(path.join(here, "../backend-llamacpp/package.json"));
const { getLlama } = await import(pathToFileURL(req.resolve("node-llama-cpp")).href);

const [modelPath, refPath, tolArg] = process.argv.slice(2);
const tol = Number(tolArg ?? "1e-3");
const ref = JSON.parse(readFileSync(refPath, "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });

let bad = 0;
for (let i = 0; i < ref.strings.length; i++) {
  const got = Array.from(model.tokenize(ref.strings[i], true));
  const want = ref.tokens[i];
  if (got.length !== want.length || got.some((t, j) => t !== want[j])) {
    if (bad < 5)
      console.log(
        "MISMATCH",
        JSON.stringify(ref.strings[i]),
        JSON.stringify(got),
        JSON.stringify(want),
      );
    bad++;
  }
  const back = model.detokenize(got, true);
  if (back !== ref.strings[i] && ref.strings[i] !== "" && !ref.strings[i].includes("\u2581")) {
    if (bad < 5) console.log("ROUNDTRIP", JSON.stringify(ref.strings[i]), JSON.stringify(back));
    bad++;
  }
}
console.log(`tokenizer: ${ref.strings.length - bad}/${ref.strings.length} strings identical`);

const context = await model.createContext({ contextSize: 512, threads: 2 });
let worst = 0;
for (const p of ref.prompts) {
  const seq = context.getSequence();
  const gen = seq.evaluateWithMetadata(
    p.ids,
    { probabilities: true },
    { temperature: 1, topK: 0, topP: 1, minP: 0, yieldEogToken: true },
  );
  const { value } = await gen.next();
  await gen.return();
  let maxDiff = 0;
  let n = 0;
  for (const [t, prob] of value.probabilities) {
    if (prob < 1e-4) continue;
    const d = Math.abs(Math.log(prob) - p.logprobs[t]);
    maxDiff = Math.max(maxDiff, d);
    n++;
  }
  const top = [...value.probabilities.entries()][0];
  const refTop = p.logprobs.indexOf(Math.max(...p.logprobs));
  console.log(
    `prompt ${JSON.stringify(p.prompt.slice(0, 40))}: max |dlogp| over ${n} tokens = ${maxDiff.toExponential(2)}, top llama ${top[0]} torch ${refTop}`,
  );
  worst = Math.max(worst, maxDiff);
  seq.dispose();
}
console.log(`worst |dlogp| ${worst.toExponential(2)} (tolerance ${tol})`);
await context.dispose();
await model.dispose();
process.exit(bad === 0 && worst <= tol ? 0 : 1);

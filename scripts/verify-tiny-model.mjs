// Loads the tiny GGUF model with node-llama-cpp (prebuilt llama.cpp) and checks
// tokenization + greedy generation. Usage: node scripts/verify-tiny-model.mjs [PATH]
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const req = createRequire(path.join(root, "packages/backend-llamacpp/package.json"));
const { getLlama } = await import(pathToFileURL(req.resolve("node-llama-cpp")).href);

const modelPath = path.resolve(process.argv[2] ?? path.join(root, ".mnemo/models/tiny-llama.gguf"));
const t0 = performance.now();
const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath });
const tLoad = performance.now() - t0;

const show = (toks) =>
  toks.map((t) => `${t}:${JSON.stringify(model.detokenize([t], true))}`).join(" ");
const text = "hello <recall> 你好🙂";
const withSpecial = model.tokenize(text, true);
const noSpecial = model.tokenize(text, false);
console.log("vocab", model.tokens.bos, model.tokens.eos, "trainCtx", model.trainContextSize);
console.log("tokenize(special=true) ", JSON.stringify(withSpecial));
console.log("tokenize(special=false)", JSON.stringify(noSpecial));
console.log("pieces", show(withSpecial));
const rt = model.detokenize(withSpecial, true);
console.log("detokenize round trip:", JSON.stringify(rt), rt === text ? "OK" : "MISMATCH");
const recallId = withSpecial.find((t) => model.detokenize([t], true) === "<recall>");
if (recallId === undefined) throw new Error("<recall> not a single token");

const context = await model.createContext({ contextSize: 512, threads: 1 });
for (const prompt of ["hello world", "the cat", "你好", "<recall>"]) {
  const seq = context.getSequence();
  const input = [model.tokens.bos, ...model.tokenize(prompt, true)];
  const out = [];
  const t1 = performance.now();
  for await (const tok of seq.evaluate(input, { temperature: 0 })) {
    out.push(tok);
    if (out.length >= 20) break;
  }
  const dt = performance.now() - t1;
  console.log(
    `greedy ${JSON.stringify(prompt)} [${input}] -> ${JSON.stringify(out)} ${JSON.stringify(model.detokenize(out, true))} (${dt.toFixed(1)} ms, ${new Set(out).size} distinct)`,
  );
  seq.dispose();
}
console.log(`load ${tLoad.toFixed(1)} ms`);
await context.dispose();
await model.dispose();

import { type LlamaCppBackend, loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOnnxBackend, type OnnxBackend } from "../src/index.js";
import { argmax, GEMMA_GGUF, GEMMA_ONNX, haveFiles, klDivergence } from "./helpers.js";

const PROMPTS = [
  "The capital of France is",
  "Once upon a time, in a small village by the sea,",
  "def fibonacci(n):\n    ",
  "<start_of_turn>user\nWhat is the boiling point of water?<end_of_turn>\n<start_of_turn>model\n",
  "Photosynthesis is the process by which",
  "1, 2, 3, 5, 8, 13,",
  "Le chat est assis sur",
  "The three laws of motion are",
  "SELECT name, age FROM users WHERE",
  "My favourite recipe for pancakes:",
  "In 1969, the first humans",
  "<start_of_turn>user\nTranslate 'good morning' to Spanish.<end_of_turn>\n<start_of_turn>model\n",
  "The mitochondria is",
  "function add(a, b) {",
  "A haiku about autumn:\n",
  "Dear hiring manager,",
  "The difference between a list and a tuple in Python is",
  "今天天气很好，我们",
  "Q: What is 12 times 12?\nA:",
  "The best way to learn a new language is",
];
const STEPS = 64;

describe.skipIf(!haveFiles("Gemma 3 270M cross-engine", GEMMA_GGUF, GEMMA_ONNX))(
  "ONNX backend vs llama.cpp on Gemma 3 270M (same weights, dequantized)",
  () => {
    let onnx: OnnxBackend;
    let llama: LlamaCppBackend;

    beforeAll(async () => {
      onnx = await loadOnnxBackend({ modelPath: GEMMA_ONNX, contextSize: 512 });
      llama = await loadLlamaCppBackend({ modelPath: GEMMA_GGUF, contextSize: 512, threads: 1 });
    });
    afterAll(async () => {
      await onnx?.dispose();
      await llama?.dispose();
    });

    it("has the same facts, tokenization and embedding rows", async () => {
      for (const k of [
        "vocabSize",
        "embeddingWidth",
        "hiddenWidth",
        "inputScale",
        "bosToken",
      ] as const) {
        expect(onnx.info[k]).toBe(llama.info[k]);
      }
      for (const p of PROMPTS) {
        expect(onnx.tokenize(p, { addSpecial: true })).toEqual(
          llama.tokenize(p, { addSpecial: true }),
        );
      }
      const ids = [2, 106, 1000, 262143];
      expect(Array.from(await onnx.tokenEmbeddings(ids))).toEqual(
        Array.from(await llama.tokenEmbeddings(ids)),
      );
    });

    it(`top-1 agreement ≥ 95% over ${PROMPTS.length} prompts × ${STEPS} teacher-forced tokens`, async () => {
      let agree = 0;
      let total = 0;
      let klSum = 0;
      let klMax = 0;
      for (const prompt of PROMPTS) {
        const tokens = llama.tokenize(prompt, { addSpecial: true });
        const so = await onnx.createSequence();
        const sl = await llama.createSequence();
        let a = await so.forwardTokens(tokens);
        let b = await sl.forwardTokens(tokens);
        for (let i = 0; i < STEPS; i++) {
          const kl = klDivergence(b.logits, a.logits);
          klSum += kl;
          klMax = Math.max(klMax, kl);
          const next = argmax(b.logits); // teacher: llama.cpp's greedy choice
          if (argmax(a.logits) === next) agree++;
          total++;
          a = await so.forwardTokens([next]);
          b = await sl.forwardTokens([next]);
        }
        await so.dispose();
        await sl.dispose();
      }
      const rate = agree / total;
      console.log(
        `[gemma] top-1 agreement ${(100 * rate).toFixed(2)}% (${agree}/${total}), KL(llama.cpp‖onnx) mean ${(klSum / total).toExponential(2)} max ${klMax.toExponential(2)} nats`,
      );
      expect(rate).toBeGreaterThanOrEqual(0.95);
    }, 900_000);

    it("injecting token t's row equals feeding t (Gemma's sqrt(width) scaling included)", async () => {
      const prefix = onnx.tokenize("The capital of France is", { addSpecial: true });
      const s = await onnx.createSequence();
      await s.forwardTokens(prefix);
      const t = onnx.tokenize(" Paris")[0] as number;
      const fed = await s.forwardTokens([t], { wantHiddenState: true });
      await s.truncate(prefix.length);
      const inj = await s.forwardEmbeddings(await onnx.tokenEmbeddings([t]), {
        wantHiddenState: true,
      });
      expect(Array.from(inj.logits)).toEqual(Array.from(fed.logits));
      expect(Array.from(inj.hiddenState ?? [])).toEqual(Array.from(fed.hiddenState ?? []));
      await s.dispose();
    });
  },
);

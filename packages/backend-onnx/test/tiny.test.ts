import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type LlamaCppBackend, loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOnnxBackend, type OnnxBackend, prepareOnnxModel } from "../src/index.js";
import {
  argmax,
  haveFiles,
  maxAbsDiff,
  PYTHON,
  TINY_GGUF,
  TINY_ONNX,
  tinyReference,
} from "./helpers.js";

const RECALL_ID = 259;

// llama.cpp's default CPU attention (flash attention over an f16 KV cache) accumulates V·softmax in
// float16 and differs from float32 maths by up to ~1e-2 on logits of ~10; the llama.cpp side
// therefore runs with flashAttention "off" and an f32 KV cache. Measured: ≤ 1.4e-5 on prefill,
// cached decode and injection. The ONNX graph matches an independent float64 reference to 1e-5.
const CROSS_LOGITS = 1e-4;
const CROSS_HIDDEN = 1e-4;

describe.skipIf(!haveFiles("tiny model", TINY_GGUF, TINY_ONNX))(
  "ONNX backend on the tiny Llama model (vs llama.cpp and a float64 reference)",
  () => {
    let dir: string;
    let onnx: OnnxBackend;
    let llama: LlamaCppBackend;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "mnemo-onnx-"));
      const prepared = join(dir, "model.mnemo.onnx");
      prepareOnnxModel(TINY_ONNX, prepared);
      onnx = await loadOnnxBackend({
        modelPath: prepared,
        tokenizerDir: dirname(TINY_ONNX),
        contextSize: 256,
      });
      llama = await loadLlamaCppBackend({
        modelPath: TINY_GGUF,
        contextSize: 256,
        threads: 1,
        // Exact float32 attention (llama.cpp's CPU flash attention accumulates in float16).
        flashAttention: "off",
        kvCacheType: "f32",
      });
    });
    afterAll(async () => {
      await onnx?.dispose();
      await llama?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it("reports the same model facts as llama.cpp", () => {
      const a = onnx.info;
      const b = llama.info;
      expect(a.architecture).toBe("llama");
      expect(a.name).toBe(b.name);
      for (const k of [
        "vocabSize",
        "embeddingWidth",
        "hiddenWidth",
        "contextSize",
        "inputScale",
        "bosToken",
      ] as const) {
        expect(a[k]).toBe(b[k]);
      }
      expect(a.eogTokens).toEqual(b.eogTokens);
      expect(a.identity).toMatch(/^llama:\d+:[0-9a-f]{64}$/);
    });

    it("tokenizes like llama.cpp; tokenBytes join to the UTF-8 text", () => {
      for (const text of [
        "Hello world",
        "你好，世界",
        "emoji 😀🎉 ok",
        "a <recall> b",
        "  spaces\nnew line\t",
        "the hello world",
      ]) {
        for (const addSpecial of [false, true]) {
          expect(onnx.tokenize(text, { addSpecial })).toEqual(llama.tokenize(text, { addSpecial }));
        }
        const ids = onnx.tokenize(text);
        expect(onnx.detokenize(ids)).toBe(text);
        expect(
          Buffer.concat(ids.map((t) => onnx.tokenBytes(t))).equals(Buffer.from(text, "utf8")),
        ).toBe(true);
      }
      expect(onnx.tokenize("x<recall>")).toContain(RECALL_ID);
      expect(onnx.tokenize("")).toEqual([]);
      expect(onnx.detokenize([1, 2])).toBe(llama.detokenize([1, 2]));
    });

    it("tokenEmbeddings equal llama.cpp's rows exactly", async () => {
      const ids = [0, 1, 5, 259, 360];
      expect(Array.from(await onnx.tokenEmbeddings(ids))).toEqual(
        Array.from(await llama.tokenEmbeddings(ids)),
      );
      expect((await onnx.tokenEmbeddings([])).length).toBe(0);
    });

    it.skipIf(!haveFiles("float64 reference", PYTHON))(
      "matches a float64 numpy reference to 1e-4",
      async () => {
        const prompts = [
          onnx.tokenize("The cat sat on the mat<recall>", { addSpecial: true }),
          onnx.tokenize("Latent memories are recalled while the model generates text, 你好 😀.", {
            addSpecial: true,
          }),
          [1],
        ];
        const ref = tinyReference(prompts);
        let worst = 0;
        for (let i = 0; i < prompts.length; i++) {
          const s = await onnx.createSequence();
          const r = await s.forwardTokens(prompts[i] as number[], { wantHiddenState: true });
          const want = ref[i] as { logits: number[]; hidden: number[] };
          worst = Math.max(worst, maxAbsDiff(r.logits, want.logits));
          expect(maxAbsDiff(r.logits, want.logits)).toBeLessThan(1e-4);
          expect(maxAbsDiff(r.hiddenState ?? [], want.hidden)).toBeLessThan(1e-4);
          await s.dispose();
        }
        console.log(`[tiny] ONNX vs float64 reference: max |Δlogit| = ${worst.toExponential(2)}`);
      },
    );

    it("agrees with llama.cpp on prefill, cached decode and injection", async () => {
      const prompt = llama.tokenize("The cat sat on the mat<recall>", { addSpecial: true });
      const so = await onnx.createSequence();
      const sl = await llama.createSequence();
      const diffs = { prefill: [0, 0], decode: [0, 0], inject: [0, 0] };
      const cmp = (
        kind: keyof typeof diffs,
        a: { logits: Float32Array; hiddenState?: Float32Array },
        b: typeof a,
      ) => {
        const dl = maxAbsDiff(a.logits, b.logits);
        const dh = maxAbsDiff(a.hiddenState ?? [], b.hiddenState ?? []);
        diffs[kind] = [
          Math.max(diffs[kind][0] as number, dl),
          Math.max(diffs[kind][1] as number, dh),
        ];
        expect(dl).toBeLessThan(CROSS_LOGITS);
        expect(dh).toBeLessThan(CROSS_HIDDEN);
        expect(argmax(a.logits)).toBe(argmax(b.logits));
      };
      const opts = { wantHiddenState: true };
      cmp("prefill", await so.forwardTokens(prompt, opts), await sl.forwardTokens(prompt, opts));
      let next = argmax((await sl.forwardTokens([40], opts)).logits);
      await so.forwardTokens([40]);
      for (let i = 0; i < 8; i++) {
        const a = await so.forwardTokens([next], opts);
        const b = await sl.forwardTokens([next], opts);
        cmp("decode", a, b);
        next = argmax(b.logits);
      }
      const row = await llama.tokenEmbeddings([300]);
      const mix = row.map((v, i) => v * 0.5 + Math.sin(i) * 0.3); // a vector that is no token's row
      cmp("inject", await so.forwardEmbeddings(mix, opts), await sl.forwardEmbeddings(mix, opts));
      cmp("decode", await so.forwardTokens([41], opts), await sl.forwardTokens([41], opts));
      console.log(`[tiny] ONNX vs llama.cpp max |Δ| (logits, hidden): ${JSON.stringify(diffs)}`);
      await so.dispose();
      await sl.dispose();
    });

    it("injecting token t's row gives results bit-identical to feeding t", async () => {
      const prefix = onnx.tokenize("The cat sat on", { addSpecial: true });
      const s = await onnx.createSequence();
      for (const t of onnx.tokenize(" mat<recall>x")) {
        await s.forwardTokens(prefix);
        const fed = await s.forwardTokens([t], { wantHiddenState: true });
        await s.truncate(prefix.length);
        const inj = await s.forwardEmbeddings(await onnx.tokenEmbeddings([t]), {
          wantHiddenState: true,
        });
        expect(s.length).toBe(prefix.length + 1);
        expect(Array.from(inj.logits)).toEqual(Array.from(fed.logits));
        expect(Array.from(inj.hiddenState ?? [])).toEqual(Array.from(fed.hiddenState ?? []));
        await s.truncate(0);
      }
      const run = onnx.tokenize(" three four");
      await s.forwardTokens(prefix);
      const fed = await s.forwardTokens(run);
      await s.truncate(prefix.length);
      const inj = await s.forwardEmbeddings(await onnx.tokenEmbeddings(run));
      expect(Array.from(inj.logits)).toEqual(Array.from(fed.logits));
      await s.dispose();
    });

    it("KV-cache reuse equals recomputation (token by token vs one prefill)", async () => {
      const tokens = onnx.tokenize("Latent memories are recalled while the model generates text.", {
        addSpecial: true,
      });
      const fresh = await onnx.createSequence();
      const all = await fresh.forwardTokens(tokens, { wantHiddenState: true });
      const inc = await onnx.createSequence();
      await inc.forwardTokens(tokens.slice(0, 3));
      let last = all;
      for (let i = 3; i < tokens.length; i++) {
        last = await inc.forwardTokens([tokens[i] as number], {
          wantHiddenState: i === tokens.length - 1,
        });
      }
      const d = maxAbsDiff(all.logits, last.logits);
      console.log(`[tiny] ONNX KV reuse vs one prefill: max |Δlogit| = ${d.toExponential(2)}`);
      expect(d).toBeLessThan(1e-4);
      expect(maxAbsDiff(all.hiddenState ?? [], last.hiddenState ?? [])).toBeLessThan(1e-4);
      await fresh.dispose();
      await inc.dispose();
    });

    it("truncate then re-decode equals the original; hidden state only when asked", async () => {
      const tokens = onnx.tokenize("abc def ghi jkl", { addSpecial: true });
      const s = await onnx.createSequence();
      await s.forwardTokens(tokens.slice(0, 4));
      const original = await s.forwardTokens(tokens.slice(4), { wantHiddenState: true });
      await s.forwardTokens(onnx.tokenize(" something else"));
      await s.truncate(4);
      expect(s.length).toBe(4);
      const again = await s.forwardTokens(tokens.slice(4), { wantHiddenState: true });
      expect(Array.from(again.logits)).toEqual(Array.from(original.logits));
      expect(Array.from(again.hiddenState ?? [])).toEqual(Array.from(original.hiddenState ?? []));
      const plain = await s.forwardTokens([RECALL_ID]);
      expect(plain.hiddenState).toBeUndefined();
      expect(plain.logits.length).toBe(onnx.info.vocabSize);
      await s.truncate(0);
      expect(s.length).toBe(0);
      await s.dispose();
    });

    it("keeps sequences independent and serializes calls on one sequence", async () => {
      const ta = onnx.tokenize("first sequence", { addSpecial: true });
      const tb = onnx.tokenize("another one", { addSpecial: true });
      const solo = await onnx.createSequence();
      const refA = await solo.forwardTokens(ta);
      await solo.dispose();
      const a = await onnx.createSequence();
      const b = await onnx.createSequence();
      const [ra] = await Promise.all([a.forwardTokens(ta), b.forwardTokens(tb)]);
      expect(Array.from(ra.logits)).toEqual(Array.from(refA.logits));
      const p = [b.forwardTokens([40]), b.truncate(2), b.forwardTokens([42])];
      await Promise.all(p);
      expect(b.length).toBe(3);
      await Promise.all([a.dispose(), b.dispose()]);
    });

    it("honours a per-sequence context size (CONTEXT_OVERFLOW keeps the sequence usable)", async () => {
      const s = await onnx.createSequence({ contextSize: 8 });
      await s.forwardTokens([1, 2, 3, 4, 5, 6, 7]);
      await expect(s.forwardTokens([8, 9])).rejects.toMatchObject({ code: "CONTEXT_OVERFLOW" });
      await expect(s.forwardEmbeddings(new Float32Array(128))).rejects.toMatchObject({
        code: "CONTEXT_OVERFLOW",
      });
      expect(s.length).toBe(7);
      await s.forwardTokens([8]);
      expect(s.length).toBe(8);
      await s.dispose();
    });
  },
);

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOnnxBackend, type OnnxBackend, prepareOnnxModel } from "../src/index.js";
import { haveFiles, maxAbsDiff, PYTHON, root, TINY_GGUF, TINY_ONNX } from "./helpers.js";

const CONVERT = join(root, "packages", "backend-onnx", "tools", "gguf_to_onnx.py");

// An export in the "decoder takes inputs_embeds + separate embed_tokens.onnx" layout, made from
// the tiny model by the converter's --split-embeddings, must behave exactly like the single model.
describe.skipIf(!haveFiles("split embeddings", TINY_GGUF, TINY_ONNX, PYTHON))(
  "decoder with inputs_embeds + separate embed_tokens model",
  () => {
    let dir: string;
    let single: OnnxBackend;
    let split: OnnxBackend;
    let splitOnnx: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "mnemo-onnx-split-"));
      splitOnnx = join(dir, "export", "model.onnx");
      execFileSync(PYTHON, [CONVERT, TINY_GGUF, splitOnnx, "--split-embeddings"], {
        stdio: "pipe",
      });
      prepareOnnxModel(TINY_ONNX, join(dir, "single.mnemo.onnx"));
      // embedModel defaults to embed_tokens.onnx beside the decoder
      const r = prepareOnnxModel(splitOnnx, join(dir, "split.mnemo.onnx"));
      expect(r.meta.inputScale).toBe(1);
      expect(r.meta.embeddings).toMatchObject({ rows: 361, width: 64, dtype: "float32" });
      const tokenizerDir = dirname(TINY_ONNX);
      single = await loadOnnxBackend({ modelPath: join(dir, "single.mnemo.onnx"), tokenizerDir });
      split = await loadOnnxBackend({ modelPath: join(dir, "split.mnemo.onnx"), tokenizerDir });
    });
    afterAll(async () => {
      await single?.dispose();
      await split?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it("extracts the same embedding rows from the embed_tokens model", async () => {
      const ids = [0, 1, 2, 5, 259, 300, 360];
      expect(Array.from(await split.tokenEmbeddings(ids))).toEqual(
        Array.from(await single.tokenEmbeddings(ids)),
      );
      expect(split.info.embeddingWidth).toBe(single.info.embeddingWidth);
      expect(split.info.hiddenWidth).toBe(single.info.hiddenWidth);
    });

    it("agrees with the single-model path on prefill, cached decode and injection", async () => {
      const prompt = single.tokenize("The cat sat on the mat, hello world<recall>", {
        addSpecial: true,
      });
      const a = await single.createSequence();
      const b = await split.createSequence();
      let worst = 0;
      const check = (x: { logits: Float32Array; hiddenState?: Float32Array }, y: typeof x) => {
        worst = Math.max(worst, maxAbsDiff(x.logits, y.logits));
        worst = Math.max(
          worst,
          maxAbsDiff(x.hiddenState as Float32Array, y.hiddenState as Float32Array),
        );
      };
      const opts = { wantHiddenState: true };
      check(await a.forwardTokens(prompt, opts), await b.forwardTokens(prompt, opts));
      for (const t of [354, 360, 323]) {
        check(await a.forwardTokens([t], opts), await b.forwardTokens([t], opts));
      }
      const v = new Float32Array(64).map((_, i) => Math.sin(i) * 0.5);
      check(await a.forwardEmbeddings(v, opts), await b.forwardEmbeddings(v, opts));
      await a.truncate(3);
      await b.truncate(3);
      check(await a.forwardTokens([339, 360], opts), await b.forwardTokens([339, 360], opts));
      expect(worst).toBeLessThan(1e-5);
    });

    it("refuses an inputs_embeds decoder without its embedding model, and embedModel for input_ids", () => {
      const lone = join(dir, "lone", "model.onnx");
      mkdirSync(dirname(lone), { recursive: true });
      copyFileSync(splitOnnx, lone);
      expect(() => prepareOnnxModel(lone, join(dir, "x.onnx"))).toThrow(
        expect.objectContaining({
          code: "MODEL_INVALID",
          message: expect.stringMatching(/embed_tokens\.onnx/),
        }),
      );
      expect(() =>
        prepareOnnxModel(lone, join(dir, "x.onnx"), { embedModel: join(dir, "nope.onnx") }),
      ).toThrow(expect.objectContaining({ code: "MODEL_NOT_FOUND" }));
      // an embedding "model" that is really a decoder
      expect(() => prepareOnnxModel(lone, join(dir, "x.onnx"), { embedModel: TINY_ONNX })).toThrow(
        expect.objectContaining({ code: "MODEL_INVALID" }),
      );
      expect(() =>
        prepareOnnxModel(TINY_ONNX, join(dir, "x.onnx"), {
          embedModel: join(dirname(splitOnnx), "embed_tokens.onnx"),
        }),
      ).toThrow(expect.objectContaining({ code: "INVALID_OPTION" }));
    });
  },
);

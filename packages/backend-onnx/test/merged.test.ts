import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOnnxBackend, type OnnxBackend, prepareOnnxModel } from "../src/index.js";
import { decodeModel } from "../src/proto.js";
import { haveFiles, maxAbsDiff, PYTHON, TINY_ONNX } from "./helpers.js";

const MAKE_MERGED = join(dirname(fileURLToPath(import.meta.url)), "make_merged.py");

// An older Optimum-style merged export (one If on use_cache_branch; then_branch = the decoder with
// past, else_branch = a copy; weights in the outer graph), made from the tiny model's standard
// export by test/make_merged.py, must behave exactly like the standard layout once prepared.
describe.skipIf(!haveFiles("merged decoder", TINY_ONNX, PYTHON))(
  "If-merged decoder export (use_cache_branch)",
  () => {
    let dir: string;
    let single: OnnxBackend;
    let merged: OnnxBackend;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "mnemo-onnx-merged-"));
      const mergedOnnx = join(dir, "decoder_model_merged.onnx");
      execFileSync(PYTHON, [MAKE_MERGED, TINY_ONNX, mergedOnnx], { stdio: "pipe" });
      execFileSync(PYTHON, [MAKE_MERGED, TINY_ONNX, join(dir, "bad.onnx"), "--cond", "flag"], {
        stdio: "pipe",
      });
      execFileSync(
        PYTHON,
        [MAKE_MERGED, TINY_ONNX, join(dir, "renamed.onnx"), "--rename-outputs"],
        {
          stdio: "pipe",
        },
      );
      prepareOnnxModel(TINY_ONNX, join(dir, "single.mnemo.onnx"));
      prepareOnnxModel(mergedOnnx, join(dir, "merged.mnemo.onnx"));
      const tokenizerDir = dirname(TINY_ONNX);
      single = await loadOnnxBackend({ modelPath: join(dir, "single.mnemo.onnx"), tokenizerDir });
      merged = await loadOnnxBackend({ modelPath: join(dir, "merged.mnemo.onnx"), tokenizerDir });
    });
    afterAll(async () => {
      await single?.dispose();
      await merged?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it("inlines the then_branch and drops the If, use_cache_branch and else-only values", () => {
      const g = decodeModel(readFileSync(join(dir, "merged.mnemo.onnx"))).graph;
      expect(g?.node.some((n) => n.opType === "If")).toBe(false);
      expect(g?.input.map((i) => i.name)).not.toContain("use_cache_branch");
      expect(g?.input.map((i) => i.name)).toContain("inputs_embeds");
      expect(g?.output.map((o) => o.name)).toContain("last_hidden_state");
      expect(g?.node.some((n) => n.output.includes("else_only"))).toBe(false);
      const meta = JSON.parse(readFileSync(join(dir, "merged.mnemo.onnx.mnemo.json"), "utf8"));
      const ref = JSON.parse(readFileSync(join(dir, "single.mnemo.onnx.mnemo.json"), "utf8"));
      expect({
        ...meta,
        name: "",
        model: "",
        embeddings: { ...meta.embeddings, file: "" },
      }).toEqual({ ...ref, name: "", model: "", embeddings: { ...ref.embeddings, file: "" } });
    });

    it("agrees with the standard layout on prefill, cached decode and injection", async () => {
      const prompt = single.tokenize("The cat sat on the mat, hello world<recall>", {
        addSpecial: true,
      });
      const a = await single.createSequence();
      const b = await merged.createSequence();
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
      console.info(`[backend-onnx] merged vs standard layout: max |diff| ${worst}`);
      expect(worst).toBeLessThan(1e-5);
    });

    it("maps then_branch outputs named unlike the If's outputs", async () => {
      prepareOnnxModel(join(dir, "renamed.onnx"), join(dir, "renamed.mnemo.onnx"));
      const renamed = await loadOnnxBackend({
        modelPath: join(dir, "renamed.mnemo.onnx"),
        tokenizerDir: dirname(TINY_ONNX),
      });
      try {
        const prompt = single.tokenize("hello world", { addSpecial: true });
        const opts = { wantHiddenState: true };
        const x = await (await single.createSequence()).forwardTokens(prompt, opts);
        const y = await (await renamed.createSequence()).forwardTokens(prompt, opts);
        expect(maxAbsDiff(x.logits, y.logits)).toBeLessThan(1e-5);
        expect(
          maxAbsDiff(x.hiddenState as Float32Array, y.hiddenState as Float32Array),
        ).toBeLessThan(1e-5);
      } finally {
        await renamed.dispose();
      }
    });

    it("refuses an If graph of another shape (condition not use_cache_branch)", () => {
      expect(() => prepareOnnxModel(join(dir, "bad.onnx"), join(dir, "bad.mnemo.onnx"))).toThrow(
        expect.objectContaining({
          code: "MODEL_INVALID",
          message: expect.stringMatching(/If-merged export.*condition is "flag".*use_cache_branch/),
        }),
      );
    });
  },
);

import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadOnnxBackend,
  type OnnxBackend,
  prepareOnnxModel,
  runPrepareCli,
} from "../src/index.js";
import { decodeModel, encodeModel } from "../src/proto.js";
import { haveFiles, TINY_GGUF, TINY_ONNX } from "./helpers.js";

describe.skipIf(!haveFiles("bad input", TINY_ONNX))(
  "ONNX backend: bad input gives typed errors",
  () => {
    let dir: string;
    let prepared: string;
    let backend: OnnxBackend;
    const tokDir = dirname(TINY_ONNX);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "mnemo-onnx-err-"));
      prepared = join(dir, "model.mnemo.onnx");
      prepareOnnxModel(TINY_ONNX, prepared);
      backend = await loadOnnxBackend({
        modelPath: prepared,
        tokenizerDir: tokDir,
        contextSize: 64,
      });
    });
    afterAll(async () => {
      await backend?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it("load: missing file, not ONNX, no sidecar, sidecar/graph mismatch, bad options", async () => {
      await expect(loadOnnxBackend({ modelPath: join(dir, "nope.onnx") })).rejects.toMatchObject({
        code: "MODEL_NOT_FOUND",
      });
      await expect(loadOnnxBackend({ modelPath: dir })).rejects.toMatchObject({
        code: "MODEL_NOT_FOUND",
      });
      // not ONNX (a GGUF file with a valid sidecar and table beside it)
      const fake = join(dir, "fake.onnx");
      copyFileSync(haveFiles("gguf", TINY_GGUF) ? TINY_GGUF : prepared, fake);
      writeFileSync(fake, "this is not a protobuf model at all");
      const meta = JSON.parse(readFileSync(`${prepared}.mnemo.json`, "utf8"));
      writeFileSync(
        `${fake}.mnemo.json`,
        JSON.stringify({
          ...meta,
          embeddings: { ...meta.embeddings, file: "model.mnemo.onnx.embed.bin" },
        }),
      );
      await expect(
        loadOnnxBackend({ modelPath: fake, tokenizerDir: tokDir }),
      ).rejects.toMatchObject({ code: "MODEL_INVALID" });
      // the standard export has no sidecar
      await expect(loadOnnxBackend({ modelPath: TINY_ONNX })).rejects.toMatchObject({
        code: "MODEL_INVALID",
      });
      // a sidecar naming inputs the graph does not have
      const odd = join(dir, "odd.onnx");
      copyFileSync(prepared, odd);
      const extra = {
        ...meta.kv[0],
        key: "past_key_values.9.key",
        value: "past_key_values.9.value",
        present: ["present.9.key", "present.9.value"],
      };
      writeFileSync(
        `${odd}.mnemo.json`,
        JSON.stringify({
          ...meta,
          kv: [...meta.kv, extra],
          embeddings: { ...meta.embeddings, file: "model.mnemo.onnx.embed.bin" },
        }),
      );
      await expect(loadOnnxBackend({ modelPath: odd, tokenizerDir: tokDir })).rejects.toMatchObject(
        {
          code: "MODEL_INVALID",
          message: expect.stringContaining("past_key_values.9.key"),
        },
      );
      await expect(loadOnnxBackend({ modelPath: prepared, threads: 0 })).rejects.toMatchObject({
        code: "INVALID_OPTION",
      });
      await expect(loadOnnxBackend({} as never)).rejects.toMatchObject({ code: "INVALID_OPTION" });
    });

    it("prepare refuses what it cannot rewrite", () => {
      const out = join(dir, "x.onnx");
      const junk = join(dir, "junk.onnx");
      writeFileSync(junk, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      expect(() => prepareOnnxModel(junk, out)).toThrow(
        expect.objectContaining({ code: "MODEL_INVALID" }),
      );
      expect(() => prepareOnnxModel(join(dir, "missing.onnx"), out)).toThrow(
        expect.objectContaining({ code: "MODEL_NOT_FOUND" }),
      );
      // already prepared (takes inputs_embeds)
      expect(() => prepareOnnxModel(prepared, out)).toThrow(
        expect.objectContaining({ code: "MODEL_INVALID" }),
      );
      // no logits output
      const m = decodeModel(readFileSync(TINY_ONNX));
      const g = m.graph as NonNullable<typeof m.graph>;
      g.output = g.output.filter((o) => o.name !== "logits");
      const noLogits = join(dir, "nologits.onnx");
      writeFileSync(noLogits, encodeModel(m));
      expect(() => prepareOnnxModel(noLogits, out)).toThrow(/no "logits" output/);
      // the CLI reports the typed error and returns 1; bad usage returns 2
      const lines: string[] = [];
      const sink = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) };
      expect(runPrepareCli([noLogits, out], sink)).toBe(1);
      expect(lines.at(-1)).toMatch(/MODEL_INVALID/);
      expect(runPrepareCli([noLogits], sink)).toBe(2);
      expect(runPrepareCli([TINY_ONNX, join(dir, "cli.onnx")], sink)).toBe(0);
    });

    it("sequence: wrong widths, non-finite values, bad ids, bad truncation, abort, disposed", async () => {
      const s = await backend.createSequence();
      const w = backend.info.embeddingWidth;
      await expect(s.forwardEmbeddings(new Float32Array(w + 1))).rejects.toMatchObject({
        code: "DIMENSION_MISMATCH",
      });
      await expect(s.forwardEmbeddings(new Float32Array(0))).rejects.toMatchObject({
        code: "DIMENSION_MISMATCH",
      });
      const nan = new Float32Array(w);
      nan[3] = Number.NaN;
      await expect(s.forwardEmbeddings(nan)).rejects.toMatchObject({ code: "NON_FINITE_VECTOR" });
      await expect(s.forwardEmbeddings("x" as never)).rejects.toMatchObject({
        code: "INVALID_INPUT",
      });
      await expect(s.forwardTokens([])).rejects.toMatchObject({ code: "INVALID_INPUT" });
      await expect(s.forwardTokens([backend.info.vocabSize])).rejects.toMatchObject({
        code: "INVALID_INPUT",
      });
      await expect(s.forwardTokens([1.5])).rejects.toMatchObject({ code: "INVALID_INPUT" });
      await expect(s.truncate(1)).rejects.toMatchObject({ code: "INVALID_INPUT" });
      const ac = new AbortController();
      ac.abort();
      await expect(s.forwardTokens([1], { signal: ac.signal })).rejects.toMatchObject({
        code: "ABORTED",
      });
      expect(s.length).toBe(0);
      await expect(backend.createSequence({ contextSize: 0 })).rejects.toMatchObject({
        code: "INVALID_OPTION",
      });
      expect(() => backend.tokenBytes(-1)).toThrow(
        expect.objectContaining({ code: "INVALID_INPUT" }),
      );
      await expect(backend.tokenEmbeddings([1e9])).rejects.toMatchObject({ code: "INVALID_INPUT" });
      // still alive and usable after all of that
      const r = await s.forwardTokens([1, 40]);
      expect(r.logits.length).toBe(backend.info.vocabSize);
      await s.dispose();
      await s.dispose();
      await expect(s.forwardTokens([1])).rejects.toMatchObject({ code: "DISPOSED" });
    });

    it("a disposed backend throws DISPOSED", async () => {
      const b = await loadOnnxBackend({ modelPath: prepared, tokenizerDir: tokDir });
      const s = await b.createSequence();
      await b.dispose();
      await b.dispose();
      expect(() => b.tokenize("x")).toThrow(expect.objectContaining({ code: "DISPOSED" }));
      await expect(b.createSequence()).rejects.toMatchObject({ code: "DISPOSED" });
      await expect(s.forwardTokens([1])).rejects.toMatchObject({ code: "DISPOSED" });
    });
  },
);

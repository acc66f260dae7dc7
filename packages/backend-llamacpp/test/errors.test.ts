import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMnemoError } from "@mnemo/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LlamaCppBackend, loadLlamaCppBackend } from "../src/index.js";
import { haveModel, TINY_MODEL } from "./helpers.js";

/** Asserts that `p` rejects (or `fn` throws) a MnemoError with `code`. */
async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  let error: unknown;
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    error = e;
  }
  expect(isMnemoError(error), `expected a MnemoError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

describe("loading bad model files", () => {
  const dir = mkdtempSync(join(tmpdir(), "mnemo-llamacpp-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("MODEL_NOT_FOUND for a missing file or a directory", async () => {
    await expectCode(
      loadLlamaCppBackend({ modelPath: join(dir, "missing.gguf") }),
      "MODEL_NOT_FOUND",
    );
    await expectCode(loadLlamaCppBackend({ modelPath: dir }), "MODEL_NOT_FOUND");
  });

  it("MODEL_INVALID for random bytes, a GGUF header with garbage, an empty file", async () => {
    const random = join(dir, "random.gguf");
    writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    await expectCode(loadLlamaCppBackend({ modelPath: random }), "MODEL_INVALID");
    const garbage = join(dir, "garbage.gguf");
    writeFileSync(garbage, Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(4096, 0xee)]));
    await expectCode(loadLlamaCppBackend({ modelPath: garbage }), "MODEL_INVALID");
    const empty = join(dir, "empty.gguf");
    writeFileSync(empty, "");
    await expectCode(loadLlamaCppBackend({ modelPath: empty }), "MODEL_INVALID");
  });

  it.skipIf(!haveModel(TINY_MODEL, "truncated tiny model"))(
    "MODEL_INVALID for truncated copies of the tiny model; the process stays alive",
    async () => {
      const full = readFileSync(TINY_MODEL);
      for (const keep of [100, 2000, Math.floor(full.length / 2), full.length - 1]) {
        const p = join(dir, `trunc-${keep}.gguf`);
        writeFileSync(p, full.subarray(0, keep));
        await expectCode(loadLlamaCppBackend({ modelPath: p }), "MODEL_INVALID");
      }
      // the intact model still loads afterwards
      const ok = join(dir, "ok.gguf");
      copyFileSync(TINY_MODEL, ok);
      const b = await loadLlamaCppBackend({ modelPath: ok, contextSize: 16 });
      expect(b.info.vocabSize).toBeGreaterThan(0);
      await b.dispose();
    },
  );

  it("INVALID_OPTION for bad options", async () => {
    const modelPath = TINY_MODEL;
    await expectCode(loadLlamaCppBackend({ modelPath: "" }), "INVALID_OPTION");
    await expectCode(loadLlamaCppBackend({ modelPath, contextSize: 0 }), "INVALID_OPTION");
    await expectCode(loadLlamaCppBackend({ modelPath, batchSize: 1.5 }), "INVALID_OPTION");
    await expectCode(loadLlamaCppBackend({ modelPath, threads: 0 }), "INVALID_OPTION");
    await expectCode(loadLlamaCppBackend({ modelPath, gpuLayers: -2 }), "INVALID_OPTION");
  });
});

describe.skipIf(!haveModel(TINY_MODEL, "bad inputs"))("bad inputs on a loaded model", () => {
  let backend: LlamaCppBackend;
  beforeAll(async () => {
    backend = await loadLlamaCppBackend({ modelPath: TINY_MODEL, contextSize: 32, threads: 1 });
  });
  afterAll(async () => {
    await backend?.dispose();
  });

  it("rejects wrong vectors before they reach llama.cpp", async () => {
    const s = await backend.createSequence();
    const w = backend.info.embeddingWidth;
    await expectCode(s.forwardEmbeddings(new Float32Array(w - 1)), "DIMENSION_MISMATCH");
    await expectCode(s.forwardEmbeddings(new Float32Array(0)), "DIMENSION_MISMATCH");
    const nan = new Float32Array(w);
    nan[3] = Number.NaN;
    await expectCode(s.forwardEmbeddings(nan), "NON_FINITE_VECTOR");
    const inf = new Float32Array(2 * w);
    inf[w + 1] = Number.POSITIVE_INFINITY;
    await expectCode(s.forwardEmbeddings(inf), "NON_FINITE_VECTOR");
    await expectCode(s.forwardEmbeddings("nope" as unknown as Float32Array), "INVALID_INPUT");
    expect(s.length).toBe(0);
    await s.forwardEmbeddings(new Float32Array(w)); // a zero vector is fine
    expect(s.length).toBe(1);
    await s.dispose();
  });

  it("rejects bad token ids", async () => {
    const s = await backend.createSequence();
    const n = backend.info.vocabSize;
    for (const bad of [[-1], [n], [1, 2, n + 100], [1.5], [Number.NaN], ["1"], []]) {
      await expectCode(s.forwardTokens(bad as number[]), "INVALID_INPUT");
    }
    expect(s.length).toBe(0);
    expect(() => backend.tokenBytes(-1)).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => backend.tokenBytes(n)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    expect(() => backend.detokenize([n])).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    await expectCode(backend.tokenEmbeddings([0, -1]), "INVALID_INPUT");
    await expectCode(() => backend.tokenize(42 as unknown as string), "INVALID_INPUT");
    await s.dispose();
  });

  it("CONTEXT_OVERFLOW leaves the sequence untouched", async () => {
    const s = await backend.createSequence();
    await s.forwardTokens(Array.from({ length: 30 }, (_, i) => 10 + i));
    await expectCode(s.forwardTokens([1, 2, 3]), "CONTEXT_OVERFLOW");
    await expectCode(
      s.forwardEmbeddings(new Float32Array(3 * backend.info.embeddingWidth)),
      "CONTEXT_OVERFLOW",
    );
    expect(s.length).toBe(30);
    await s.forwardTokens([1, 2]); // exactly full
    expect(s.length).toBe(32);
    await expectCode(s.forwardTokens([1]), "CONTEXT_OVERFLOW");
    await s.dispose();
  });

  it("INVALID_INPUT for bad truncation lengths; INVALID_OPTION for a bad sequence size", async () => {
    const s = await backend.createSequence();
    await s.forwardTokens([1, 2, 3]);
    await expectCode(s.truncate(4), "INVALID_INPUT");
    await expectCode(s.truncate(-1), "INVALID_INPUT");
    await expectCode(s.truncate(1.5), "INVALID_INPUT");
    expect(s.length).toBe(3);
    await expectCode(backend.createSequence({ contextSize: 0 }), "INVALID_OPTION");
    await s.dispose();
  });

  it("ABORTED for an aborted signal, and the sequence is unchanged", async () => {
    const s = await backend.createSequence();
    await s.forwardTokens([1, 2]);
    const ac = new AbortController();
    ac.abort();
    await expectCode(s.forwardTokens([3, 4], { signal: ac.signal }), "ABORTED");
    expect(s.length).toBe(2);
    await s.dispose();
  });

  it("DISPOSED after dispose (sequence and backend); dispose is idempotent", async () => {
    const b = await loadLlamaCppBackend({ modelPath: TINY_MODEL, contextSize: 16, threads: 1 });
    const s = await b.createSequence();
    await s.forwardTokens([1, 2]);
    await s.dispose();
    await s.dispose();
    await expectCode(s.forwardTokens([1]), "DISPOSED");
    await expectCode(s.forwardEmbeddings(new Float32Array(b.info.embeddingWidth)), "DISPOSED");
    await expectCode(s.truncate(0), "DISPOSED");
    const s2 = await b.createSequence();
    const pending = s2.forwardTokens([1, 2, 3]);
    await b.dispose(); // waits for the pending decode, then frees everything
    await pending;
    await b.dispose();
    await expectCode(s2.forwardTokens([1]), "DISPOSED");
    // a sequence still being created while the backend is disposed
    const b2 = await loadLlamaCppBackend({ modelPath: TINY_MODEL, contextSize: 16, threads: 1 });
    const creating = b2.createSequence();
    await b2.dispose();
    await expectCode(creating, "DISPOSED");
    await expectCode(b.createSequence(), "DISPOSED");
    await expectCode(() => b.tokenize("x"), "DISPOSED");
    await expectCode(() => b.tokenBytes(1), "DISPOSED");
    await expectCode(b.tokenEmbeddings([1]), "DISPOSED");
  });

  it("is still alive and correct after all of the above", async () => {
    const s = await backend.createSequence();
    const r = await s.forwardTokens(backend.tokenize("still alive", { addSpecial: true }));
    expect(r.logits.every(Number.isFinite)).toBe(true);
    await s.dispose();
  });
});

/**
 * The GGUF metadata reader on GGUF bytes written here by a tiny encoder of the format
 * (gguf.md): pure file parsing, no engine. Real model files are read in
 * packages/model-recall-demo/test/config.test.ts and packages/backend-llamacpp/test/gemma.test.ts.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GGUF_CONFIG_KEY, loadModelConfig, readGgufMetadataString } from "../src/index.js";

type Value =
  | { type: "u32"; v: number }
  | { type: "f32"; v: number }
  | { type: "string"; v: string }
  | { type: "strings"; v: string[] }
  | { type: "f32s"; v: number[] };

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
function str(s: string): Buffer {
  const bytes = Buffer.from(s, "utf8");
  return Buffer.concat([u64(bytes.length), bytes]);
}
function value(v: Value): Buffer {
  switch (v.type) {
    case "u32":
      return Buffer.concat([u32(4), u32(v.v)]);
    case "f32": {
      const b = Buffer.alloc(4);
      b.writeFloatLE(v.v);
      return Buffer.concat([u32(6), b]);
    }
    case "string":
      return Buffer.concat([u32(8), str(v.v)]);
    case "strings":
      return Buffer.concat([u32(9), u32(8), u64(v.v.length), ...v.v.map(str)]);
    case "f32s":
      return Buffer.concat([
        u32(9),
        u32(6),
        u64(v.v.length),
        ...v.v.map((x) => {
          const b = Buffer.alloc(4);
          b.writeFloatLE(x);
          return b;
        }),
      ]);
  }
}
/** A GGUF v3 file with these key–value pairs and no tensors. */
function gguf(pairs: [string, Value][], version = 3): Buffer {
  return Buffer.concat([
    Buffer.from("GGUF", "latin1"),
    u32(version),
    u64(0),
    u64(pairs.length),
    ...pairs.map(([k, v]) => Buffer.concat([str(k), value(v)])),
  ]);
}

// A token list larger than the reader's 1 MiB chunk, so the key after it needs refills.
const TOKENS = Array.from({ length: 150_000 }, (_, i) => `token-${i}`);
const CONFIG = { trigger: "<recall>", encoder: { value: "hidden-state", valueVectors: 4 } };
const PAIRS: [string, Value][] = [
  ["general.architecture", { type: "string", v: "llama" }],
  ["llama.block_count", { type: "u32", v: 8 }],
  ["tokenizer.ggml.tokens", { type: "strings", v: TOKENS }],
  ["tokenizer.ggml.scores", { type: "f32s", v: [0.5, -1, 2] }],
  ["llama.rope.freq_base", { type: "f32", v: 10000 }],
  [GGUF_CONFIG_KEY, { type: "string", v: JSON.stringify(CONFIG) }],
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mnemo-gguf-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Buffer | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe("readGgufMetadataString", () => {
  it("finds string values before and after multi-megabyte arrays", async () => {
    const path = await file("m.gguf", gguf(PAIRS));
    expect(await readGgufMetadataString(path, "general.architecture")).toBe("llama");
    expect(await readGgufMetadataString(path, GGUF_CONFIG_KEY)).toBe(JSON.stringify(CONFIG));
  });

  it("reads GGUF v2 too", async () => {
    const path = await file("v2.gguf", gguf(PAIRS, 2));
    expect(await readGgufMetadataString(path, GGUF_CONFIG_KEY)).toBe(JSON.stringify(CONFIG));
  });

  it("gives undefined, never an error, for absent keys, other types and unreadable files", async () => {
    const good = gguf(PAIRS);
    const path = await file("m2.gguf", good);
    expect(await readGgufMetadataString(path, "no.such.key")).toBeUndefined();
    expect(await readGgufMetadataString(path, "llama.block_count")).toBeUndefined(); // a u32
    expect(await readGgufMetadataString(join(dir, "missing.gguf"), "x")).toBeUndefined();
    const notGguf = await file("text.gguf", "this is not a model");
    expect(await readGgufMetadataString(notGguf, "general.architecture")).toBeUndefined();
    // cut inside the token list: the key after it cannot be reached
    const truncated = await file("cut.gguf", good.subarray(0, 200_000));
    expect(await readGgufMetadataString(truncated, GGUF_CONFIG_KEY)).toBeUndefined();
    expect(await readGgufMetadataString(truncated, "general.architecture")).toBe("llama");
    const v1 = await file("v1.gguf", gguf(PAIRS, 1));
    expect(await readGgufMetadataString(v1, "general.architecture")).toBeUndefined();
    // an impossible string length (corrupt file) is refused, not allocated
    const huge = Buffer.concat([Buffer.from("GGUF"), u32(3), u64(0), u64(1), u64(2 ** 50)]);
    expect(await readGgufMetadataString(await file("huge.gguf", huge), "x")).toBeUndefined();
    const badType = Buffer.concat([Buffer.from("GGUF"), u32(3), u64(0), u64(2), str("a"), u32(99)]);
    expect(await readGgufMetadataString(await file("type.gguf", badType), "b")).toBeUndefined();
  });
});

describe("loadModelConfig with a config embedded in the GGUF", () => {
  it("uses the embedded config when no file is beside the model", async () => {
    const sub = join(dir, "alone");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(sub);
    const path = join(sub, "model.gguf");
    await writeFile(path, gguf(PAIRS));
    expect(await loadModelConfig(path)).toEqual(CONFIG);
  });

  it("lets a config file beside the model win over the embedded one", async () => {
    const sub = join(dir, "beside");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(sub);
    await writeFile(join(sub, "model.gguf"), gguf(PAIRS));
    await writeFile(join(sub, "model.json"), JSON.stringify({ trigger: "<beside>" }));
    expect((await loadModelConfig(join(sub, "model.gguf")))?.trigger).toBe("<beside>");
  });

  it("refuses an embedded config that is not valid JSON or not a valid config (MODEL_INVALID)", async () => {
    const { mkdir } = await import("node:fs/promises");
    const sub = join(dir, "bad");
    await mkdir(sub);
    const badJson = join(sub, "a.gguf");
    await writeFile(badJson, gguf([[GGUF_CONFIG_KEY, { type: "string", v: "{" }]]));
    await expect(loadModelConfig(badJson)).rejects.toMatchObject({
      code: "MODEL_INVALID",
      message: expect.stringMatching(/mnemo\.model_json.*beside the model/),
    });
    const badKey = join(sub, "b.gguf");
    await writeFile(badKey, gguf([[GGUF_CONFIG_KEY, { type: "string", v: '{"encoders":{}}' }]]));
    await expect(loadModelConfig(badKey)).rejects.toMatchObject({ code: "MODEL_INVALID" });
  });

  it("gives undefined for a GGUF without one", async () => {
    const { mkdir } = await import("node:fs/promises");
    const sub = join(dir, "plain");
    await mkdir(sub);
    await writeFile(join(sub, "p.gguf"), gguf(PAIRS.slice(0, 3)));
    expect(await loadModelConfig(join(sub, "p.gguf"))).toBeUndefined();
  });
});

/**
 * The GGUF metadata reader on GGUF bytes written here by a tiny encoder of the format
 * (gguf.md): pure file parsing, no engine. Real model files are read in
 * packages/model-recall-demo/test/config.test.ts and packages/backend-llamacpp/test/gemma.test.ts.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GGUF_CONFIG_KEY,
  loadModelConfig,
  readGgufMetadata,
  readGgufMetadataString,
} from "../src/index.js";

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
    // cut inside the token list: not a readable GGUF, so nothing is trusted from it
    const truncated = await file("cut.gguf", good.subarray(0, 200_000));
    expect(await readGgufMetadataString(truncated, GGUF_CONFIG_KEY)).toBeUndefined();
    expect(await readGgufMetadata(truncated)).toBeUndefined();
    const v1 = await file("v1.gguf", gguf(PAIRS, 1));
    expect(await readGgufMetadataString(v1, "general.architecture")).toBeUndefined();
    // an impossible string length (corrupt file) is refused, not allocated
    const huge = Buffer.concat([Buffer.from("GGUF"), u32(3), u64(0), u64(1), u64(2 ** 50)]);
    expect(await readGgufMetadataString(await file("huge.gguf", huge), "x")).toBeUndefined();
    const badType = Buffer.concat([Buffer.from("GGUF"), u32(3), u64(0), u64(2), str("a"), u32(99)]);
    expect(await readGgufMetadataString(await file("type.gguf", badType), "b")).toBeUndefined();
  });
});

describe("readGgufMetadata", () => {
  it("decodes every value type and summarises arrays, nested ones too", async () => {
    const scalar = (type: number, bytes: Buffer) => Buffer.concat([u32(type), bytes]);
    const le = (n: number, write: (b: Buffer) => void) => {
      const b = Buffer.alloc(n);
      write(b);
      return b;
    };
    const pairs: [string, Buffer][] = [
      ["u8", scalar(0, Buffer.from([250]))],
      ["i8", scalar(1, Buffer.from([0xff]))],
      [
        "u16",
        scalar(
          2,
          le(2, (b) => b.writeUInt16LE(65000)),
        ),
      ],
      [
        "i16",
        scalar(
          3,
          le(2, (b) => b.writeInt16LE(-3)),
        ),
      ],
      [
        "i32",
        scalar(
          5,
          le(4, (b) => b.writeInt32LE(-70000)),
        ),
      ],
      ["bool", scalar(7, Buffer.from([1]))],
      [
        "u64",
        scalar(
          10,
          le(8, (b) => b.writeBigUInt64LE(2n ** 60n)),
        ),
      ],
      [
        "i64",
        scalar(
          11,
          le(8, (b) => b.writeBigInt64LE(-5n)),
        ),
      ],
      [
        "f64",
        scalar(
          12,
          le(8, (b) => b.writeDoubleLE(0.125)),
        ),
      ],
      // an array of two arrays of u16
      [
        "nested",
        Buffer.concat([
          u32(9),
          u32(9),
          u64(2),
          ...[3, 1].map((n) => Buffer.concat([u32(2), u64(n), Buffer.alloc(2 * n)])),
        ]),
      ],
      ["after", Buffer.concat([u32(8), str("still read")])],
    ];
    const bytes = Buffer.concat([
      Buffer.from("GGUF"),
      u32(3),
      u64(0),
      u64(pairs.length),
      ...pairs.map(([k, v]) => Buffer.concat([str(k), v])),
    ]);
    const meta = await readGgufMetadata(await file("types.gguf", bytes));
    expect(Object.fromEntries(meta ?? [])).toEqual({
      u8: 250,
      i8: -1,
      u16: 65000,
      i16: -3,
      i32: -70000,
      bool: true,
      u64: 2n ** 60n,
      i64: -5n,
      f64: 0.125,
      nested: { arrayOf: "array", length: 2 },
      after: "still read",
    });
  });

  it("refuses an array count past the end of the file without reading to the end", async () => {
    const bytes = Buffer.concat([
      Buffer.from("GGUF"),
      u32(3),
      u64(0),
      u64(1),
      str("scores"),
      u32(9),
      u32(6),
      u64(2 ** 40), // 4 TiB of f32
    ]);
    expect(await readGgufMetadata(await file("count.gguf", bytes))).toBeUndefined();
  });

  it("reads the whole synthetic file: the token list is summarised, later keys are kept", async () => {
    const meta = await readGgufMetadata(await file("all.gguf", gguf(PAIRS)));
    expect(meta?.get("tokenizer.ggml.tokens")).toEqual({
      arrayOf: "string",
      length: TOKENS.length,
    });
    expect(meta?.get("llama.block_count")).toBe(8);
    expect(meta?.get("llama.rope.freq_base")).toBe(10000);
    expect([...(meta?.keys() ?? [])]).toEqual(PAIRS.map(([k]) => k));
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

  it("<name>.json beside the model wins over the embedded config, a folder's model.json does not", async () => {
    const sub = join(dir, "beside");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(sub);
    await writeFile(join(sub, "a.gguf"), gguf(PAIRS));
    await writeFile(join(sub, "b.gguf"), gguf(PAIRS));
    await writeFile(join(sub, "a.json"), JSON.stringify({ trigger: "<own file>" }));
    // another model's generic config left in the folder must not re-encode this one's memories
    await writeFile(
      join(sub, "model.json"),
      JSON.stringify({ encoder: { value: "mean-embedding" } }),
    );
    expect((await loadModelConfig(join(sub, "a.gguf")))?.trigger).toBe("<own file>");
    expect(await loadModelConfig(join(sub, "b.gguf"))).toEqual(CONFIG);
    await writeFile(join(sub, "plain.gguf"), gguf(PAIRS.slice(0, 2)));
    expect((await loadModelConfig(join(sub, "plain.gguf")))?.encoder?.value).toBe("mean-embedding");
  });

  it("never blocks on a FIFO named like a model or a config", async (ctx) => {
    if (process.platform === "win32") ctx.skip("SKIPPED: mkfifo is POSIX only");
    const { execFileSync } = await import("node:child_process");
    const { mkdir } = await import("node:fs/promises");
    const sub = join(dir, "fifo");
    await mkdir(sub);
    execFileSync("mkfifo", [join(sub, "m.gguf"), join(sub, "model.json"), join(sub, "n.json")]);
    expect(await readGgufMetadata(join(sub, "m.gguf"))).toBeUndefined();
    expect(await loadModelConfig(join(sub, "m.gguf"))).toBeUndefined();
    expect(await loadModelConfig(join(sub, "n.gguf"))).toBeUndefined(); // n.json is a FIFO too
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
    // no file to fix: the message says where a config file that takes precedence goes
    await expect(loadModelConfig(badKey)).rejects.toMatchObject({
      code: "MODEL_INVALID",
      message: expect.stringMatching(/unknown key "encoders".*b\.json.*takes precedence/),
    });
  });

  it("gives undefined for a GGUF without one", async () => {
    const { mkdir } = await import("node:fs/promises");
    const sub = join(dir, "plain");
    await mkdir(sub);
    await writeFile(join(sub, "p.gguf"), gguf(PAIRS.slice(0, 3)));
    expect(await loadModelConfig(join(sub, "p.gguf"))).toBeUndefined();
  });
});

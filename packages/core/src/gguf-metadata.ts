/**
 * Reads one string from a GGUF file's metadata (its key–value section), without loading the
 * model and without any engine: how a self-contained model file carries its mnemo settings
 * (`mnemo.model_json`), as GGUF files carry their chat template (`tokenizer.chat_template`).
 *
 * Format: GGUF v2/v3, little-endian (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
 * magic `GGUF`, u32 version, u64 tensor count, u64 key–value count, then each pair as
 * (string key, u32 value type, value); a string is a u64 byte length and UTF-8 bytes; an array
 * is a u32 element type, a u64 count and the elements.
 */
import type { FileHandle } from "node:fs/promises";

/** GGUF value types (gguf.md, `gguf_metadata_value_type`) → fixed byte size; 0 = variable. */
const FIXED_SIZE: Record<number, number> = {
  0: 1, // u8
  1: 1, // i8
  2: 2, // u16
  3: 2, // i16
  4: 4, // u32
  5: 4, // i32
  6: 4, // f32
  7: 1, // bool
  10: 8, // u64
  11: 8, // i64
  12: 8, // f64
};
const STRING = 8;
const ARRAY = 9;
/** Longest key or string value read (bytes): anything longer means a corrupt file. */
const MAX_STRING_BYTES = 64 * 1024 * 1024;
const CHUNK = 1 << 20;

/** Thrown inside the reader when the file ends early or holds impossible sizes. */
class Corrupt extends Error {}

/** A forward-only reader over a file, refilled in 1 MiB chunks (token lists can be megabytes). */
class Cursor {
  private buf = Buffer.alloc(0);
  private at = 0;
  private filePos = 0;
  constructor(private readonly file: FileHandle) {}

  private async need(n: number): Promise<void> {
    if (this.buf.length - this.at >= n) return;
    const rest = this.buf.subarray(this.at);
    const chunk = Buffer.alloc(Math.max(CHUNK, n - rest.length));
    const { bytesRead } = await this.file.read(chunk, 0, chunk.length, this.filePos);
    this.filePos += bytesRead;
    this.buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
    this.at = 0;
    if (this.buf.length < n) throw new Corrupt("unexpected end of file");
  }

  async bytes(n: number): Promise<Buffer> {
    await this.need(n);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  async u32(): Promise<number> {
    return (await this.bytes(4)).readUInt32LE(0);
  }

  async u64(): Promise<number> {
    const v = (await this.bytes(8)).readBigUInt64LE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Corrupt("size out of range");
    return Number(v);
  }

  async skip(n: number): Promise<void> {
    // Skip without holding more than one chunk in memory.
    let left = n;
    while (left > 0) {
      const step = Math.min(left, CHUNK);
      await this.bytes(step);
      left -= step;
    }
  }

  async string(): Promise<string> {
    const n = await this.u64();
    if (n > MAX_STRING_BYTES) throw new Corrupt("string too long");
    return (await this.bytes(n)).toString("utf8");
  }

  async skipValue(type: number): Promise<void> {
    const fixed = FIXED_SIZE[type];
    if (fixed !== undefined) return this.skip(fixed);
    if (type === STRING) {
      const n = await this.u64();
      if (n > MAX_STRING_BYTES) throw new Corrupt("string too long");
      return this.skip(n);
    }
    if (type === ARRAY) {
      const elem = await this.u32();
      const count = await this.u64();
      const size = FIXED_SIZE[elem];
      if (size !== undefined) return this.skip(size * count);
      for (let i = 0; i < count; i++) await this.skipValue(elem);
      return;
    }
    throw new Corrupt(`unknown value type ${type}`);
  }
}

/**
 * The string stored under `key` in a GGUF file's metadata.
 * @param path a `.gguf` file
 * @param key e.g. `"mnemo.model_json"`
 * @returns the value; `undefined` when the key is absent, holds no string, or the file is not a
 *   readable GGUF v2/v3 file (the backend reports that one when it loads the model). Never throws.
 */
export async function readGgufMetadataString(
  path: string,
  key: string,
): Promise<string | undefined> {
  const { open } = await import("node:fs/promises");
  let file: FileHandle;
  try {
    file = await open(path, "r");
  } catch {
    return undefined;
  }
  try {
    const c = new Cursor(file);
    if ((await c.bytes(4)).toString("latin1") !== "GGUF") return undefined;
    const version = await c.u32();
    if (version < 2 || version > 3) return undefined;
    await c.u64(); // tensor count
    const pairs = await c.u64();
    for (let i = 0; i < pairs; i++) {
      const k = await c.string();
      const type = await c.u32();
      if (k === key) return type === STRING ? await c.string() : undefined;
      await c.skipValue(type);
    }
    return undefined;
  } catch {
    return undefined; // truncated or corrupt: not ours to report
  } finally {
    await file.close();
  }
}

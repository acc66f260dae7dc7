/**
 * Reads a GGUF file's metadata (its key–value section) without loading the model and without any
 * engine: how a self-contained model file carries its mnemo settings (`mnemo.model_json`), as GGUF
 * files carry their chat template (`tokenizer.chat_template`).
 *
 * Format: GGUF v2/v3, little-endian (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
 * magic `GGUF`, u32 version, u64 tensor count, u64 key–value count, then each pair as
 * (string key, u32 value type, value); a string is a u64 byte length and UTF-8 bytes; an array
 * is a u32 element type, a u64 count and the elements.
 */
import type { FileHandle } from "node:fs/promises";

/**
 * One metadata value: numbers (u8…i32, f32, f64; u64/i64 as `bigint`), booleans, strings, and
 * arrays summarised by element type and length (token lists hold hundreds of thousands of
 * entries: they are skipped, not kept).
 */
export type GgufMetadataValue = number | bigint | boolean | string | GgufArraySummary;

/** A metadata array, summarised: its element type and length (elements are skipped). */
export interface GgufArraySummary {
  /** The element type (`"array"` for arrays of arrays). */
  readonly arrayOf: GgufValueType;
  /** Number of elements. */
  readonly length: number;
}

/** GGUF value type names (gguf.md, `gguf_metadata_value_type`). */
export type GgufValueType =
  | "u8"
  | "i8"
  | "u16"
  | "i16"
  | "u32"
  | "i32"
  | "f32"
  | "bool"
  | "string"
  | "array"
  | "u64"
  | "i64"
  | "f64";

/**
 * GGUF value types, indexed by the format's numbering (gguf.md, `gguf_metadata_value_type`): the
 * fixed-size ones with their byte size and decoder; strings (8) and arrays (9) vary in size.
 */
const TYPES: readonly {
  name: GgufValueType;
  size?: number;
  read?: (b: Buffer) => GgufMetadataValue;
}[] = [
  { name: "u8", size: 1, read: (b: Buffer) => b.readUInt8(0) },
  { name: "i8", size: 1, read: (b: Buffer) => b.readInt8(0) },
  { name: "u16", size: 2, read: (b: Buffer) => b.readUInt16LE(0) },
  { name: "i16", size: 2, read: (b: Buffer) => b.readInt16LE(0) },
  { name: "u32", size: 4, read: (b: Buffer) => b.readUInt32LE(0) },
  { name: "i32", size: 4, read: (b: Buffer) => b.readInt32LE(0) },
  { name: "f32", size: 4, read: (b: Buffer) => b.readFloatLE(0) },
  { name: "bool", size: 1, read: (b: Buffer) => b.readUInt8(0) !== 0 },
  { name: "string" },
  { name: "array" },
  { name: "u64", size: 8, read: (b: Buffer) => b.readBigUInt64LE(0) },
  { name: "i64", size: 8, read: (b: Buffer) => b.readBigInt64LE(0) },
  { name: "f64", size: 8, read: (b: Buffer) => b.readDoubleLE(0) },
];

/** The fixed-size type numbered `type`, if it is one. */
function fixed(type: number): { size: number; read: (b: Buffer) => GgufMetadataValue } | undefined {
  const t = TYPES[type];
  return t?.size !== undefined && t.read ? { size: t.size, read: t.read } : undefined;
}

const STRING = 8;
const ARRAY = 9;
/** Longest key or string value read (bytes): anything longer means a corrupt file. */
const MAX_STRING_BYTES = 64 * 1024 * 1024;
const CHUNK = 1 << 20;

/** Thrown inside the reader when the file ends early or holds impossible sizes. */
class Corrupt extends Error {}

/** A forward-only reader over a file of known size, refilled in 1 MiB chunks. */
class Cursor {
  private buf = Buffer.alloc(0);
  private at = 0;
  /** File offset of the byte after `buf`. */
  private filePos = 0;
  constructor(
    private readonly file: FileHandle,
    private readonly size: number,
  ) {}

  /** File offset of the next unread byte. */
  private get offset(): number {
    return this.filePos - (this.buf.length - this.at);
  }

  private async need(n: number): Promise<void> {
    if (this.buf.length - this.at >= n) return;
    if (this.offset + n > this.size) throw new Corrupt("unexpected end of file");
    const rest = this.buf.subarray(this.at);
    const chunk = Buffer.alloc(Math.max(CHUNK, n - rest.length));
    let filled = 0;
    // read() may return fewer bytes than asked before the end of the file: loop
    while (rest.length + filled < n) {
      const { bytesRead } = await this.file.read(
        chunk,
        filled,
        chunk.length - filled,
        this.filePos + filled,
      );
      if (bytesRead === 0) throw new Corrupt("unexpected end of file");
      filled += bytesRead;
    }
    this.filePos += filled;
    this.buf = Buffer.concat([rest, chunk.subarray(0, filled)]);
    this.at = 0;
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
    // A corrupt count must not make us read to the end of a multi-gigabyte file.
    if (this.offset + n > this.size) throw new Corrupt("unexpected end of file");
    const buffered = this.buf.length - this.at;
    if (n <= buffered) {
      this.at += n;
      return;
    }
    this.filePos = this.offset + n;
    this.buf = Buffer.alloc(0);
    this.at = 0;
  }

  /** A string's byte length, refused past {@link MAX_STRING_BYTES} (a corrupt file). */
  private async stringLength(): Promise<number> {
    const n = await this.u64();
    if (n > MAX_STRING_BYTES) throw new Corrupt("string too long");
    return n;
  }

  async string(): Promise<string> {
    return (await this.bytes(await this.stringLength())).toString("utf8");
  }

  /** Skips `count` strings, synchronously while they are buffered (token lists: ~10^5 strings). */
  async skipStrings(count: number): Promise<void> {
    let left = count;
    while (left > 0) {
      // fast path over the buffered bytes
      while (left > 0 && this.buf.length - this.at >= 8) {
        const n = Number(this.buf.readBigUInt64LE(this.at));
        if (n > MAX_STRING_BYTES) throw new Corrupt("string too long");
        if (this.buf.length - this.at < 8 + n) break;
        this.at += 8 + n;
        left--;
      }
      if (left === 0) return;
      await this.skip(await this.stringLength());
      left--;
    }
  }

  async value(type: number): Promise<GgufMetadataValue> {
    if (type === STRING) return this.string();
    if (type === ARRAY) {
      const elem = await this.u32();
      const length = await this.u64();
      const arrayOf = TYPES[elem]?.name;
      if (arrayOf === undefined) throw new Corrupt(`unknown value type ${elem}`);
      const f = fixed(elem);
      if (f) await this.skip(f.size * length);
      else if (elem === STRING) await this.skipStrings(length);
      else for (let i = 0; i < length; i++) await this.value(elem); // nested arrays
      return { arrayOf, length };
    }
    const f = fixed(type);
    if (!f) throw new Corrupt(`unknown value type ${type}`);
    return f.read(await this.bytes(f.size));
  }
}

/**
 * All key–value metadata of a GGUF file, in file order.
 * @param path a `.gguf` file
 * @returns the metadata (arrays summarised, see {@link GgufMetadataValue}); `undefined` when the
 *   path is not a regular file (a FIFO would block) or not a readable GGUF v2/v3 file: the backend
 *   reports that one when it loads the model. Never throws.
 */
export async function readGgufMetadata(
  path: string,
): Promise<Map<string, GgufMetadataValue> | undefined> {
  const { open, stat } = await import("node:fs/promises");
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) return undefined;
    size = s.size;
  } catch {
    return undefined;
  }
  let file: FileHandle;
  try {
    file = await open(path, "r");
  } catch {
    return undefined;
  }
  try {
    const c = new Cursor(file, size);
    if ((await c.bytes(4)).toString("latin1") !== "GGUF") return undefined;
    const version = await c.u32();
    if (version < 2 || version > 3) return undefined;
    await c.u64(); // tensor count
    const pairs = await c.u64();
    const out = new Map<string, GgufMetadataValue>();
    for (let i = 0; i < pairs; i++) {
      const key = await c.string();
      out.set(key, await c.value(await c.u32()));
    }
    return out;
  } catch {
    return undefined; // truncated or corrupt: not ours to report
  } finally {
    await file.close();
  }
}

/**
 * The string stored under `key` in a GGUF file's metadata.
 * @param path a `.gguf` file
 * @param key e.g. `"mnemo.model_json"`
 * @returns the value; `undefined` when the key is absent, holds no string, or the file is not a
 *   readable GGUF v2/v3 file (see {@link readGgufMetadata}). Never throws.
 */
export async function readGgufMetadataString(
  path: string,
  key: string,
): Promise<string | undefined> {
  const value = (await readGgufMetadata(path))?.get(key);
  return typeof value === "string" ? value : undefined;
}

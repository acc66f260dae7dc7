import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { MnemoError } from "@mnemo/core";

/** Wraps a file-system error as `IO_ERROR` (a `MnemoError` passes through unchanged). */
export function ioError(what: string, path: string, cause: unknown): MnemoError {
  if (cause instanceof MnemoError) return cause;
  const code = (cause as { code?: unknown })?.code;
  return new MnemoError(
    "IO_ERROR",
    `Could not ${what} ${path}${typeof code === "string" ? ` (${code})` : ""}: ${
      cause instanceof Error ? cause.message : String(cause)
    }`,
    { cause, details: { path, ...(typeof code === "string" ? { errno: code } : {}) } },
  );
}

/** A unique temporary file name beside `path` (same directory, so `rename` is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${randomBytes(6).toString("hex")}.tmp`);
}

/** fsyncs a file or directory by path. */
export async function fsyncPath(path: string, directory = false): Promise<void> {
  const fh = await open(path, directory ? "r" : "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** SHA-256 (hex) and size in bytes of a file. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

/**
 * Writes `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync the
 * directory. A crash leaves either the old file or the new one, never a torn one.
 * @throws MnemoError `IO_ERROR`
 */
export async function atomicWriteFile(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data);
    await fsyncPath(tmp);
    await rename(tmp, path);
    await fsyncPath(dirname(path), true);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw ioError("write", path, e);
  }
}

/**
 * Installs a file that something else wrote at `tmp` (e.g. hnswlib's `writeIndex`, which reports
 * success even when it wrote nothing): checks that it exists and has at least `minBytes`,
 * checksums it by reading it back, fsyncs it, renames it onto `path` and fsyncs the directory.
 * @returns the file's SHA-256 and size
 * @throws MnemoError `IO_ERROR` when the file is missing, too small, or any step fails
 */
export async function installWrittenFile(
  tmp: string,
  path: string,
  minBytes: number,
): Promise<{ sha256: string; bytes: number }> {
  try {
    const st = await stat(tmp).catch((e: unknown) => {
      throw new MnemoError(
        "IO_ERROR",
        `The index file was not written to ${tmp} (the directory may be unwritable, missing or full).`,
        { cause: e, details: { path: tmp } },
      );
    });
    if (!st.isFile() || st.size < minBytes) {
      throw new MnemoError(
        "IO_ERROR",
        `The index file written to ${tmp} has ${st.size} bytes; at least ${minBytes} were expected (disk full?).`,
        { details: { path: tmp, bytes: st.size, minBytes } },
      );
    }
    await fsyncPath(tmp);
    const sum = await hashFile(tmp);
    if (sum.bytes !== st.size) {
      throw new MnemoError("IO_ERROR", `The index file ${tmp} changed size while being verified.`, {
        details: { path: tmp },
      });
    }
    await rename(tmp, path);
    await fsyncPath(dirname(path), true);
    return sum;
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw ioError("write", path, e);
  }
}

/** Reads a file as UTF-8, or `undefined` if it does not exist. @throws MnemoError `IO_ERROR` */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as { code?: unknown }).code === "ENOENT") return undefined;
    throw ioError("read", path, e);
  }
}

import { MnemoError, type StoreDimensions } from "@mnemo/core";

/** The `format` tag of a store directory's manifest. */
export const MANIFEST_FORMAT = "mnemo-store-hnsw";
/** The manifest/SQLite layout version this package writes and reads. */
export const FORMAT_VERSION = 1;

/** Where the saved index stands relative to the SQLite records. */
export interface ManifestIndex {
  /** File name of the index inside the store directory. */
  file: string;
  /** The SQLite write generation the index file reflects. */
  generation: number;
  /** Size of the index file in bytes. */
  bytes: number;
  /** SHA-256 of the index file, hex. */
  sha256: string;
  /** Number of elements hnswlib holds in the file (live and marked deleted). */
  elements: number;
}

/**
 * `manifest.json` in a store directory: what the store was made for and which index file matches
 * which state of the records. Written atomically on every flush.
 */
export interface Manifest {
  /** Identifies the file as a mnemo HNSW store manifest ({@link MANIFEST_FORMAT}). */
  format: typeof MANIFEST_FORMAT;
  /** Version of the on-disk format ({@link FORMAT_VERSION} when written by this release). */
  formatVersion: number;
  /** Always `"cosine"`. */
  space: "cosine";
  /** Key and value widths the store was created for. */
  dimensions: StoreDimensions;
  /** Free-form identity of the model whose hidden states are the keys, or `null`. */
  modelIdentity: string | null;
  /** HNSW links per node (fixed at creation). */
  M: number;
  /** HNSW insert-time candidate list size (fixed at creation). */
  efConstruction: number;
  /** HNSW query-time `ef` saved for the next open (hnswlib does not save it). */
  efSearch: number;
  /** Number of live memories when the manifest was written. */
  count: number;
  /** The saved index, or `null` when none has been saved yet. */
  index: ManifestIndex | null;
  /** ISO time of the last write. */
  savedAt: string;
}

function isPosInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/**
 * Parses and checks a manifest's text.
 * @throws MnemoError `STORE_CORRUPT` when it is not valid JSON or lacks fields;
 *   `STORE_MISMATCH` when it was written by a newer format version
 */
export function parseManifest(text: string, path: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new MnemoError(
      "STORE_CORRUPT",
      `The store manifest ${path} is not valid JSON; the store directory is damaged. ` +
        "The records are in store.sqlite; move the manifest away to let the store rebuild it.",
      { cause: e, details: { path } },
    );
  }
  const o = m as Partial<Manifest> | null;
  if (typeof o !== "object" || o === null || o.format !== MANIFEST_FORMAT) {
    throw new MnemoError("STORE_CORRUPT", `${path} is not a mnemo store-hnsw manifest.`, {
      details: { path },
    });
  }
  if (!isPosInt(o.formatVersion)) {
    throw new MnemoError("STORE_CORRUPT", `The store manifest ${path} has no format version.`, {
      details: { path },
    });
  }
  if (o.formatVersion > FORMAT_VERSION) {
    throw new MnemoError(
      "STORE_MISMATCH",
      `The store at ${path} has format version ${String(o.formatVersion)}; this package reads up to ${FORMAT_VERSION}. Upgrade @mnemo/store-hnsw.`,
      { details: { path, formatVersion: o.formatVersion } },
    );
  }
  const d = o.dimensions;
  const idx = o.index;
  const ok =
    o.space === "cosine" &&
    typeof d === "object" &&
    d !== null &&
    isPosInt(d.keyWidth) &&
    isPosInt(d.valueWidth) &&
    (o.modelIdentity === null || typeof o.modelIdentity === "string") &&
    isPosInt(o.M) &&
    isPosInt(o.efConstruction) &&
    isPosInt(o.efSearch) &&
    isPosInt(o.count) &&
    (idx === null ||
      (typeof idx === "object" &&
        idx !== undefined &&
        typeof idx.file === "string" &&
        /^[A-Za-z0-9._-]+$/.test(idx.file) &&
        isPosInt(idx.generation) &&
        isPosInt(idx.bytes) &&
        isPosInt(idx.elements) &&
        typeof idx.sha256 === "string"));
  if (!ok) {
    throw new MnemoError(
      "STORE_CORRUPT",
      `The store manifest ${path} is missing fields or has malformed ones.`,
      { details: { path } },
    );
  }
  return o as Manifest;
}

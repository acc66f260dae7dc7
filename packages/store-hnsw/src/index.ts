/**
 * `@mnemo/store-hnsw`: mnemo's embedded `MemoryStore` (the contract in `@mnemo/core`). Search runs on hnswlib's
 * implementation of Malkov & Yashunin's Hierarchical Navigable Small World (HNSW) graph in cosine
 * space; the records live in SQLite (better-sqlite3), which is the source of truth.
 *
 * ```ts
 * import { openHnswStore } from "@mnemo/store-hnsw";
 * const store = await openHnswStore({ path: ".mnemo/store", dimensions: { keyWidth: 640, valueWidth: 640 } });
 * await store.upsert([{ id: "a", key, value, text: "..." }]);
 * const hits = await store.search(query, { topK: 5 });
 * await store.close();
 * ```
 *
 * @packageDocumentation
 */

export { MAX_ID_LENGTH, MAX_NAMESPACE_LENGTH } from "@mnemo/core";
export type { Manifest, ManifestIndex } from "./manifest.js";
export { FORMAT_VERSION, MANIFEST_FORMAT } from "./manifest.js";
export {
  HNSW_DEFAULTS,
  HnswStore,
  type HnswStoreInfo,
  type HnswStoreOptions,
  MAX_LABEL,
  openHnswStore,
  STORE_FILES,
} from "./store.js";

/**
 * `@mnemo/store-qdrant`: mnemo's `MemoryStore` (the contract in `@mnemo/core`) over a Qdrant
 * server through its REST API (`@qdrant/js-client-rest`). Works with a self-hosted Qdrant (single
 * node or cluster) and Qdrant Cloud.
 *
 * ```ts
 * import { openQdrantStore } from "@mnemo/store-qdrant";
 * const store = await openQdrantStore({ url: "http://127.0.0.1:6333", dimensions: { keyWidth: 640, valueWidth: 640 } });
 * await store.upsert([{ id: "a", key, value, text: "..." }]);
 * const hits = await store.search(query, { topK: 5 });
 * await store.close();
 * ```
 *
 * @packageDocumentation
 */

export { MAX_ID_LENGTH, MAX_NAMESPACE_LENGTH } from "@mnemo/core";
export { POINT_ID_NAMESPACE, pointId, uuidV5 } from "./ids.js";
export type { RetryPolicy } from "./request.js";
export {
  KEY_VECTOR,
  type MetadataIndexType,
  openQdrantStore,
  PAYLOAD_FIELDS,
  type QdrantCollectionOptions,
  QdrantStore,
  type QdrantStoreInfo,
  type QdrantStoreOptions,
  VALUE_VECTOR,
} from "./store.js";

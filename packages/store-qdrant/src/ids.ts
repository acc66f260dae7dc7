import { createHash } from "node:crypto";

/**
 * The UUID namespace of mnemo point ids: UUIDv5("https://mnemo.dev/store-qdrant/point-id") in the
 * RFC 4122 URL namespace. Fixed forever: changing it would orphan every stored memory.
 */
export const POINT_ID_NAMESPACE = "54155f0b-b1fb-5d92-aa4c-8aa971575baa";

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ""), "hex");
}

function formatUuid(bytes: Buffer): string {
  const h = bytes.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * RFC 4122 §4.3 name-based UUID (version 5, SHA-1) of `name` (UTF-8) in `namespace`.
 * @param namespace a UUID string (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`)
 * @returns the lower-case hyphenated UUID
 */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash("sha1").update(uuidBytes(namespace)).update(name, "utf8").digest();
  const b = hash.subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x50;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  return formatUuid(b);
}

/**
 * The Qdrant point id of the memory `(namespace, id)`: UUIDv5 of the UTF-8 JSON text
 * `["<namespace>","<id>"]` (i.e. `JSON.stringify([namespace, id])`, unambiguous for any strings)
 * in {@link POINT_ID_NAMESPACE}. Stable across processes, versions and languages: in Python,
 * `uuid.uuid5(uuid.UUID(POINT_ID_NAMESPACE), json.dumps([ns, id], separators=(",", ":"), ensure_ascii=False))`.
 * The original namespace and id are kept in the point's payload (`namespace`, `id`).
 */
export function pointId(namespace: string, id: string): string {
  return uuidV5(JSON.stringify([namespace, id]), POINT_ID_NAMESPACE);
}

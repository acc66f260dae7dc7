// Point ids must be stable forever: expectations computed with Python's uuid.uuid5 (RFC 4122).
import { describe, expect, it } from "vitest";
import { POINT_ID_NAMESPACE, pointId, uuidV5 } from "../src/index.js";

describe("point ids", () => {
  it("uuidV5 matches RFC 4122 / Python's uuid.uuid5", () => {
    // uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
    expect(uuidV5("python.org", "6ba7b810-9dad-11d1-80b4-00c04fd430c8")).toBe(
      "886313e1-3b8a-5372-9b90-0c9aee199e5d",
    );
    // uuid.uuid5(uuid.NAMESPACE_URL, "https://mnemo.dev/store-qdrant/point-id")
    expect(
      uuidV5("https://mnemo.dev/store-qdrant/point-id", "6ba7b811-9dad-11d1-80b4-00c04fd430c8"),
    ).toBe(POINT_ID_NAMESPACE);
  });

  it("pointId is UUIDv5 of JSON [namespace, id] and never confuses the two parts", () => {
    expect(pointId("default", "m0")).toBe("47096c11-4d4d-56ab-99b7-eb14f879a1ae");
    expect(pointId("alpha", "é😀")).toBe("f41d61e4-7ba3-5b80-ba18-2396f92e05c5");
    expect(pointId('a"b', "x\\y")).toBe("a932a222-6fe8-5a99-8538-2a48b19661db");
    expect(pointId("a\u0000b", "c")).not.toBe(pointId("a", "b\u0000c"));
  });
});

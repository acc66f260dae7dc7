// The shared MemoryStore suite (@mnemo/conformance), in memory and on disk.
import { join } from "node:path";
import { describeMemoryStore } from "@mnemo/conformance";
import { afterAll } from "vitest";
import { openHnswStore } from "../src/index.js";
import { tempDir } from "./helpers.js";

const { dir, cleanup } = await tempDir();
afterAll(cleanup);

describeMemoryStore("hnsw (in memory)", ({ dimensions }) => openHnswStore({ dimensions }), {
  persistence: false,
});
describeMemoryStore(
  "hnsw (on disk)",
  ({ dimensions, location }) =>
    openHnswStore({ path: join(dir, location), dimensions, autoFlushMs: false }),
  { persistence: true },
);

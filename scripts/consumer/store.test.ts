// The consumer test runs @mnemo/conformance's store suite (from its tarball, with the vitest its
// peer dependency brought in) against @mnemo/store-hnsw (from its tarball).
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeMemoryStore, type StoreFactory } from "@mnemo/conformance";
import { openHnswStore } from "@mnemo/store-hnsw";

const root = join(tmpdir(), `mnemo-consumer-conformance-${process.pid}`);
const open: StoreFactory = (options) =>
  openHnswStore({ path: join(root, options.location), dimensions: options.dimensions });

describeMemoryStore("hnsw (from the tarballs)", open, { persistence: true });

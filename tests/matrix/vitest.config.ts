import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "matrix",
    include: ["test/**/*.test.ts"],
    // The qdrant-edge test server for the qdrant/edge store (started once, stopped after).
    globalSetup: ["../../packages/store-qdrant/test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

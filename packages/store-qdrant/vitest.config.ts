import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "store-qdrant",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Starts the qdrant-edge test server (Python) once for the project.
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

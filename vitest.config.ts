import { defineConfig } from "vitest/config";

// One vitest run for the whole repo: each package is a project, so results are grouped by package.
// Test files run one at a time: integration tests run llama.cpp with its own threads, and the
// machines here have 2 cores.
export default defineConfig({
  test: {
    projects: [
      "packages/*/vitest.config.ts",
      "apps/*/vitest.config.ts",
      "tests/*/vitest.config.ts",
    ],
    fileParallelism: false,
  },
});

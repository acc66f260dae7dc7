import { defineConfig } from "vitest/config";

// One vitest run for the whole repo: each package is a project, so results are grouped by package.
export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*"],
  },
});

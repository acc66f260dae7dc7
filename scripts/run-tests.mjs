#!/usr/bin/env node
// Runs the whole vitest suite (every package is a vitest project), then prints one plain closing
// line, "N passed, N failed, N skipped", and lists skipped tests so no skip goes unseen.
// Extra arguments go to vitest (e.g. `pnpm test --project core`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";

const out = ".mnemo/test-results.json";
mkdirSync(".mnemo", { recursive: true });
rmSync(out, { force: true });
const { status } = spawnSync(
  "npx",
  [
    "vitest",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile=${out}`,
    ...process.argv.slice(2),
  ],
  { stdio: "inherit" },
);
if (!existsSync(out)) process.exit(status ?? 1);
const report = JSON.parse(readFileSync(out, "utf8"));
const skipped = [];
for (const suite of report.testResults ?? []) {
  for (const t of suite.assertionResults ?? []) {
    if (["skipped", "pending", "todo"].includes(t.status))
      skipped.push(`${t.ancestorTitles.join(" > ")} > ${t.title}`);
  }
}
if (skipped.length)
  console.log(`skipped tests (each printed its reason above):\n  ${skipped.join("\n  ")}`);
console.log(
  `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped`,
);
process.exit(status ?? 1);

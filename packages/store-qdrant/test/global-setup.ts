// Starts the qdrant-edge test server (test-server/qdrant_edge_server.py) on 127.0.0.1 with an
// ephemeral port for the whole store-qdrant project, and stops it afterwards.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..");
const repo = join(pkg, "..", "..");

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the qdrant-edge test server. */
    qdrantTestServerUrl: string;
  }
}

/** The Python with qdrant-edge-py and openapi-core: $MNEMO_PYTHON, else the project venv. */
function python(): string {
  const fromEnv = process.env.MNEMO_PYTHON;
  if (fromEnv) return fromEnv;
  const venv = join(repo, ".mnemo", "venv", "bin", "python");
  if (!existsSync(venv)) {
    throw new Error(
      `store-qdrant tests need the project Python environment (${venv}) with qdrant-edge-py and openapi-core: run \`node scripts/setup.mjs\`.`,
    );
  }
  return venv;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const child: ChildProcess = spawn(
    python(),
    [join(pkg, "test-server", "qdrant_edge_server.py"), "--port", "0", "--exit-with-stdin"],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("qdrant-edge test server did not start within 60 s")),
      60_000,
    );
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`qdrant-edge test server exited with code ${code} before it was ready`));
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once("line", (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { url: string }).url);
      } catch {
        reject(new Error(`unexpected first line from the test server: ${line}`));
      }
    });
  });
  project.provide("qdrantTestServerUrl", url);
  return async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  };
}

/**
 * End-to-end harness: starts the built server on 127.0.0.1 with an ephemeral port, and Debian's
 * chromium through playwright-core (no browser download) with a fresh profile.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium } from "playwright-core";

/** The package folder. */
export const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
/** The repository's models folder. */
export const MODELS_DIR = fileURLToPath(new URL("../../../.mnemo/models", import.meta.url));
/** Where screenshots go (git-ignored). */
export const ARTIFACTS_DIR = join(PACKAGE_DIR, "test-artifacts");
/** Debian's chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Why the browser tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (!existsSync(CHROMIUM)) {
    return `${CHROMIUM} is missing (apt-get update && apt-get install -y chromium)`;
  }
  if (!existsSync(join(MODELS_DIR, "tiny-llama.gguf"))) {
    return `${MODELS_DIR}/tiny-llama.gguf is missing (run node scripts/setup.mjs)`;
  }
  return undefined;
}

/** A running server. */
export interface RunningServer {
  /** Base URL, ending in `/`. */
  url: string;
  /** Everything the server printed. */
  output: () => string;
  /** Stops it (SIGTERM, then SIGKILL) and removes its data folder. */
  stop: () => Promise<void>;
}

/** Starts `dist/server/main.js` on 127.0.0.1, port 0, with a fresh data folder. */
export async function startServer(extraArgs: string[] = []): Promise<RunningServer> {
  const main = join(PACKAGE_DIR, "dist/server/main.js");
  if (!existsSync(main) || !existsSync(join(PACKAGE_DIR, "dist/client/index.html"))) {
    throw new Error("The playground is not built: run `pnpm -F @mnemo/playground build` first.");
  }
  const data = await mkdtemp(join(tmpdir(), "mnemo-playground-"));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      main,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--models",
      MODELS_DIR,
      "--data",
      data,
      "--threads",
      "1",
      ...extraArgs,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MNEMO_HOME: join(data, "home") } },
  );
  let output = "";
  child.stdout?.on("data", (d) => {
    output += String(d);
  });
  child.stderr?.on("data", (d) => {
    output += String(d);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const check = () => {
      const m = /mnemo playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 8000);
        await exited;
        clearTimeout(timer);
      }
      await rm(data, { recursive: true, force: true });
    },
  };
}

/** A headless chromium with a fresh profile. */
export async function launchBrowser(): Promise<{
  context: BrowserContext;
  close: () => Promise<void>;
}> {
  const profile = await mkdtemp(join(tmpdir(), "mnemo-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1440, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

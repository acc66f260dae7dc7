/**
 * The playground server's configuration: command-line options, then environment variables, then
 * defaults (loopback only, the repository's `.mnemo/models`).
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** Everything the server needs to know. */
export interface PlaygroundConfig {
  /** Interface to bind. Default `127.0.0.1` (this machine only). */
  host: string;
  /** TCP port; 0 = any free port. Default 5178. */
  port: number;
  /** Folder the models are listed from and loaded from (nothing outside it is ever opened). */
  modelsDir: string;
  /** Folder the HNSW stores live in (one sub-folder per model). */
  dataDir: string;
  /** Qdrant server URL; the Qdrant store is offered only when set. */
  qdrantUrl?: string;
  /** Qdrant API key, if the server needs one. */
  qdrantApiKey?: string;
  /** Built client files (Vite's output). */
  clientDir: string;
  /** Extra `Host` header names accepted besides loopback names and `host` (e.g. a LAN name). */
  allowedHosts: string[];
  /** CPU threads for the engine; default: the backend's. */
  threads?: number;
  /** Context size (KV positions) per sequence; default 2048. */
  contextSize?: number;
}

/** The usage text printed by `--help`. */
export const USAGE = `mnemo playground: a local web app to chat with latent memory recall

Usage: pnpm playground [-- options]   (or: node apps/playground/dist/server/main.js [options])

Options:
  --host HOST          interface to bind (default 127.0.0.1; env MNEMO_PLAYGROUND_HOST)
  --port N             port, 0 = any free one (default 5178; env MNEMO_PLAYGROUND_PORT)
  --models DIR         models folder (default <mnemo home>/models; env MNEMO_MODELS_DIR)
  --data DIR           data folder for HNSW stores (default <mnemo home>/playground; env MNEMO_PLAYGROUND_DATA)
  --qdrant-url URL     offer the Qdrant store on this server (env MNEMO_QDRANT_URL; key: MNEMO_QDRANT_API_KEY)
  --allow-host NAME    also accept this Host header name (repeatable), for use behind a name
  --threads N          CPU threads for inference
  --context-size N     KV positions per sequence (default 2048)
  --help               this text
`;

/**
 * mnemo's home folder: `$MNEMO_HOME`, else the nearest `.mnemo/` in the current directory or above,
 * else the repository's (relative to this file), else `~/.mnemo`. Same rule as the CLI.
 */
export function mnemoHome(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (env.MNEMO_HOME) return resolve(env.MNEMO_HOME);
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".mnemo"))) return join(dir, ".mnemo");
    if (dirname(dir) === dir) break;
  }
  const own = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../.mnemo");
  if (existsSync(own)) return own;
  return join(homedir(), ".mnemo");
}

function int(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer in [${min}, ${max}]; got "${value}".`);
  }
  return n;
}

/**
 * Builds the configuration from command-line arguments and the environment.
 * @throws Error with a message for the user on a bad option
 */
export function loadConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): PlaygroundConfig & { help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      models: { type: "string" },
      data: { type: "string" },
      "qdrant-url": { type: "string" },
      "allow-host": { type: "string", multiple: true },
      threads: { type: "string" },
      "context-size": { type: "string" },
      help: { type: "boolean" },
    },
  });
  const home = mnemoHome(env);
  const qdrantUrl = values["qdrant-url"] ?? env.MNEMO_QDRANT_URL;
  if (qdrantUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(qdrantUrl)) {
    throw new Error(`--qdrant-url must be an http(s) URL; got "${qdrantUrl}".`);
  }
  const threads = int("--threads", values.threads, 1, 256);
  const contextSize = int("--context-size", values["context-size"], 16, 131072);
  return {
    help: values.help ?? false,
    host: values.host ?? env.MNEMO_PLAYGROUND_HOST ?? "127.0.0.1",
    port: int("--port", values.port ?? env.MNEMO_PLAYGROUND_PORT, 0, 65535) ?? 5178,
    modelsDir: resolve(values.models ?? env.MNEMO_MODELS_DIR ?? join(home, "models")),
    dataDir: resolve(values.data ?? env.MNEMO_PLAYGROUND_DATA ?? join(home, "playground")),
    ...(qdrantUrl ? { qdrantUrl } : {}),
    ...(env.MNEMO_QDRANT_API_KEY ? { qdrantApiKey: env.MNEMO_QDRANT_API_KEY } : {}),
    clientDir: resolve(dirname(fileURLToPath(import.meta.url)), "../client"),
    allowedHosts: values["allow-host"] ?? [],
    ...(threads === undefined ? {} : { threads }),
    ...(contextSize === undefined ? {} : { contextSize }),
  };
}

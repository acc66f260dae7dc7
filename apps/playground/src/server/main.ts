#!/usr/bin/env node
/**
 * Starts the playground server: `node dist/server/main.js [--host H] [--port N] [--models DIR] …`.
 * Prints `mnemo playground: http://HOST:PORT/` once it listens (test harnesses read that line).
 */
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createApp } from "./app.js";
import { loadConfig, USAGE } from "./config.js";
import { PlaygroundEngine } from "./engine.js";

/** Runs the server until SIGINT/SIGTERM. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(argv);
  } catch (error) {
    process.stderr.write(`mnemo playground: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (config.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!existsSync(config.clientDir)) {
    process.stderr.write(
      `mnemo playground: the client is not built (${config.clientDir} is missing); run \`pnpm -F @mnemo/playground build\`.\n`,
    );
  }
  const engine = new PlaygroundEngine(config);
  const app = createApp(engine, config);
  const server = serve(
    { fetch: app.fetch, hostname: config.host, port: config.port },
    (info: AddressInfo) => {
      const shown = info.family === "IPv6" ? `[${info.address}]` : info.address;
      process.stdout.write(`mnemo playground: http://${shown}:${info.port}/\n`);
      process.stdout.write(`  models: ${config.modelsDir}\n  data:   ${config.dataDir}\n`);
      if (config.host !== "127.0.0.1" && config.host !== "localhost" && config.host !== "::1") {
        process.stdout.write(
          "  warning: listening beyond this machine; anyone who can reach it can use the model and the memories.\n",
        );
      }
    },
  );
  server.on("error", (error) => {
    process.stderr.write(
      `mnemo playground: cannot listen on ${config.host}:${config.port}: ${error.message}\n`,
    );
    process.exit(1);
  });
  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    server.close();
    if ("closeAllConnections" in server) server.closeAllConnections();
    void engine.dispose().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

await main();

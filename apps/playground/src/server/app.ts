/**
 * The HTTP app (Hono): the JSON + server-sent-events API under `/api`, and the built client.
 *
 * Secure by default: requests whose `Host` is not this server's (DNS rebinding) or whose `Origin`
 * is another site are refused; bodies are size-limited; every input is validated with zod; the
 * responses carry a strict Content-Security-Policy.
 */
import { randomInt, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import { zValidator } from "@hono/zod-validator";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { streamSSE } from "hono/streaming";
import type { ZodType } from "zod";
import type { ApiErrorBody, ImportEvent, LoadEvent, WireEvent } from "../shared/api.js";
import type { PlaygroundConfig } from "./config.js";
import { type PlaygroundEngine, toApiError } from "./engine.js";
import { resolveModel } from "./models.js";
import {
  deleteQuerySchema,
  formatIssues,
  generateSchema,
  importQuerySchema,
  listQuerySchema,
  loadSchema,
  memoryInputSchema,
  parseJsonl,
  searchSchema,
} from "./schemas.js";

/** Largest JSON body accepted (bytes). */
export const JSON_BODY_LIMIT = 256 * 1024;
/** Largest JSONL import accepted (bytes). */
export const IMPORT_BODY_LIMIT = 8 * 1024 * 1024;

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** The host name of a `Host` header (port and brackets handled), lower-cased. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  return colon === -1 ? h : h.slice(0, colon);
}

/**
 * Whether a `Host` header names this server: a loopback name, the bound host (unless it is a
 * wildcard address) or one of `allowedHosts`.
 */
export function isAllowedHost(
  host: string | undefined,
  config: Pick<PlaygroundConfig, "host" | "allowedHosts">,
): boolean {
  if (!host) return false;
  const name = hostName(host);
  if (LOOPBACK_NAMES.has(name)) return true;
  const bound = config.host.toLowerCase();
  if (bound !== "0.0.0.0" && bound !== "::" && (name === bound || name === `[${bound}]`))
    return true;
  return config.allowedHosts.some((a) => a.toLowerCase() === name);
}

function errorBody(
  code: string,
  message: string,
  issues?: ApiErrorBody["error"]["issues"],
): ApiErrorBody {
  return { error: { code, message, ...(issues ? { issues } : {}) } };
}

/** zod validation of one request part; a failure answers 400 with the issues. */
function validate<T extends ZodType>(target: "json" | "query", schema: T) {
  return zValidator(target, schema, (result, c) => {
    if (!result.success) {
      const issues = formatIssues(result.error as unknown as import("zod").ZodError);
      return c.json(
        errorBody(
          "BAD_REQUEST",
          `Invalid ${target === "json" ? "body" : "query"}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
          issues,
        ),
        400,
      );
    }
    return undefined;
  });
}

function limit(maxSize: number) {
  return bodyLimit({
    maxSize,
    onError: (c) =>
      c.json(errorBody("TOO_LARGE", `The request body is larger than ${maxSize} bytes.`), 413),
  });
}

function fail(c: Context, error: unknown) {
  const { status, body } = toApiError(error);
  return c.json(body, status);
}

/**
 * Creates the app.
 * @param engine the engine the API drives
 * @param config the server's configuration (host checks, client folder)
 */
export function createApp(engine: PlaygroundEngine, config: PlaygroundConfig): Hono {
  const app = new Hono();

  app.onError((error, c) => fail(c, error));

  // Refuse other sites and other host names before anything else runs.
  app.use("*", async (c, next) => {
    // @hono/node-server builds the URL from the Host header; in-process requests have only the URL.
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!isAllowedHost(host, config)) {
      return c.json(
        errorBody(
          "FORBIDDEN",
          `Host "${host}" is not this server (use http://127.0.0.1 or --allow-host).`,
        ),
        403,
      );
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) {
      return c.json(errorBody("FORBIDDEN", "Cross-origin requests are refused."), 403);
    }
    const site = c.req.header("sec-fetch-site");
    if (
      c.req.path.startsWith("/api/") &&
      site !== undefined &&
      site !== "same-origin" &&
      site !== "none"
    ) {
      return c.json(errorBody("FORBIDDEN", "Cross-site requests are refused."), 403);
    }
    await next();
  });

  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:", "blob:"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
      },
      crossOriginResourcePolicy: "same-origin",
      referrerPolicy: "no-referrer",
      strictTransportSecurity: false,
    }),
  );

  const api = new Hono();

  api.get("/status", (c) => c.json(engine.status()));

  api.get("/models", async (c) => c.json(await engine.models()));

  api.post("/load", limit(JSON_BODY_LIMIT), validate("json", loadSchema), async (c) => {
    const request = c.req.valid("json");
    // Refused with 404 before streaming when the model is not one of the folder's.
    await resolveModel(config.modelsDir, request.model);
    return streamSSE(c, async (stream) => {
      let written: Promise<void> = Promise.resolve();
      const send = (event: LoadEvent) => {
        written = written.then(() => stream.writeSSE({ data: JSON.stringify(event) }));
      };
      try {
        const loaded = await engine.load(request, (progress) =>
          send({ type: "progress", progress }),
        );
        send({ type: "ready", loaded });
      } catch (error) {
        send({ type: "error", error: toApiError(error).body.error });
      }
      await written;
    });
  });

  api.get("/namespaces", async (c) => c.json({ namespaces: await engine.namespaces() }));

  api.get("/memories", validate("query", listQuerySchema), async (c) => {
    const { namespace, limit: count, offset } = c.req.valid("query");
    return c.json(await engine.list(namespace, count, offset));
  });

  api.post("/memories", limit(JSON_BODY_LIMIT), validate("json", memoryInputSchema), async (c) =>
    c.json({ memory: await engine.add(c.req.valid("json")) }, 201),
  );

  api.delete("/memories", validate("query", deleteQuerySchema), async (c) => {
    const { namespace, id } = c.req.valid("query");
    if (!(await engine.delete(namespace, id))) {
      return c.json(errorBody("NOT_FOUND", `No memory "${id}" in namespace "${namespace}".`), 404);
    }
    return c.json({ deleted: 1 });
  });

  api.post(
    "/memories/search",
    limit(JSON_BODY_LIMIT),
    validate("json", searchSchema),
    async (c) => {
      const { text, namespace, topK } = c.req.valid("json");
      return c.json({ hits: await engine.search(text, namespace, topK) });
    },
  );

  api.post(
    "/memories/import",
    limit(IMPORT_BODY_LIMIT),
    validate("query", importQuerySchema),
    async (c) => {
      const { namespace } = c.req.valid("query");
      const text = await c.req.text();
      const { inputs, errors } = parseJsonl(text, namespace);
      if (engine.status().state !== "ready") {
        return c.json(
          errorBody("NOT_LOADED", "No model is loaded; pick one under Model and load it."),
          409,
        );
      }
      return streamSSE(c, async (stream) => {
        const controller = new AbortController();
        stream.onAbort(() => controller.abort());
        let written: Promise<void> = Promise.resolve();
        const send = (event: ImportEvent) => {
          written = written.then(() => stream.writeSSE({ data: JSON.stringify(event) }));
        };
        try {
          await engine.import(inputs, errors, send, controller.signal);
        } catch (error) {
          send({ type: "error", error: toApiError(error).body.error });
        }
        await written;
      });
    },
  );

  api.post("/generate", limit(JSON_BODY_LIMIT), validate("json", generateSchema), (c) => {
    const body = c.req.valid("json");
    if (engine.status().state !== "ready") {
      return c.json(
        errorBody("NOT_LOADED", "No model is loaded; pick one under Model and load it."),
        409,
      );
    }
    if (engine.status().generating) {
      return c.json(
        errorBody("BUSY", "A generation is running; stop it or wait for it to finish."),
        409,
      );
    }
    const id = randomUUID();
    const seed = body.seed ?? randomInt(0, 2 ** 31);
    return streamSSE(c, async (stream) => {
      const controller = new AbortController();
      stream.onAbort(() => controller.abort());
      const send = (event: WireEvent) => stream.writeSSE({ data: JSON.stringify(event) });
      await send({ type: "session", id, seed });
      await engine.generate(id, body, seed, send, controller.signal);
    });
  });

  api.post("/generations/:id/stop", (c) => {
    const id = c.req.param("id");
    if (!/^[0-9a-f-]{36}$/.test(id) || !engine.stop(id)) {
      return c.json(errorBody("NOT_FOUND", "No running generation with this id."), 404);
    }
    return c.json({ stopping: true });
  });

  api.all("*", (c) =>
    c.json(errorBody("NOT_FOUND", `No API route ${c.req.method} ${c.req.path}.`), 404),
  );

  app.route("/api", api);

  // The built client; unknown paths get index.html (the app has one page).
  const index = join(config.clientDir, "index.html");
  app.use("/*", serveStatic({ root: config.clientDir }));
  app.get("*", async (c) => {
    if (!existsSync(index)) {
      return c.text("The client is not built: run `pnpm -F @mnemo/playground build`.", 500);
    }
    return c.html(await readFile(index, "utf8"));
  });

  return app;
}

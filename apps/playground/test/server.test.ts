/**
 * The server without a browser: model folder confinement, JSONL parsing, and the security rules
 * (Host and Origin checks, body limits, validation), through Hono's in-process `app.request`.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, isAllowedHost } from "../src/server/app.js";
import { loadConfig, type PlaygroundConfig } from "../src/server/config.js";
import { PlaygroundEngine } from "../src/server/engine.js";
import { listModels, resolveModel } from "../src/server/models.js";
import { parseJsonl } from "../src/server/schemas.js";
import type { WireEvent } from "../src/shared/api.js";
import { MODELS_DIR } from "./harness.js";

let root: string;
let config: PlaygroundConfig;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mnemo-playground-unit-"));
  const models = join(root, "models");
  await mkdir(join(models, "onnx-model"), { recursive: true });
  await writeFile(join(models, "a.gguf"), "GGUF");
  await writeFile(join(models, "notes.txt"), "not a model");
  await writeFile(join(models, "onnx-model", "model.mnemo.onnx"), "onnx");
  await writeFile(join(root, "secret.gguf"), "outside");
  await symlink(join(root, "secret.gguf"), join(models, "link.gguf"));
  config = {
    host: "127.0.0.1",
    port: 0,
    modelsDir: models,
    dataDir: join(root, "data"),
    clientDir: join(root, "client"),
    allowedHosts: ["playground.lan"],
  };
  app = createApp(new PlaygroundEngine(config), config);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("models folder", () => {
  it("lists .gguf files and */*.mnemo.onnx, and nothing whose real path leaves the folder", async () => {
    const models = await listModels(config.modelsDir);
    expect(models.map((m) => [m.id, m.backend])).toEqual([
      ["a.gguf", "llamacpp"],
      ["onnx-model/model.mnemo.onnx", "onnx"],
    ]);
  });

  it("resolves only listed ids", async () => {
    expect((await resolveModel(config.modelsDir, "a.gguf")).entry.backend).toBe("llamacpp");
    for (const id of [
      "../secret.gguf",
      "link.gguf",
      "/etc/passwd",
      "onnx-model/../a.gguf",
      "notes.txt",
    ]) {
      await expect(resolveModel(config.modelsDir, id)).rejects.toThrow(/not a model/);
    }
  });
});

describe("JSONL import parsing", () => {
  it("reports bad lines with their numbers and keeps the good ones", () => {
    const { inputs, errors } = parseJsonl(
      [
        '{"text": "one", "id": "1"}',
        "",
        "{oops",
        "[1, 2]",
        '{"text": "   "}',
        '{"text": "two", "metadata": {"a": {"nested": true}}}',
        '{"text": "three", "extra": 1}',
        '{"text": "four", "namespace": "ns"}',
      ].join("\n"),
      "imported",
    );
    expect(inputs.map((i) => [i.line, i.input.text, i.input.namespace])).toEqual([
      [1, "one", "imported"],
      [8, "four", "ns"],
    ]);
    expect(errors.map((e) => e.line)).toEqual([3, 4, 5, 6, 7]);
    expect(errors[0]?.message).toMatch(/^not valid JSON/);
    expect(errors[1]?.message).toMatch(/expected object/);
    expect(errors[2]?.message).toMatch(/"text": must be a non-empty string/);
    expect(errors[3]?.message).toMatch(/"metadata\.a"/);
    expect(errors[4]?.message).toMatch(/Unrecognized key/);
  });
});

describe("configuration", () => {
  it("binds 127.0.0.1 by default and rejects bad options", () => {
    const c = loadConfig([], {});
    expect(c.host).toBe("127.0.0.1");
    expect(c.port).toBe(5178);
    expect(c.qdrantUrl).toBeUndefined();
    expect(() => loadConfig(["--port", "99999"], {})).toThrow(/--port/);
    expect(() => loadConfig(["--qdrant-url", "ftp://x"], {})).toThrow(/http/);
    expect(() => loadConfig(["--nope"], {})).toThrow();
  });
});

describe("security", () => {
  const base = "http://127.0.0.1:5178";

  it("accepts loopback and configured host names only", () => {
    expect(isAllowedHost("127.0.0.1:5178", config)).toBe(true);
    expect(isAllowedHost("localhost:5178", config)).toBe(true);
    expect(isAllowedHost("[::1]:5178", config)).toBe(true);
    expect(isAllowedHost("playground.lan:5178", config)).toBe(true);
    expect(isAllowedHost("evil.example:5178", config)).toBe(false);
    expect(isAllowedHost("127.0.0.1.evil.example", config)).toBe(false);
    expect(isAllowedHost(undefined, config)).toBe(false);
  });

  it("refuses a foreign Host header (DNS rebinding)", async () => {
    const res = await app.request("http://attacker.example:5178/api/status");
    expect(res.status).toBe(403);
  });

  it("refuses cross-origin and cross-site requests", async () => {
    const cross = await app.request(`${base}/api/memories`, {
      method: "POST",
      headers: { origin: "http://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ text: "x" }),
    });
    expect(cross.status).toBe(403);
    const site = await app.request(`${base}/api/status`, {
      headers: { "sec-fetch-site": "cross-site" },
    });
    expect(site.status).toBe(403);
    const same = await app.request(`${base}/api/status`, {
      headers: { origin: base, "sec-fetch-site": "same-origin" },
    });
    expect(same.status).toBe(200);
  });

  it("limits body sizes", async () => {
    const res = await app.request(`${base}/api/memories`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "x".repeat(300_000) }),
    });
    expect(res.status).toBe(413);
  });

  it("validates input and says what is wrong", async () => {
    const res = await app.request(`${base}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "" }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; issues: { path: string }[] } };
    expect(body.error.code).toBe("BAD_REQUEST");
    expect(body.error.issues.map((i) => i.path)).toContain("prompt");
  });

  it("refuses to load a model outside the folder", async () => {
    const res = await app.request(`${base}/api/load`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "../secret.gguf" }),
    });
    expect(res.status).toBe(404);
  });

  it("answers 409 for memory operations before a model is loaded", async () => {
    const res = await app.request(`${base}/api/memories?namespace=default`);
    expect(res.status).toBe(409);
  });

  it("sends a strict Content-Security-Policy", async () => {
    const res = await app.request(`${base}/api/status`);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(res.headers.get("x-frame-options")).toBeTruthy();
  });
});

const RECALL_ONNX = "recall-demo-onnx/model.mnemo.onnx";
const recallOnnxMissing = existsSync(join(MODELS_DIR, RECALL_ONNX))
  ? undefined
  : `${MODELS_DIR}/${RECALL_ONNX} is missing (node scripts/setup.mjs converts the recall demo model)`;
if (recallOnnxMissing) console.log(`recall demo ONNX test skipped: ${recallOnnxMissing}`);

describe.skipIf(recallOnnxMissing !== undefined)("the recall demo model as ONNX", () => {
  it("loads with its model.json (4 vectors) and recites a random value never seen in training", async () => {
    const data = await mkdtemp(join(tmpdir(), "mnemo-playground-onnx-"));
    const engine = new PlaygroundEngine({ ...config, modelsDir: MODELS_DIR, dataDir: data });
    try {
      const loaded = await engine.load({ model: RECALL_ONNX, store: "hnsw" }, () => {});
      expect(loaded.backend).toBe("onnx");
      expect(loaded.value).toBe("hidden-state");
      expect(loaded.valueVectors).toBe(4);
      const memory = "Anna Ryan's pet is called uffwq hbfjyklxp o";
      const added = await engine.add({ text: memory, namespace: "onnx" });
      expect(added.vectors).toBe(4);
      const events: WireEvent[] = [];
      await engine.generate(
        "g1",
        {
          prompt: "User: What is Anna Ryan's pet's name?\nAssistant: ",
          recall: {
            enabled: true,
            trigger: "<recall>",
            topK: 5,
            temperature: 0,
            topP: 1,
            minScore: -1,
            maxRecalls: 1,
            namespace: "onnx",
          },
          sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 },
          maxTokens: 80,
        },
        1,
        async (e) => {
          events.push(e);
        },
        new AbortController().signal,
      );
      const injected = events.find((e) => e.type === "memory-injected");
      expect(injected?.type === "memory-injected" && injected.injection.vectorCount).toBe(4);
      const text = events.map((e) => (e.type === "token" ? e.text : "")).join("");
      expect(text.slice(text.indexOf("<recall>") + "<recall>".length)).toContain(memory);
    } finally {
      await engine.dispose();
      await rm(data, { recursive: true, force: true });
    }
  }, 60_000);
});

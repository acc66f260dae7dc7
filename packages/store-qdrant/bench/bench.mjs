#!/usr/bin/env node
// Benchmark: @mnemo/store-qdrant beside @mnemo/store-hnsw, in one run, on the same data.
//
//   pnpm -F @mnemo/store-qdrant bench                 # 10k memories
//   MNEMO_BENCH_100K=1 pnpm -F @mnemo/store-qdrant bench   # also 100k (several minutes on 2 cores)
//   QDRANT_URL=http://host:6333 [QDRANT_API_KEY=...] pnpm -F @mnemo/store-qdrant bench
//
// Without QDRANT_URL the Qdrant side is the qdrant-edge test server (test-server/), started here with
// --no-validate: Qdrant's engine behind a single-process Python HTTP shim, so its numbers measure
// "adapter + JSON over HTTP + Python + qdrant-edge", not a production Qdrant server. Memories are
// width 640 (key and one value vector), queries topK 8. Writes JSON to <repo>/bench-results/
// store-qdrant.json and a markdown table beside it. Needs `pnpm build` first (imports from dist).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { openHnswStore } from "@mnemo/store-hnsw";
import { openQdrantStore } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..", "..");
const WIDTH = 640;
const TOP_K = 8;
const QUERIES = Number(process.env.MNEMO_BENCH_QUERIES ?? 200);
const SIZES = [10_000, ...(process.env.MNEMO_BENCH_100K === "1" ? [100_000] : [])];
const CHUNK = 1000; // memories per upsert call (both stores)

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function vector(r) {
  const v = new Float32Array(WIDTH);
  for (let i = 0; i < WIDTH; i++)
    v[i] = Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
  return v;
}
function records(n, seed) {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `m${i}`,
    key: vector(r),
    value: vector(r),
    text: `memory ${i}`,
    metadata: { i },
  }));
}
function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
/** Exact top-k ids by cosine (float64), for recall; `norms` are the keys' norms. */
function exactTopK(query, recs, norms, k) {
  let qn = 0;
  for (const x of query) qn += x * x;
  qn = Math.sqrt(qn);
  const best = []; // ascending by score, at most k
  for (let j = 0; j < recs.length; j++) {
    const key = recs[j].key;
    let d = 0;
    for (let i = 0; i < WIDTH; i++) d += query[i] * key[i];
    const s = d / (norms[j] * qn);
    if (best.length < k || s > best[0].s) {
      best.push({ id: recs[j].id, s });
      best.sort((a, b) => a.s - b.s);
      if (best.length > k) best.shift();
    }
  }
  return best.reverse().map((x) => x.id);
}

async function measure(name, store, recs, queries, truth, afterImport) {
  const t0 = performance.now();
  for (let i = 0; i < recs.length; i += CHUNK) await store.upsert(recs.slice(i, i + CHUNK));
  const upsertS = (performance.now() - t0) / 1000;
  const indexSeconds = afterImport ? await afterImport() : undefined;
  for (const q of queries.slice(0, 10)) await store.search(q, { topK: TOP_K }); // warm-up
  const lat = [];
  let hits = 0;
  for (let i = 0; i < queries.length; i++) {
    const s = performance.now();
    const res = await store.search(queries[i], { topK: TOP_K });
    lat.push(performance.now() - s);
    const want = new Set(truth[i]);
    hits += res.filter((h) => want.has(h.memory.id)).length;
  }
  lat.sort((a, b) => a - b);
  const row = {
    store: name,
    memories: recs.length,
    upsertSeconds: +upsertS.toFixed(2),
    upsertPerSecond: Math.round(recs.length / upsertS),
    queryP50Ms: +percentile(lat, 50).toFixed(2),
    queryP99Ms: +percentile(lat, 99).toFixed(2),
    recallAt8: +(hits / (queries.length * TOP_K)).toFixed(4),
    ...(indexSeconds === undefined ? {} : { indexBuildSeconds: +indexSeconds.toFixed(2) }),
  };
  console.log(JSON.stringify(row));
  return row;
}

async function startTestServer() {
  const python = process.env.MNEMO_PYTHON ?? join(repo, ".mnemo", "venv", "bin", "python");
  const child = spawn(
    python,
    [
      join(here, "..", "test-server", "qdrant_edge_server.py"),
      "--port",
      "0",
      "--no-validate",
      "--exit-with-stdin",
    ],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const line = await new Promise((resolve, reject) => {
    child.once("exit", (c) => reject(new Error(`test server exited (${c})`)));
    createInterface({ input: child.stdout }).once("line", resolve);
  });
  return { url: JSON.parse(line).url, stop: () => child.stdin.end() };
}

const real = process.env.QDRANT_URL;
const server = real ? { url: real, stop: () => undefined } : await startTestServer();
const qdrantLabel = real
  ? `store-qdrant (Qdrant at ${real})`
  : "store-qdrant (qdrant-edge test server, no validation)";
const results = [];
try {
  for (const n of SIZES) {
    console.error(`[bench] ${n} memories, width ${WIDTH}: generating`);
    const recs = records(n, n);
    const qr = rng(7);
    const queries = Array.from({ length: QUERIES }, () => vector(qr));
    console.error("[bench] exact top-k for recall");
    const norms = recs.map((m) => Math.sqrt(m.key.reduce((a, x) => a + x * x, 0)));
    const truth = queries.map((q) => exactTopK(q, recs, norms, TOP_K));

    const dir = mkdtempSync(join(tmpdir(), "mnemo-bench-hnsw-"));
    try {
      const hnsw = await openHnswStore({
        path: dir,
        dimensions: { keyWidth: WIDTH, valueWidth: WIDTH },
      });
      results.push(await measure("store-hnsw", hnsw, recs, queries, truth));
      await hnsw.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const collection = `mnemo_bench_${n}_${Date.now()}`;
    const qdrant = await openQdrantStore({
      url: server.url,
      ...(process.env.QDRANT_API_KEY ? { apiKey: process.env.QDRANT_API_KEY } : {}),
      collection,
      dimensions: { keyWidth: WIDTH, valueWidth: WIDTH },
      timeoutMs: 120_000,
    });
    // qdrant-edge builds its HNSW index only when asked (a real server does it in the background
    // once a segment passes indexing_threshold): build it after the import, timed separately.
    const optimize = real
      ? undefined
      : async () => {
          const res = await fetch(`${server.url}/__test__/optimize`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ collection }),
          });
          return (await res.json()).seconds;
        };
    results.push(await measure(qdrantLabel, qdrant, recs, queries, truth, optimize));
    await fetch(`${server.url}/collections/${collection}`, {
      method: "DELETE",
      headers: process.env.QDRANT_API_KEY ? { "api-key": process.env.QDRANT_API_KEY } : {},
    });
    await qdrant.close();
  }
} finally {
  server.stop();
}

const out = {
  benchmark: "store-qdrant",
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  width: WIDTH,
  topK: TOP_K,
  queries: QUERIES,
  upsertChunk: CHUNK,
  qdrant: real
    ? "real Qdrant server"
    : "qdrant-edge-py 0.9.0 behind test-server/qdrant_edge_server.py (--no-validate)",
  note: SIZES.includes(100_000) ? undefined : "100k skipped: set MNEMO_BENCH_100K=1",
  results,
};
const dir = join(repo, "bench-results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "store-qdrant.json"), `${JSON.stringify(out, null, 2)}\n`);
const md = [
  `| store | memories | upsert/s | upsert total (s) | index build (s) | query p50 (ms) | query p99 (ms) | recall@${TOP_K} |`,
  "|---|---:|---:|---:|---:|---:|---:|---:|",
  ...results.map(
    (r) =>
      `| ${r.store} | ${r.memories} | ${r.upsertPerSecond} | ${r.upsertSeconds} | ${r.indexBuildSeconds ?? "(in upsert)"} | ${r.queryP50Ms} | ${r.queryP99Ms} | ${r.recallAt8} |`,
  ),
].join("\n");
writeFileSync(join(dir, "store-qdrant.md"), `${md}\n`);
console.log(`\n${md}\n\nwrote ${join(dir, "store-qdrant.json")}`);

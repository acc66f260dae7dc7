// Benchmark of @mnemo/store-hnsw: upsert throughput, query latency and recall@10 against exact
// brute force, on clustered data of Gemma 3 270M's hidden width (640).
//
//   pnpm -F @mnemo/store-hnsw bench                      # 10k and 100k memories (~4 min on 2 cores)
//   MNEMO_BENCH_QUICK=1 pnpm -F @mnemo/store-hnsw bench  # 10k only (~20 s)
//   MNEMO_BENCH_SIZES=2000,5000 ...                       # custom sizes
//
// Writes bench-results/store-hnsw.json at the repository root and prints a markdown table.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { openHnswStore } from "../dist/index.js";

const WIDTH = 640;
const VALUE_WIDTH = 640;
const CLUSTERS = 200;
const QUERIES = 200;
const TOP_K = 10;
const BATCH = 1000;
const EF_VALUES = [50, 100, 200];

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
const sizes = process.env.MNEMO_BENCH_SIZES
  ? process.env.MNEMO_BENCH_SIZES.split(",").map(Number)
  : process.env.MNEMO_BENCH_QUICK
    ? [10_000]
    : [10_000, 100_000];

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
function gauss(r) {
  return Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
}

/** 200 Gaussian clusters: center ~ N(0, I), point = center + 1.0 · N(0, I). */
function makeData(n, seed) {
  const r = rng(seed);
  const centers = Array.from({ length: CLUSTERS }, () => {
    const c = new Float32Array(WIDTH);
    for (let i = 0; i < WIDTH; i++) c[i] = gauss(r);
    return c;
  });
  const point = () => {
    const c = centers[Math.floor(r() * CLUSTERS)];
    const v = new Float32Array(WIDTH);
    for (let i = 0; i < WIDTH; i++) v[i] = c[i] + 1.0 * gauss(r);
    return v;
  };
  const keys = Array.from({ length: n }, point);
  const queries = Array.from({ length: QUERIES }, point);
  return { keys, queries };
}

function unit(v) {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] / n;
  return out;
}

/** Exact top-k ids by cosine, brute force in float64. */
function exactTopK(keysUnit, q, k) {
  const qu = unit(q);
  const best = [];
  for (let j = 0; j < keysUnit.length; j++) {
    const kv = keysUnit[j];
    let s = 0;
    for (let i = 0; i < WIDTH; i++) s += kv[i] * qu[i];
    if (best.length < k || s > best[best.length - 1][0]) {
      best.push([s, j]);
      best.sort((a, b) => b[0] - a[0]);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => `m${b[1]}`);
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measureQueries(store, queries, truth) {
  for (let i = 0; i < 20; i++) await store.search(queries[i % queries.length], { topK: TOP_K });
  const times = [];
  let hits = 0;
  for (let i = 0; i < queries.length; i++) {
    const t0 = performance.now();
    const res = await store.search(queries[i], { topK: TOP_K });
    times.push(performance.now() - t0);
    const want = new Set(truth[i]);
    for (const h of res) if (want.has(h.memory.id)) hits++;
  }
  times.sort((a, b) => a - b);
  return {
    p50Ms: +pct(times, 50).toFixed(3),
    p99Ms: +pct(times, 99).toFixed(3),
    recallAt10: +(hits / (queries.length * TOP_K)).toFixed(4),
  };
}

const results = [];
for (const n of sizes) {
  console.error(`# ${n} memories: generating data...`);
  const { keys, queries } = makeData(n, 1234 + n);
  const dir = mkdtempSync(join(tmpdir(), "mnemo-bench-hnsw-"));
  try {
    const store = await openHnswStore({
      path: dir,
      dimensions: { keyWidth: WIDTH, valueWidth: VALUE_WIDTH },
      modelIdentity: "bench",
      maxElements: n,
      autoFlushMs: false,
    });
    const value = new Float32Array(VALUE_WIDTH).fill(0.01);
    console.error(`# ${n}: upserting in batches of ${BATCH}...`);
    const t0 = performance.now();
    for (let i = 0; i < n; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + BATCH); j++) {
        batch.push({ id: `m${j}`, key: keys[j], value, metadata: { c: j % 7 } });
      }
      await store.upsert(batch);
      if ((i / BATCH) % 10 === 9) {
        const s = (performance.now() - t0) / 1000;
        console.error(`#   ${i + BATCH} in ${s.toFixed(1)} s`);
      }
    }
    const buildS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await store.flush();
    const flushS = (performance.now() - t1) / 1000;
    const info = store.info();

    console.error(`# ${n}: exact brute force for ${QUERIES} queries...`);
    const keysUnit = keys.map(unit);
    const truth = queries.map((q) => exactTopK(keysUnit, q, TOP_K));

    const byEf = {};
    const defaultEf = info.efSearch;
    byEf[defaultEf] = await measureQueries(store, queries, truth);
    await store.close();
    let reopenS = 0;
    for (const ef of EF_VALUES) {
      if (ef === defaultEf) continue;
      const t2 = performance.now();
      const s = await openHnswStore({
        path: dir,
        dimensions: { keyWidth: WIDTH, valueWidth: VALUE_WIDTH },
        efSearch: ef,
        autoFlushMs: false,
      });
      reopenS = (performance.now() - t2) / 1000;
      byEf[ef] = await measureQueries(s, queries, truth);
      await s.close();
    }
    results.push({
      memories: n,
      width: WIDTH,
      clusters: CLUSTERS,
      M: info.M,
      efConstruction: info.efConstruction,
      defaultEfSearch: defaultEf,
      upsertSeconds: +buildS.toFixed(2),
      upsertPerSecond: Math.round(n / buildS),
      flushSeconds: +flushS.toFixed(2),
      reopenSeconds: +reopenS.toFixed(2),
      query: byEf,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const out = {
  package: "@mnemo/store-hnsw",
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  queries: QUERIES,
  topK: TOP_K,
  batch: BATCH,
  results,
};
mkdirSync(join(repoRoot, "bench-results"), { recursive: true });
const file = join(repoRoot, "bench-results", "store-hnsw.json");
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);

const lines = [
  `### @mnemo/store-hnsw (width ${WIDTH}, ${CLUSTERS} clusters, ${QUERIES} queries, top-${TOP_K}, ${out.cpus} CPUs, Node ${process.version})`,
  "",
  "| memories | upsert/s | build s | flush s | reopen s | ef | p50 ms | p99 ms | recall@10 |",
  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
];
for (const r of results) {
  for (const [ef, q] of Object.entries(r.query)) {
    lines.push(
      `| ${r.memories} | ${r.upsertPerSecond} | ${r.upsertSeconds} | ${r.flushSeconds} | ${r.reopenSeconds} | ${ef} | ${q.p50Ms} | ${q.p99Ms} | ${q.recallAt10} |`,
    );
  }
}
console.log(lines.join("\n"));
console.error(`# wrote ${file}`);

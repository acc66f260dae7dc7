#!/usr/bin/env node
// Evaluates the recall demo model through mnemo's OWN TypeScript loop: @mnemo/backend-llamacpp
// (llama.cpp on the CPU) or @mnemo/backend-onnx (onnxruntime, the same weights converted by
// scripts/setup.mjs), @mnemo/core's MemoryEncoder and generateText, @mnemo/store-hnsw.
// Counterpart of training/evaluate.py (PyTorch), on the very same test items.
//
//   node packages/model-recall-demo/eval/loop-eval.mjs [--backend llamacpp|onnx] [--people 100]
//        [--heldout-people 30] [--open-people 100] [--vectors 1,2,4,8] [--general 200]
//        [--out packages/model-recall-demo/eval-loop[-onnx].json] [--threads 1]
//        [--fixture FILE | --python PATH]
//
// The test items come from training/data.py (`--export-eval`, seed 20261129 = evaluate.py's):
// 1,000 people with training-list values and 300 with held-out values, their six memory texts
// each, two questions per person in seen and in held-out phrasing, six per held-out-value person,
// and general questions. All 1,000 (300) people's memories go into one shared namespace, as in
// evaluate.py; the first --people (--heldout-people) people's questions are asked, so every
// question asked here is one that evaluate.py asked too.
//
// Per memory question, four runs of generateText (greedy tokens, recall temperature 0 = top-1):
//   person  namespace `p:<i>` (that person's 6 memories): trigger, retrieval@1 within the person,
//           value end to end;
//   all     namespace `all` (6,000 memories): retrieval@1 among all, value end to end;
//   right   namespace holding only the right memory: exact value / memory text with the right vector;
//   wrong   namespace holding only another person's memory of the same type (person i+2, same
//           language): does the answer follow the vector?
// When the model does not write <recall> itself, the right/all/wrong runs (and retrieval within
// the person) use the prompt + "<recall>", as evaluate.py does. These runs use ONE vector per
// memory (the seed's mechanism), whatever model.json's default.
//
// Several vectors per memory (--vectors): for the held-out-value people and evaluate.py's
// random-value people (values of 1–24 bytes never seen in training), each memory is encoded with
// n vectors (encoder valueVectors n) and asked in a namespace holding only it: exact = the answer
// equals the memory text.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadLlamaCppBackend } from "@mnemo/backend-llamacpp";
import { loadOnnxBackend } from "@mnemo/backend-onnx";
import { createMemoryEncoder, encodeMemories, formatPrompt, generateText } from "@mnemo/core";
import { openHnswStore } from "@mnemo/store-hnsw";

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, "..");
const root = path.resolve(pkg, "../..");

/** A usage error: one line, no stack trace. */
function usage(message) {
  console.error(`loop-eval: ${message}`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      people: { type: "string", default: "100" },
      "heldout-people": { type: "string", default: "30" },
      "open-people": { type: "string", default: "100" },
      vectors: { type: "string", default: "1,2,4,8" },
      backend: { type: "string", default: "llamacpp" },
      "onnx-model": {
        type: "string",
        default: path.join(root, ".mnemo/models/recall-demo-onnx/model.mnemo.onnx"),
      },
      general: { type: "string", default: "200" },
      out: { type: "string" },
      threads: { type: "string", default: "1" },
      fixture: { type: "string" },
      python: { type: "string" },
      model: { type: "string", default: path.join(pkg, "model", "mnemo-recall-demo.gguf") },
      quiet: { type: "boolean", default: false },
    },
  }));
} catch (error) {
  usage(error.message);
}
const count = (name) => {
  const v = args[name];
  if (!/^\d+$/.test(v)) usage(`--${name} must be a whole number, got "${v}"`);
  return Number(v);
};
const N_PEOPLE = count("people");
const N_HELDOUT = count("heldout-people");
const N_GENERAL = count("general");
const N_OPEN = count("open-people");
if (count("threads") < 1) usage("--threads must be at least 1");
const VECTORS = args.vectors.split(",").map((v) => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 64)
    usage(`--vectors takes integers 1–64 separated by commas, got "${args.vectors}"`);
  return Number(v);
});
if (!["llamacpp", "onnx"].includes(args.backend))
  usage(`--backend must be llamacpp or onnx, got "${args.backend}"`);
const modelFile = args.backend === "onnx" ? args["onnx-model"] : args.model;
if (!existsSync(modelFile))
  usage(
    `${modelFile} does not exist (node scripts/setup.mjs makes the ONNX copy; see --onnx-model)`,
  );
const OUT =
  args.out ?? path.join(pkg, args.backend === "onnx" ? "eval-loop-onnx.json" : "eval-loop.json");
const FIXTURE_SEED = 20261129; // evaluate.py's default --seed
const log = (...a) => {
  if (!args.quiet) console.error(...a);
};

// ---- test items ---------------------------------------------------------------------------
function loadFixture() {
  if (args.fixture) return JSON.parse(readFileSync(args.fixture, "utf8"));
  const python =
    args.python ??
    process.env.MNEMO_PYTHON ??
    [path.join(root, ".mnemo/venv/bin/python")].find(existsSync) ??
    "python3";
  const text = execFileSync(
    python,
    [
      path.join(pkg, "training", "data.py"),
      "--export-eval",
      "-",
      "--seed",
      String(FIXTURE_SEED),
      "--people",
      "1000",
      "--questions-per-person",
      "2",
      "--heldout-people",
      "300",
      "--general",
      "1000",
      "--open-people",
      "600",
    ],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(text);
}

const fx = loadFixture();
const config = JSON.parse(readFileSync(path.join(pkg, "model", "model.json"), "utf8"));
const pyEval = JSON.parse(readFileSync(path.join(pkg, "eval.json"), "utf8"));
const FT = fx.fact_types;
const TRIGGER = config.trigger;
const promptOf = (q) => formatPrompt(config.prompt.template, q);

// ---- model, encoder, store ----------------------------------------------------------------
const t0 = performance.now();
const backend =
  args.backend === "onnx"
    ? await loadOnnxBackend({ modelPath: args["onnx-model"], threads: Number(args.threads) })
    : await loadLlamaCppBackend({ modelPath: args.model, threads: Number(args.threads) });
const triggerId = backend.tokenize(TRIGGER, { addSpecial: false, parseSpecial: true });
if (triggerId.length !== 1) throw new Error(`trigger ${TRIGGER} is not one token`);
const encoderWith = (n) => createMemoryEncoder(backend, { ...config.encoder, valueVectors: n });
const encoder = encoderWith(1);
const store = await openHnswStore({
  dimensions: { keyWidth: backend.info.hiddenWidth, valueWidth: backend.info.embeddingWidth },
  modelIdentity: backend.info.identity,
});

/** Encodes every person's six memories once; returns records by person and fact type. */
async function encodePeople(people, tag) {
  const inputs = people.flatMap((p, i) =>
    FT.map((ft) => ({ id: `${tag}${i}-${ft}`, text: p.memories[ft] })),
  );
  const t = performance.now();
  const recs = await encodeMemories(encoder, inputs, (done, total) => {
    if (done % 1000 === 0) log(`  encoded ${done}/${total}`);
  });
  log(
    `encoded ${recs.length} memories (${tag}) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  );
  return people.map((_, i) => Object.fromEntries(FT.map((ft, j) => [ft, recs[i * FT.length + j]])));
}

const copyTo = (rec, namespace) => ({ ...rec, namespace });

/** Stores the shared namespace and, for the people asked, their own and one-memory namespaces. */
async function fill(recsByPerson, tag, nAsked) {
  await store.upsert(recsByPerson.flatMap((r) => FT.map((ft) => copyTo(r[ft], `${tag}all`))));
  for (let i = 0; i < nAsked; i++) {
    const r = recsByPerson[i];
    await store.upsert(FT.map((ft) => copyTo(r[ft], `${tag}p:${i}`)));
    await store.upsert(FT.map((ft) => copyTo(r[ft], `${tag}one:${i}:${ft}`)));
  }
}

const peopleRecs = await encodePeople(fx.people, "p");
await fill(peopleRecs, "", Math.min(fx.people.length, N_PEOPLE + 2));
const heldRecs = await encodePeople(fx.heldout_value_people, "h");
await fill(heldRecs, "h", Math.min(fx.heldout_value_people.length, N_HELDOUT + 2));
const setupSeconds = (performance.now() - t0) / 1000;

// ---- the loop -----------------------------------------------------------------------------
let genCount = 0;
let genTokens = 0;
let genMs = 0;

async function ask(prompt, namespace) {
  const t = performance.now();
  const r = await generateText({
    backend,
    store,
    prompt,
    maxTokens: 96,
    stop: config.stop,
    sampling: { temperature: 0 },
    recall: { trigger: TRIGGER, topK: 5, temperature: 0, namespace },
  });
  genMs += performance.now() - t;
  genCount++;
  genTokens += r.usage.completionTokens;
  const promptTokens = r.usage.promptTokens;
  const inj = r.injections[0];
  const at = r.tokens.indexOf(triggerId[0]);
  // Where the injection must be: after the prompt's trigger, or after the generated trigger.
  const expectedPosition = at >= 0 ? promptTokens + at + 1 : promptTokens;
  const cut = r.text.lastIndexOf(TRIGGER);
  const query = r.events.find((e) => e.type === "recall-start")?.query;
  return {
    text: r.text,
    prefix: cut >= 0 ? r.text.slice(0, cut + TRIGGER.length) : r.text,
    answer: cut >= 0 ? r.text.slice(cut + TRIGGER.length) : r.text,
    triggered: at >= 0,
    memoryId: inj?.memoryId,
    score: inj?.score,
    position: inj?.position,
    positionOk: inj === undefined || inj.position === expectedPosition,
    injections: r.injections.length,
    query,
  };
}

function cosine(a, b) {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
}

/** Exact (brute-force) top-1 over a set of records, to check HNSW's answer. */
function exactTop(query, recsByPerson) {
  let best = -2;
  let id;
  for (const r of recsByPerson)
    for (const ft of FT) {
      const s = cosine(query, r[ft].key);
      if (s > best) [best, id] = [s, r[ft].id];
    }
  return id;
}

async function runSet(name, items, people, recs, tag, nPeople, wrongShift = 2) {
  const asked = items.filter((q) => q.person < nPeople);
  const out = [];
  const t = performance.now();
  for (const [k, q] of asked.entries()) {
    const p = people[q.person];
    const wi = (q.person + wrongShift) % people.length;
    const wp = people[wi];
    const rightId = recs[q.person][q.ftype].id;
    const prompt = promptOf(q.question);
    const own = await ask(prompt, `${tag}p:${q.person}`);
    const recallPrompt = own.triggered ? prompt : prompt + TRIGGER;
    const ownR = own.triggered ? own : await ask(recallPrompt, `${tag}p:${q.person}`);
    const all = await ask(recallPrompt, `${tag}all`);
    const right = await ask(recallPrompt, `${tag}one:${q.person}:${q.ftype}`);
    const wrong = await ask(recallPrompt, `${tag}one:${wi}:${q.ftype}`);
    const val = p.facts[q.ftype];
    const wval = wp.facts[q.ftype];
    out.push({
      lang: p.lang,
      ftype: q.ftype,
      question: q.question,
      triggered: own.triggered,
      prefix: own.prefix,
      answer: right.answer,
      memory: p.memories[q.ftype],
      ret_own: ownR.memoryId === rightId,
      ret_all: all.memoryId === rightId,
      hnsw_exact_agree: all.query ? exactTop(all.query, recs) === all.memoryId : false,
      value_ok: right.answer.includes(val),
      text_ok: right.answer === p.memories[q.ftype],
      e2e_own_ok: own.answer.includes(val) && own.triggered,
      e2e_all_ok: all.answer.includes(val),
      all_answer: all.answer,
      wrong_memory: wp.memories[q.ftype],
      wrong_answer: wrong.answer,
      wrong_follows: wrong.answer.includes(wval),
      wrong_gives_right: wrong.answer.includes(val),
      wrong_comparable: wval !== val && !wval.includes(val) && !val.includes(wval),
      one_injection: [own, ownR, all, right, wrong].every((r) => r.injections === 1),
      position_ok: [own, ownR, all, right, wrong].every((r) => r.positionOk),
    });
    if ((k + 1) % 50 === 0)
      log(`  ${name}: ${k + 1}/${asked.length} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
  }
  return out;
}

const rate = (xs) =>
  xs.length ? Math.round((xs.filter(Boolean).length / xs.length) * 1e4) / 1e4 : null;

function summarize(items) {
  const comp = items.filter((r) => r.wrong_comparable);
  const s = {
    n: items.length,
    trigger_rate: rate(items.map((r) => r.triggered)),
    "retrieval@1_within_person": rate(items.map((r) => r.ret_own)),
    "retrieval@1_among_all": rate(items.map((r) => r.ret_all)),
    exact_value_right_vector: rate(items.map((r) => r.value_ok)),
    exact_memory_text_right_vector: rate(items.map((r) => r.text_ok)),
    end_to_end_value_retrieved_vector: rate(items.map((r) => r.e2e_all_ok)),
    end_to_end_value_within_person: rate(items.map((r) => r.e2e_own_ok)),
    wrong_memory_follows_wrong: rate(comp.map((r) => r.wrong_follows)),
    wrong_memory_gives_right: rate(comp.map((r) => r.wrong_gives_right)),
    injection_position_ok: rate(items.map((r) => r.position_ok)),
    one_injection_per_run: rate(items.map((r) => r.one_injection)),
    hnsw_top1_equals_exact_top1: rate(items.map((r) => r.hnsw_exact_agree)),
  };
  const by = {};
  for (const r of items) {
    for (const k of [r.lang, r.ftype]) {
      by[k] = by[k] ?? [];
      by[k].push(r);
    }
  }
  s.by_group = Object.fromEntries(
    Object.keys(by)
      .sort()
      .map((k) => [
        k,
        {
          n: by[k].length,
          exact_value: rate(by[k].map((r) => r.value_ok)),
          "retrieval@1_among_all": rate(by[k].map((r) => r.ret_all)),
          trigger_rate: rate(by[k].map((r) => r.triggered)),
        },
      ]),
  );
  return s;
}

const sets = {
  train_values_seen_phrasing: [
    fx.questions.train_values_seen_phrasing,
    fx.people,
    peopleRecs,
    "",
    N_PEOPLE,
  ],
  train_values_heldout_phrasing: [
    fx.questions.train_values_heldout_phrasing,
    fx.people,
    peopleRecs,
    "",
    N_PEOPLE,
  ],
  heldout_values_seen_phrasing: [
    fx.questions.heldout_values_seen_phrasing,
    fx.heldout_value_people,
    heldRecs,
    "h",
    N_HELDOUT,
  ],
};
const results = {};
const raw = {};
for (const [name, [items, people, recs, tag, n]] of Object.entries(sets)) {
  log(`${name}: ${items.filter((q) => q.person < n).length} questions`);
  raw[name] = await runSet(name, items, people, recs, tag, n);
  results[name] = summarize(raw[name]);
}

// ---- several vectors per memory -------------------------------------------------------------
const LENGTHS = [
  [1, 8],
  [9, 16],
  [17, 24],
];
const utf8 = (t) => Buffer.byteLength(t, "utf8");
function valueSummary(rows) {
  const groups = {
    zh: rows.filter((r) => r.lang === "zh"),
    en: rows.filter((r) => r.lang === "en"),
    ...Object.fromEntries(
      LENGTHS.map(([a, b]) => [
        `${a}-${b}_bytes`,
        rows.filter((r) => r.bytes >= a && r.bytes <= b),
      ]),
    ),
    multi_word: rows.filter((r) => r.value.includes(" ")),
  };
  return {
    n: rows.length,
    exact: rate(rows.map((r) => r.ok)),
    by_group: Object.fromEntries(
      Object.entries(groups)
        .filter(([, v]) => v.length)
        .map(([k, v]) => [k, { n: v.length, exact: rate(v.map((r) => r.ok)) }]),
    ),
  };
}

/** Each asked memory alone in its namespace, encoded with n vectors; exact = answer is the memory text. */
async function runVectors(name, items, people, nPeople) {
  const asked = items.filter((q) => q.person < nPeople);
  const byN = {};
  const failures = [];
  for (const n of VECTORS) {
    const enc = encoderWith(n);
    const rows = [];
    for (const [k, q] of asked.entries()) {
      const p = people[q.person];
      const memory = p.memories[q.ftype];
      const ns = `${name}:${n}:${k}`;
      await store.upsert(await encodeMemories(enc, [{ id: "m", text: memory, namespace: ns }]));
      const prompt = promptOf(q.question);
      let r = await ask(prompt, ns);
      if (!r.triggered) r = await ask(prompt + TRIGGER, ns);
      const value = p.facts[q.ftype];
      const ok = r.answer === memory;
      rows.push({ lang: p.lang, value, bytes: utf8(value), ok });
      if (!ok && n === VECTORS[VECTORS.length - 1] && failures.length < 8)
        failures.push({ question: q.question, memory, answer: r.answer });
    }
    await enc.dispose();
    byN[n] = valueSummary(rows);
    log(`  ${name}, ${n} vector(s): exact ${byN[n].exact} (${rows.length})`);
  }
  return { byN, failures };
}

const vectorSets = {
  random_values_up_to_24_bytes: await runVectors(
    "open",
    fx.questions.open_values_seen_phrasing ?? [],
    fx.open_value_people ?? [],
    N_OPEN,
  ),
  heldout_list_values: await runVectors(
    "hval",
    fx.questions.heldout_values_seen_phrasing,
    fx.heldout_value_people,
    N_HELDOUT,
  ),
};
const vectorsPerMemory = {
  ...Object.fromEntries(Object.entries(vectorSets).map(([k, v]) => [k, v.byN])),
  "smallest_n_reaching_0.95": Object.fromEntries(
    Object.entries(vectorSets).map(([k, v]) => [
      k,
      VECTORS.find((n) => v.byN[n] && v.byN[n].exact >= 0.95) ?? null,
    ]),
  ),
};

// General questions: the first N_GENERAL of each fixture split, and evaluate.py's blind-written
// ones (lists/general_blind.json, all 240 whatever --general says; no expected answers; older
// fixtures lack them).
const generalSets = {
  train: fx.general.train.slice(0, N_GENERAL),
  heldout: fx.general.heldout.slice(0, N_GENERAL),
  ...(fx.general_blind && {
    blind: ["zh", "en"].flatMap((lang) => fx.general_blind[lang].map((question) => ({ question }))),
  }),
};
const general = {};
const generalSamples = {};
for (const [split, qa] of Object.entries(generalSets)) {
  const rows = [];
  for (const { question, answer } of qa) {
    const r = await ask(promptOf(question), "all");
    rows.push({ question, expected: answer, text: r.text, fired: r.triggered || r.injections > 0 });
  }
  general[split] = { n: rows.length, trigger_rate: rate(rows.map((r) => r.fired)) };
  if (split !== "blind") general[split].answer_exact = rate(rows.map((r) => r.text === r.expected));
  generalSamples[`${split}_false_triggers`] = rows
    .filter((r) => r.fired)
    .slice(0, 20)
    .map((r) => ({ q: r.question, text: r.text }));
}

const seconds = (performance.now() - t0) / 1000;
const pick = (r, keys) => Object.fromEntries(keys.map((k) => [k, r[k]]));
const out = {
  loop:
    args.backend === "onnx"
      ? "@mnemo/core generateText + @mnemo/backend-onnx (onnxruntime CPU) + @mnemo/store-hnsw"
      : "@mnemo/core generateText + @mnemo/backend-llamacpp (llama.cpp CPU) + @mnemo/store-hnsw",
  model: path.relative(root, args.backend === "onnx" ? args["onnx-model"] : args.model),
  model_identity: backend.info.identity,
  seconds: Math.round(seconds),
  setup: {
    fixture: `training/data.py --export-eval --seed ${FIXTURE_SEED} (evaluate.py's items)`,
    people_asked: N_PEOPLE,
    questions_per_person: 2,
    shared_namespace_memories: fx.people.length * FT.length,
    heldout_value_people_asked: N_HELDOUT,
    heldout_value_shared_namespace_memories: fx.heldout_value_people.length * FT.length,
    open_value_people_asked: N_OPEN,
    vectors: VECTORS,
    general_questions_per_split: N_GENERAL,
    encoder: { ...config.encoder, valueVectors: 1 },
    encoder_vectors_per_memory_sets: "the same with valueVectors = each of setup.vectors",
    prompt_template: config.prompt.template,
    stop: config.stop,
    decoding: "greedy (sampling.temperature 0), recall temperature 0 (top-1), topK 5, maxTokens 96",
    backend:
      args.backend === "onnx"
        ? `threads ${args.threads}, onnxruntime float32`
        : `threads ${args.threads}, llama.cpp defaults (f16 KV cache, flash attention auto)`,
    setup_seconds: Math.round(setupSeconds),
    generations: genCount,
    ms_per_generation: Math.round(genMs / genCount),
    tokens_per_second: Math.round((genTokens / genMs) * 1000),
  },
  ...results,
  vectors_per_memory: vectorsPerMemory,
  general_questions: general,
  python_eval_json: Object.fromEntries(
    [...Object.keys(sets), "general_questions", "general_blind", "vectors_per_memory"].map((k) => [
      k,
      k === "general_questions" || k === "general_blind" || k === "vectors_per_memory"
        ? pyEval[k]
        : Object.fromEntries(Object.entries(pyEval[k]).filter(([kk]) => kk !== "by_group")),
    ]),
  ),
  samples: {
    seen_phrasing: raw.train_values_seen_phrasing
      .slice(0, 8)
      .map((r) => pick(r, ["question", "prefix", "answer", "wrong_memory", "wrong_answer"])),
    heldout_phrasing_failures: raw.train_values_heldout_phrasing
      .filter((r) => !(r.ret_all && r.value_ok))
      .slice(0, 12)
      .map((r) => pick(r, ["question", "prefix", "answer", "all_answer", "ret_all"])),
    heldout_values_failures: raw.heldout_values_seen_phrasing
      .filter((r) => !r.value_ok)
      .slice(0, 8)
      .map((r) => pick(r, ["question", "memory", "answer"])),
    random_values_failures: vectorSets.random_values_up_to_24_bytes.failures,
    general: generalSamples,
  },
};
writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);

// ---- table ---------------------------------------------------------------------------------
const metrics = [
  "trigger_rate",
  "retrieval@1_within_person",
  "retrieval@1_among_all",
  "exact_value_right_vector",
  "exact_memory_text_right_vector",
  "end_to_end_value_retrieved_vector",
  "wrong_memory_follows_wrong",
  "wrong_memory_gives_right",
  "injection_position_ok",
  "hnsw_top1_equals_exact_top1",
];
const fmt = (v) => (v === undefined || v === null ? "  -  " : v.toFixed(3));
const short = {
  train_values_seen_phrasing: "seen phr.",
  train_values_heldout_phrasing: "held-out phr.",
  heldout_values_seen_phrasing: "held-out val.",
};
console.log(
  `\n${"metric".padEnd(36)}${Object.values(short)
    .map((s) => `${s} TS / Py`.padStart(24))
    .join("")}`,
);
for (const m of metrics) {
  console.log(
    m.padEnd(36) +
      Object.keys(sets)
        .map((k) => `${fmt(results[k][m])} / ${fmt(pyEval[k][m])}`.padStart(24))
        .join(""),
  );
}
console.log(
  `${"n (questions)".padEnd(36)}${Object.keys(sets)
    .map((k) => `${results[k].n} / ${pyEval[k].n}`.padStart(24))
    .join("")}`,
);
for (const split of ["train", "heldout"])
  console.log(
    `general (${split}) <recall> rate`.padEnd(36) +
      `${fmt(general[split].trigger_rate)} / ${fmt(pyEval.general_questions[split].trigger_rate)}`.padStart(
        24,
      ) +
      `   answer exact ${fmt(general[split].answer_exact)} / ${fmt(pyEval.general_questions[split].answer_exact)}   (n ${general[split].n} / ${pyEval.general_questions[split].n})`,
  );
if (general.blind)
  console.log(
    "general (blind) <recall> rate".padEnd(36) +
      `${fmt(general.blind.trigger_rate)} / ${fmt(pyEval.general_blind?.trigger_rate)}`.padStart(
        24,
      ) +
      `   (n ${general.blind.n} / ${pyEval.general_blind?.n ?? "–"})`,
  );
for (const [k, byN] of Object.entries(vectorSets))
  console.log(
    `${k.replace("_up_to_24_bytes", " ≤24 B")} exact`.padEnd(36) +
      VECTORS.map(
        (n) =>
          `n=${n}: ${fmt(byN.byN[n]?.exact)} / ${fmt(pyEval.vectors_per_memory?.[k]?.[n]?.exact)}`,
      ).join("   "),
  );
console.log(
  `\n${genCount} generations, ${out.setup.ms_per_generation} ms each, ${out.setup.tokens_per_second} tokens/s; ${out.seconds} s in all -> ${path.relative(process.cwd(), OUT)}`,
);

await encoder.dispose();
await store.close();
await backend.dispose();

import {
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, isAbsolute, join, normalize, resolve } from "node:path";
import { MnemoError } from "@mnemo/core";
import {
  DataType,
  decodeModel,
  encodeModel,
  num,
  type OnnxDim,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from "./proto.js";

/** Options of {@link prepareOnnxModel}. */
export interface PrepareOptions {
  /**
   * Compute logits for the last position only (a `Slice` before the lm_head), so a long prefill
   * does not materialise `sequence × vocab` floats. The backend only reads the last position's
   * logits. Default `true`.
   */
  lastLogitsOnly?: boolean;
  /**
   * For a decoder that already takes `inputs_embeds` (exports with a separate embedding model): the
   * `embed_tokens.onnx` model mapping `input_ids` → `inputs_embeds` (one `Gather` of an embedding
   * initializer, optionally followed by a `Mul` by a scalar constant). Its table and scale are
   * extracted exactly as from a single-model export. Default: `embed_tokens.onnx` beside `IN`
   * when `IN` takes `inputs_embeds` and that file exists.
   */
  embedModel?: string;
}

/** The sidecar `OUT.mnemo.json` that {@link prepareOnnxModel} writes beside the rewritten model. */
export interface PreparedModelMeta {
  /** Always `"mnemo-onnx-prepared"`. */
  format: "mnemo-onnx-prepared";
  /** Sidecar format version (1). */
  version: 1;
  /** Architecture from the model's metadata (`mnemo.architecture`) or `"unknown"`. */
  architecture: string;
  /** Model name from the metadata or the file name. */
  name: string;
  /** File name (relative to the sidecar) of the rewritten model. */
  model: string;
  /** The input-embedding table: raw little-endian rows, `vocabSize × width` of `dtype`. */
  embeddings: {
    /** File name of the table, beside the prepared model. */
    file: string;
    /** Element type of the stored rows. */
    dtype: "float32" | "float16";
    /** Number of rows (the vocabulary size). */
    rows: number;
    /** Values per row (the embedding width). */
    width: number;
  };
  /** Factor the graph multiplied gathered rows by (Gemma: `sqrt(width)`), 1 if none. */
  inputScale: number;
  /** Width of `last_hidden_state`. */
  hiddenWidth: number;
  /** Per layer: the `past_key_values` input names and their fixed `[heads, headDim]`. */
  kv: Array<{
    /** Name of the `past_key_values.N.key` input. */
    key: string;
    /** Name of the `past_key_values.N.value` input. */
    value: string;
    /** Names of the matching `present.N.key` / `present.N.value` outputs. */
    present: [string, string];
    /** KV heads of the layer. */
    heads: number;
    /** Width of one head. */
    headDim: number;
  }>;
  /** Whether the rewritten graph has a `position_ids` input. */
  positionIds: boolean;
  /** Longest context the model supports, when the model says so (`mnemo.max_positions`). */
  maxPositions?: number;
  /** Whether logits are computed for the last position only. */
  lastLogitsOnly: boolean;
}

/** What {@link prepareOnnxModel} wrote. */
export interface PrepareResult {
  /** The rewritten model (`OUT`). */
  modelPath: string;
  /** The sidecar JSON (`OUT.mnemo.json`). */
  metaPath: string;
  /** The extracted embedding table (`OUT.embed.bin`). */
  embeddingsPath: string;
  /** The sidecar's content. */
  meta: PreparedModelMeta;
}

const TWO_GIB = 2 ** 31;
const PASSTHROUGH = new Set(["Identity", "Cast", "Mul", "Div", "Tanh", "Add", "Softcap"]);

function invalid(message: string, details: Record<string, unknown> = {}): MnemoError {
  return new MnemoError("MODEL_INVALID", message, { details });
}

/** Fixed dims of a value info; symbolic dims as `null`. */
function dimsOf(v: OnnxValueInfo | undefined): Array<number | null> {
  const d: OnnxDim[] = v?.type?.tensorType?.shape?.dim ?? [];
  return d.map((x) =>
    x.dimValue !== undefined && x.dimValue !== null && num(x.dimValue) > 0 ? num(x.dimValue) : null,
  );
}

function attrInt(node: OnnxNode, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.i === undefined ? fallback : num(a.i);
}

/** Reads a tensor's raw bytes (inline raw data or external data, never the whole external file). */
function tensorBytes(t: OnnxTensor, modelDir: string): Uint8Array {
  if (t.dataLocation === 1) {
    const e = Object.fromEntries((t.externalData ?? []).map((x) => [x.key, x.value]));
    const loc = e.location;
    if (!loc) throw invalid(`Tensor ${t.name} has external data without a location.`);
    const file = resolve(modelDir, loc);
    const offset = Number(e.offset ?? 0);
    const length = e.length === undefined ? statSync(file).size - offset : Number(e.length);
    const out = Buffer.alloc(length);
    const fd = openSync(file, "r");
    try {
      let got = 0;
      while (got < length) {
        const n = readSync(fd, out, got, length - got, offset + got);
        if (n <= 0) throw invalid(`External data ${file} is shorter than tensor ${t.name} needs.`);
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }
  if (t.rawData && t.rawData.length > 0) return t.rawData;
  if (t.dataType === DataType.FLOAT && t.floatData && t.floatData.length > 0) {
    return new Uint8Array(Float32Array.from(t.floatData).buffer);
  }
  if (t.dataType === DataType.FLOAT16 && t.int32Data && t.int32Data.length > 0) {
    return new Uint8Array(Uint16Array.from(t.int32Data).buffer);
  }
  return new Uint8Array(0);
}

/** The value of a scalar float constant (initializer or Constant node), if `name` is one. */
function scalarConst(
  name: string,
  inits: Map<string, OnnxTensor>,
  producers: Map<string, OnnxNode>,
  modelDir: string,
): number | undefined {
  let t = inits.get(name);
  const p = producers.get(name);
  if (!t && p?.opType === "Constant")
    t = p.attribute?.find((a) => a.name === "value")?.t ?? undefined;
  if (!t) return undefined;
  const count = (t.dims ?? []).reduce<number>((a, d) => a * num(d), 1);
  if (count !== 1) return undefined;
  const b = tensorBytes(t, modelDir);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (t.dataType === DataType.FLOAT && b.byteLength === 4) return view.getFloat32(0, true);
  if (t.dataType === DataType.FLOAT16 && b.byteLength === 2)
    return halfToFloat(view.getUint16(0, true));
  return undefined;
}

/** IEEE half → number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Rewrites a standard ONNX decoder export (`input_ids`, `attention_mask`, optional `position_ids`,
 * `past_key_values.N.key/value` → `logits`, `present.N.*`) by protobuf graph surgery so that it
 *
 * - takes `inputs_embeds` `[batch, seq, width]` instead of `input_ids` (the embedding `Gather` — and a
 *   following `Mul` by a scalar constant such as Gemma's `sqrt(width)` — is removed),
 * - also outputs `last_hidden_state` `[batch, seq, hidden]`: the input of the lm_head `MatMul`/`Gemm`,
 *   found by walking back from `logits` through `Identity`/`Cast`/`Mul`/`Div`/`Tanh`/`Add`,
 * - optionally computes logits for the last position only.
 *
 * It writes `OUT` (the model; external-data files it references are hard-linked or copied beside
 * it), `OUT.embed.bin` (the raw embedding table) and `OUT.mnemo.json` ({@link PreparedModelMeta}).
 * The input protobuf is read whole only when it is under 2 GiB, which every valid ONNX file is:
 * larger models keep their weights in external data, which is never read whole (only the
 * embedding table's byte range is copied).
 *
 * @param inPath a standard-layout ONNX decoder
 * @param outPath where to write the rewritten model (a `.onnx` path)
 * Older Optimum-style merged exports (`decoder_model_merged.onnx`: every output computed by one
 * `If` on the boolean input `use_cache_branch`) are first flattened: the with-past `then_branch` is
 * inlined and the `If`, `use_cache_branch` and everything only the other branch used are dropped.
 *
 * @throws MnemoError `MODEL_NOT_FOUND` (missing input), `MODEL_INVALID` (not ONNX, an `If` graph
 *   other than an Optimum-style merged decoder, no `input_ids` embedding `Gather`, no lm_head, other uses of `input_ids`, ...),
 *   `IO_ERROR` (cannot write the output)
 */
export function prepareOnnxModel(
  inPath: string,
  outPath: string,
  options: PrepareOptions = {},
): PrepareResult {
  const lastOnly = options.lastLogitsOnly ?? true;
  if (resolve(inPath) === resolve(outPath)) {
    throw new MnemoError(
      "INVALID_OPTION",
      `prepare would overwrite its input ${inPath}: write the prepared model to another file.`,
    );
  }
  let size: number;
  try {
    const st = statSync(inPath);
    if (!st.isFile()) throw new Error("not a regular file");
    size = st.size;
  } catch (cause) {
    throw new MnemoError("MODEL_NOT_FOUND", `Cannot read ${inPath}: ${(cause as Error).message}`, {
      cause,
      details: { path: inPath },
    });
  }
  if (size >= TWO_GIB) {
    throw invalid(
      `${inPath} is ${size} bytes: an ONNX protobuf cannot exceed 2 GiB; large models must keep their weights in external data.`,
      { path: inPath, size },
    );
  }
  const modelDir = dirname(resolve(inPath));
  let model: OnnxModel;
  try {
    model = decodeModel(readFileSync(inPath));
  } catch (cause) {
    throw new MnemoError(
      "MODEL_INVALID",
      `${inPath} is not an ONNX model (protobuf decode failed).`,
      {
        cause,
        details: { path: inPath },
      },
    );
  }
  const graph = model.graph;
  if (!graph?.node || graph.node.length === 0 || !graph.output?.length) {
    throw invalid(`${inPath} is not an ONNX model (no graph).`, { path: inPath });
  }
  inlineMergedBranch(graph, inPath);
  const takesEmbeds = (graph.input ?? []).some((i) => i.name === "inputs_embeds");
  let embedSource: EmbedSource | undefined;
  if (takesEmbeds && !graph.output.some((o) => o.name === "last_hidden_state")) {
    const embedPath = options.embedModel ?? join(modelDir, "embed_tokens.onnx");
    if (options.embedModel === undefined && !existsSync(embedPath)) {
      throw invalid(
        `${inPath} takes inputs_embeds: pass the embedding model that maps input_ids to inputs_embeds (embedModel / --embed-model; default embed_tokens.onnx beside it).`,
      );
    }
    embedSource = loadEmbedModel(embedPath);
  } else if (options.embedModel !== undefined) {
    throw new MnemoError(
      "INVALID_OPTION",
      `embedModel is only for decoders that take inputs_embeds; ${inPath} takes input_ids.`,
    );
  }
  const extracted = rewriteGraph(graph, inPath, modelDir, lastOnly, embedSource);
  const meta = buildMeta(model, graph, inPath, outPath, lastOnly, extracted);

  // embedding table → OUT.embed.bin
  const embedBin = `${outPath}.embed.bin`;
  const metaPath = `${outPath}.mnemo.json`;
  try {
    writeFileSync(`${embedBin}.tmp`, extracted.bytes);
    renameSync(`${embedBin}.tmp`, embedBin);
    linkExternalData(graph, modelDir, dirname(resolve(outPath)));
    const bytes = encodeModel(model);
    writeFileSync(`${outPath}.tmp`, bytes);
    renameSync(`${outPath}.tmp`, outPath);
    writeFileSync(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  } catch (cause) {
    if (cause instanceof MnemoError) throw cause;
    throw new MnemoError("IO_ERROR", `Cannot write ${outPath}: ${(cause as Error).message}`, {
      cause,
      details: { path: outPath },
    });
  }
  return { modelPath: outPath, metaPath, embeddingsPath: embedBin, meta };
}

/** Every tensor name a node reads, including outer-scope names read inside its subgraphs. */
function readsOf(node: OnnxNode): string[] {
  const out = node.input.filter(Boolean);
  for (const a of node.attribute ?? []) {
    for (const g of [a.g, ...(a.graphs ?? [])]) {
      if (g) for (const n of g.node ?? []) out.push(...readsOf(n));
    }
  }
  return out;
}

/**
 * Inlines an older Optimum-style merged decoder (`decoder_model_merged.onnx`): every graph output
 * comes from one `If` on the boolean input `use_cache_branch`, whose `then_branch` is the decoder
 * with past KV. The then-branch's nodes and initializers replace the `If` (its outputs renamed to
 * the `If`'s), and `use_cache_branch` and whatever only the else-branch used are dropped. Subgraph
 * nodes may read outer-scope values by name; those names stay valid in the main graph. Graphs
 * whose outputs do not come from an `If` are left alone; an `If` of any other shape is refused.
 */
function inlineMergedBranch(graph: OnnxGraph, inPath: string): void {
  const producers = new Map<string, OnnxNode>();
  for (const n of graph.node) for (const o of n.output) if (o) producers.set(o, n);
  const fromIf = new Set(
    graph.output.map((o) => producers.get(o.name)).filter((n) => n?.opType === "If"),
  );
  if (fromIf.size === 0) return;
  const refuse = (why: string): MnemoError =>
    invalid(
      `${inPath} is an If-merged export that prepare cannot inline: ${why}. Only Optimum-style merged decoders are supported (every output computed by one If on the boolean input use_cache_branch, then_branch = the decoder with past_key_values); otherwise use the non-merged decoder (decoder_with_past_model.onnx / model.onnx).`,
      { path: inPath, outputs: graph.output.map((o) => o.name) },
    );
  const ifNode = [...fromIf][0] as OnnxNode;
  if (fromIf.size > 1 || graph.output.some((o) => producers.get(o.name) !== ifNode)) {
    throw refuse("its outputs do not all come from a single If node");
  }
  const cond = ifNode.input[0] ?? "";
  const condInput = graph.input.find((i) => i.name === cond);
  if (cond !== "use_cache_branch" || !condInput) {
    throw refuse(`the If's condition is "${cond}", not the graph input use_cache_branch`);
  }
  const condType = condInput.type?.tensorType?.elemType;
  if (condType !== undefined && condType !== null && condType !== DataType.BOOL) {
    throw refuse("use_cache_branch is not a boolean input");
  }
  const branch = ifNode.attribute?.find((a) => a.name === "then_branch")?.g;
  if (!branch?.node?.length || (branch.output ?? []).length !== ifNode.output.length) {
    throw refuse("its then_branch is missing or does not have one output per If output");
  }
  if ((branch.input ?? []).length > 0 || (branch.sparseInitializer ?? []).length > 0) {
    throw refuse("its then_branch has inputs or sparse initializers");
  }
  if (!branch.node.flatMap(readsOf).some((n) => n.startsWith("past_key_values."))) {
    throw refuse(
      "its then_branch does not read past_key_values.* (it is not the with-past branch)",
    );
  }
  // names the branch defines must not collide with the main graph's (the If outputs excepted, which
  // the branch may define under the same name when its outputs keep the outer names)
  const ifOuts = new Set(ifNode.output);
  const outerNames = new Set([
    ...graph.input.map((i) => i.name),
    ...graph.initializer.map((t) => t.name ?? ""),
    ...graph.node.filter((n) => n !== ifNode).flatMap((n) => n.output),
  ]);
  const defined = [
    ...branch.node.flatMap((n) => n.output.filter(Boolean)),
    ...(branch.initializer ?? []).map((t) => t.name ?? ""),
  ];
  const clash = defined.find((n) => outerNames.has(n));
  if (clash !== undefined) throw refuse(`its then_branch redefines the outer name "${clash}"`);
  const renames: OnnxNode[] = [];
  ifNode.output.forEach((outer, j) => {
    const inner = (branch.output[j] as OnnxValueInfo).name;
    if (inner === outer) return;
    if (ifOuts.has(inner) || defined.includes(outer)) {
      throw refuse(
        `its then_branch outputs "${inner}" as If output "${outer}" but also defines or outputs names of other If outputs`,
      );
    }
    renames.push({
      opType: "Identity",
      name: `mnemo_then_branch_out_${j}`,
      input: [inner],
      output: [outer],
    });
  });
  const at = graph.node.indexOf(ifNode);
  const nodes = [
    ...graph.node.slice(0, at),
    ...branch.node,
    ...renames,
    ...graph.node.slice(at + 1),
  ];
  // keep only what the outputs need (drops what only the else-branch used)
  const live = new Set(graph.output.map((o) => o.name));
  const keep = new Set<OnnxNode>();
  const prod = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.output) if (o) prod.set(o, n);
  const stack = [...live];
  while (stack.length > 0) {
    const p = prod.get(stack.pop() as string);
    if (!p || keep.has(p)) continue;
    keep.add(p);
    for (const r of readsOf(p)) {
      if (!live.has(r)) {
        live.add(r);
        stack.push(r);
      }
    }
  }
  graph.node = nodes.filter((n) => keep.has(n));
  graph.initializer = [...graph.initializer, ...(branch.initializer ?? [])].filter((t) =>
    live.has(t.name ?? ""),
  );
  if (live.has("use_cache_branch")) {
    // the with-past branch itself reads the flag: it is always true here
    graph.initializer.push({
      name: "use_cache_branch",
      dims: [1],
      dataType: DataType.BOOL,
      rawData: new Uint8Array([1]),
    });
  }
  graph.input = graph.input.filter((i) => i.name !== "use_cache_branch");
  const outNames = new Set(graph.output.map((o) => o.name));
  graph.valueInfo = [...(graph.valueInfo ?? []), ...(branch.valueInfo ?? [])].filter(
    (v) => live.has(v.name) && !outNames.has(v.name),
  );
}

/** The embedding table and facts {@link rewriteGraph} found. */
interface Extracted {
  bytes: Uint8Array;
  dtype: "float32" | "float16";
  rows: number;
  width: number;
  scale: number;
  hidden: number;
}

/** A separate `embed_tokens` model (input_ids → inputs_embeds), decoded. */
interface EmbedSource {
  path: string;
  dir: string;
  graph: OnnxGraph;
}

function loadEmbedModel(path: string): EmbedSource {
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error("not a regular file");
    if (st.size >= TWO_GIB) throw invalid(`${path} is over 2 GiB (not a valid ONNX protobuf).`);
    bytes = readFileSync(path);
  } catch (cause) {
    if (cause instanceof MnemoError) throw cause;
    throw new MnemoError(
      "MODEL_NOT_FOUND",
      `Cannot read the embedding model ${path}: ${(cause as Error).message}`,
      { cause, details: { path } },
    );
  }
  let graph: OnnxGraph | null | undefined;
  try {
    graph = decodeModel(bytes).graph;
  } catch (cause) {
    throw new MnemoError(
      "MODEL_INVALID",
      `${path} is not an ONNX model (protobuf decode failed).`,
      {
        cause,
        details: { path },
      },
    );
  }
  if (!graph?.node?.length) throw invalid(`${path} is not an ONNX model (no graph).`, { path });
  return { path, dir: dirname(resolve(path)), graph };
}

/** The embedding lookup of a graph: the `Gather(table, input_ids)` and an optional scalar `Mul`. */
interface EmbeddingLookup {
  table: OnnxTensor;
  dtype: "float32" | "float16";
  rows: number;
  width: number;
  scale: number;
  /** The nodes computing it (Gather, Mul). */
  removed: Set<OnnxNode>;
  /** The tensor holding the (scaled) rows. */
  embedOut: string;
}

function findEmbeddingLookup(
  graph: OnnxGraph,
  inPath: string,
  modelDir: string,
  idsName: string,
): EmbeddingLookup {
  const inits = new Map(graph.initializer.map((t) => [t.name ?? "", t]));
  const producers = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of graph.node) {
    for (const o of n.output) producers.set(o, n);
    for (const i of n.input) {
      if (!i) continue;
      const list = consumers.get(i) ?? [];
      list.push(n);
      consumers.set(i, list);
    }
  }
  const gathers = (consumers.get(idsName) ?? []).filter(
    (n) => n.opType === "Gather" && n.input[1] === idsName && inits.has(n.input[0] ?? ""),
  );
  if (gathers.length !== 1) {
    throw invalid(
      `${inPath}: expected exactly one Gather of an embedding initializer by ${idsName}, found ${gathers.length}.`,
    );
  }
  const gather = gathers[0] as OnnxNode;
  if (attrInt(gather, "axis", 0) !== 0)
    throw invalid(`${inPath}: the embedding Gather does not use axis 0.`);
  const table = inits.get(gather.input[0] as string) as OnnxTensor;
  const tdims = (table.dims ?? []).map(num);
  if (tdims.length !== 2)
    throw invalid(`${inPath}: the embedding table is not 2-D.`, { dims: tdims });
  const [rows, width] = tdims as [number, number];
  let dtype: "float32" | "float16";
  if (table.dataType === DataType.FLOAT) dtype = "float32";
  else if (table.dataType === DataType.FLOAT16) dtype = "float16";
  else
    throw invalid(
      `${inPath}: embedding table type ${table.dataType} is not float32/float16 (quantized tables are not supported).`,
    );
  const removed = new Set<OnnxNode>([gather]);
  let embedOut = gather.output[0] as string;
  let scale = 1;
  const after = consumers.get(embedOut) ?? [];
  if (after.length === 1 && after[0]?.opType === "Mul") {
    const mul = after[0];
    const other = mul.input[0] === embedOut ? mul.input[1] : mul.input[0];
    const s = other ? scalarConst(other, inits, producers, modelDir) : undefined;
    if (s !== undefined) {
      scale = s;
      removed.add(mul);
      embedOut = mul.output[0] as string;
    }
  }
  return { table, dtype, rows, width, scale, removed, embedOut };
}

/** Table and scale of a separate embedding model; refuses one that computes anything else. */
function embeddingFromModel(src: EmbedSource): EmbeddingLookup {
  const { graph, path } = src;
  const ids = graph.input.filter((i) => !graph.initializer.some((t) => t.name === i.name));
  if (ids.length !== 1 || graph.output.length !== 1) {
    throw invalid(
      `${path}: an embedding model must have one input (input_ids) and one output (inputs_embeds).`,
    );
  }
  const lookup = findEmbeddingLookup(graph, path, src.dir, (ids[0] as OnnxValueInfo).name);
  // the output must be the lookup's result, through Identity nodes at most
  let out = (graph.output[0] as OnnxValueInfo).name;
  const producers = new Map(graph.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  const extra = new Set<OnnxNode>();
  while (out !== lookup.embedOut) {
    const p = producers.get(out);
    if (p?.opType !== "Identity") {
      throw invalid(
        `${path}: the embedding model computes more than a Gather (and a scalar Mul): ${p?.opType ?? "nothing"} produces its output.`,
      );
    }
    extra.add(p);
    out = p.input[0] as string;
  }
  return lookup;
}

function rewriteGraph(
  graph: OnnxGraph,
  inPath: string,
  modelDir: string,
  lastOnly: boolean,
  embedSource?: EmbedSource,
): Extracted {
  const nodes = [...graph.node];
  const inputs = [...graph.input];
  const outputs = [...graph.output];
  const inits = new Map(graph.initializer.map((t) => [t.name ?? "", t]));
  const producers = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of nodes) {
    for (const o of n.output) producers.set(o, n);
    for (const i of n.input) {
      if (!i) continue;
      const list = consumers.get(i) ?? [];
      list.push(n);
      consumers.set(i, list);
    }
  }
  const inputNames = new Set(inputs.map((i) => i.name));
  if (inputNames.has("inputs_embeds") && !embedSource) {
    throw invalid(
      `${inPath} already takes inputs_embeds and outputs last_hidden_state (already prepared?).`,
    );
  }
  if (!outputs.some((o) => o.name === "logits")) {
    if (nodes.some((n) => n.opType === "If")) {
      throw invalid(
        `${inPath} hides its graph in If branches (an older merged export): use its non-merged decoder_with_past / decoder_model export.`,
      );
    }
    throw invalid(`${inPath} has no "logits" output.`, { outputs: outputs.map((o) => o.name) });
  }
  if (embedSource && inputNames.has("input_ids")) {
    throw invalid(
      `${inPath} takes both input_ids and inputs_embeds, which prepare cannot rewrite.`,
    );
  }
  if (!embedSource && !inputNames.has("input_ids")) {
    throw invalid(`${inPath} has no "input_ids" input.`, { inputs: [...inputNames] });
  }
  if (
    !inputNames.has("attention_mask") ||
    ![...inputNames].some((n) => n.startsWith("past_key_values."))
  ) {
    throw invalid(
      `${inPath} lacks attention_mask or past_key_values.* inputs (a decoder with KV cache is needed).`,
    );
  }
  if (nodes.some((n) => n.opType === "If" || n.opType === "Loop" || n.opType === "Scan")) {
    throw invalid(`${inPath} has control-flow nodes (If/Loop/Scan), which prepare cannot rewrite.`);
  }

  const isConst = (name: string, seen = new Set<string>()): boolean => {
    if (inits.has(name)) return true;
    if (inputNames.has(name)) return false;
    const p = producers.get(name);
    if (!p) return false;
    if (p.opType === "Constant") return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return p.input.filter(Boolean).every((i) => isConst(i, seen));
  };

  // 1. the embedding Gather on input_ids (or the separate embedding model's)
  const lookup = embedSource
    ? embeddingFromModel(embedSource)
    : findEmbeddingLookup(graph, inPath, modelDir, "input_ids");
  const { table, dtype, rows, width, scale } = lookup;
  const tableDir = embedSource ? embedSource.dir : modelDir;
  const tablePath = embedSource ? embedSource.path : inPath;
  const removed = embedSource ? new Set<OnnxNode>() : new Set<OnnxNode>(lookup.removed);
  const embedOut = embedSource ? "inputs_embeds" : lookup.embedOut;
  const idUsers = embedSource ? [] : (consumers.get("input_ids") ?? []);
  // other users of input_ids: Shape only (→ Shape of inputs_embeds, first two dims)
  const extraNodes: OnnxNode[] = [];
  const extraInits: OnnxTensor[] = [];
  for (const n of idUsers) {
    if (removed.has(n)) continue;
    if (n.opType !== "Shape" || n.attribute?.some((a) => a.name === "start" || a.name === "end")) {
      throw invalid(
        `${inPath}: input_ids is also used by a ${n.opType} node (${n.name ?? "?"}), which prepare cannot rewrite.`,
      );
    }
    const full = `${n.output[0]}__mnemo_full`;
    const starts = `${n.output[0]}__mnemo_starts`;
    const ends = `${n.output[0]}__mnemo_ends`;
    extraInits.push(i64Tensor(starts, [0]), i64Tensor(ends, [2]));
    extraNodes.push({
      opType: "Shape",
      name: `${n.name ?? "shape"}__mnemo`,
      input: ["inputs_embeds"],
      output: [full],
    });
    extraNodes.push({
      opType: "Slice",
      name: `${n.name ?? "shape"}__mnemo_slice`,
      input: [full, starts, ends],
      output: [n.output[0] as string],
    });
    removed.add(n);
  }
  // 2. the lm_head: walk back from logits
  let cur = "logits";
  let head: OnnxNode | undefined;
  for (let steps = 0; steps < 32; steps++) {
    const p = producers.get(cur);
    if (!p) break;
    if (p.opType === "MatMul" || p.opType === "Gemm") {
      head = p;
      break;
    }
    if (!PASSTHROUGH.has(p.opType)) break;
    const dyn = p.input.filter((i) => i && !isConst(i));
    if (dyn.length !== 1) break;
    cur = dyn[0] as string;
  }
  if (!head) throw invalid(`${inPath}: could not find the lm_head MatMul behind "logits".`);
  const headDyn = head.input.slice(0, 2).filter((i) => i && !isConst(i));
  if (headDyn.length !== 1)
    throw invalid(`${inPath}: the lm_head has no single non-constant input.`);
  const hiddenName = headDyn[0] as string;
  if (head.opType === "Gemm" && lastOnly) {
    throw invalid(
      `${inPath}: a Gemm lm_head (2-D) cannot be sliced to the last position; use lastLogitsOnly: false.`,
    );
  }

  // 3. rewrite: inputs_embeds replaces the (scaled) embedding output
  const renamed = nodes
    .filter((n) => !removed.has(n))
    .map((n) => ({ ...n, input: n.input.map((i) => (i === embedOut ? "inputs_embeds" : i)) }));
  if (outputs.some((o) => o.name === embedOut))
    throw invalid(`${inPath}: the embedding output is a graph output.`);
  let newNodes = [...extraNodes, ...renamed];
  if (lastOnly) {
    const last = `${hiddenName}__mnemo_last`;
    const s = "__mnemo_last_starts";
    const e = "__mnemo_last_ends";
    const a = "__mnemo_last_axes";
    extraInits.push(i64Tensor(s, [-1]), i64Tensor(e, [2 ** 53 - 1]), i64Tensor(a, [1]));
    newNodes = newNodes.map((n) =>
      n.output[0] === head?.output[0]
        ? { ...n, input: n.input.map((i) => (i === hiddenName ? last : i)) }
        : n,
    );
    const at = newNodes.findIndex((n) => n.output[0] === head?.output[0]);
    newNodes.splice(at, 0, {
      opType: "Slice",
      name: "mnemo_last_position",
      input: [hiddenName, s, e, a],
      output: [last],
    });
  }
  let hiddenOut = hiddenName;
  if (
    inputNames.has(hiddenName) ||
    outputs.some((o) => o.name === hiddenName) ||
    hiddenName !== "last_hidden_state"
  ) {
    newNodes.push({
      opType: "Identity",
      name: "mnemo_last_hidden_state",
      input: [hiddenName],
      output: ["last_hidden_state"],
    });
    hiddenOut = "last_hidden_state";
  }
  const embedBytes = tensorBytes(table, tableDir);
  const elem = dtype === "float32" ? 4 : 2;
  if (embedBytes.byteLength !== rows * width * elem) {
    throw invalid(
      `${tablePath}: the embedding table has ${embedBytes.byteLength} bytes, expected ${rows * width * elem}.`,
    );
  }
  // hidden width: from the lm_head weight (the constant input's first dim for MatMul)
  const weightName = head.input.slice(0, 2).find((i) => i && isConst(i)) as string;
  let hidden = width;
  const w = inits.get(weightName);
  if (w && head.opType === "MatMul") hidden = num((w.dims ?? [])[0]);
  const extracted: Extracted = { bytes: embedBytes, dtype, rows, width, scale, hidden };

  graph.node = newNodes as OnnxNode[];
  // drop initializers only the removed nodes used (the embedding table unless tied, Gemma's scale)
  const used = new Set(newNodes.flatMap((n) => n.input));
  const droppable = new Set([...removed].flatMap((n) => n.input));
  graph.initializer = [
    ...graph.initializer.filter((t) => !droppable.has(t.name ?? "") || used.has(t.name ?? "")),
    ...extraInits,
  ];
  const idsInfo = inputs.find((i) => i.name === (embedSource ? "inputs_embeds" : "input_ids"));
  const idDims = idsInfo?.type?.tensorType?.shape?.dim ?? [];
  graph.input = inputs
    .filter((i) => i.name !== "input_ids" && i.name !== "inputs_embeds")
    .concat([
      {
        name: "inputs_embeds",
        type: {
          tensorType: {
            elemType: table.dataType ?? DataType.FLOAT,
            shape: {
              dim: [
                idDims[0] ?? { dimParam: "batch_size" },
                idDims[1] ?? { dimParam: "sequence_length" },
                { dimValue: width },
              ],
            },
          },
        },
      },
    ]);
  graph.output = outputs.concat([
    {
      name: hiddenOut,
      type: {
        tensorType: {
          elemType: table.dataType ?? DataType.FLOAT,
          shape: {
            dim: [
              idDims[0] ?? { dimParam: "batch_size" },
              idDims[1] ?? { dimParam: "sequence_length" },
              { dimValue: hidden },
            ],
          },
        },
      },
    },
  ]);
  // logits keep their declared shape only when all positions are computed
  if (lastOnly) {
    graph.output = graph.output.map((o) =>
      o.name === "logits"
        ? {
            ...o,
            type: { tensorType: { elemType: o.type?.tensorType?.elemType ?? DataType.FLOAT } },
          }
        : o,
    );
  }
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => v.name !== embedOut);
  return extracted;
}

function i64Tensor(name: string, values: number[]): OnnxTensor {
  return {
    name,
    dims: [values.length],
    dataType: DataType.INT64,
    rawData: new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer),
  };
}

function buildMeta(
  model: OnnxModel,
  graph: OnnxGraph,
  inPath: string,
  outPath: string,
  lastOnly: boolean,
  e: Extracted,
): PreparedModelMeta {
  const props = Object.fromEntries((model.metadataProps ?? []).map((e) => [e.key, e.value]));
  const kv: PreparedModelMeta["kv"] = [];
  for (const inp of graph.input) {
    const m = /^past_key_values\.(\d+)\.key$/.exec(inp.name);
    if (!m) continue;
    const layer = Number(m[1]);
    const valueName = `past_key_values.${layer}.value`;
    const value = graph.input.find((i) => i.name === valueName);
    const dk = dimsOf(inp);
    const dv = dimsOf(value);
    if (
      !value ||
      dk.length !== 4 ||
      dk[1] === null ||
      dk[3] === null ||
      dv[1] !== dk[1] ||
      dv[3] !== dk[3]
    ) {
      throw invalid(
        `${inPath}: past_key_values.${layer} must be [batch, heads, past, headDim] with fixed heads and headDim.`,
      );
    }
    const present: [string, string] = [`present.${layer}.key`, `present.${layer}.value`];
    if (!present.every((p) => graph.output.some((o) => o.name === p))) {
      throw invalid(`${inPath}: output ${present.join(" / ")} is missing.`);
    }
    kv[layer] = {
      key: inp.name,
      value: valueName,
      present,
      heads: dk[1] as number,
      headDim: dk[3] as number,
    };
  }
  if (kv.length === 0 || kv.some((k) => !k))
    throw invalid(`${inPath}: past_key_values layers are not numbered 0..N-1.`);
  const maxPos = Number(props["mnemo.max_positions"]);
  return {
    format: "mnemo-onnx-prepared",
    version: 1,
    architecture: props["mnemo.architecture"] ?? "unknown",
    name: props["mnemo.name"] ?? basename(inPath).replace(/\.onnx$/, ""),
    model: basename(outPath),
    embeddings: {
      file: `${basename(outPath)}.embed.bin`,
      dtype: e.dtype,
      rows: e.rows,
      width: e.width,
    },
    inputScale: e.scale,
    hiddenWidth: e.hidden,
    kv,
    positionIds: graph.input.some((i) => i.name === "position_ids"),
    ...(Number.isFinite(maxPos) && maxPos > 0 ? { maxPositions: maxPos } : {}),
    lastLogitsOnly: lastOnly,
  };
}

/** Makes every external-data file the graph references available beside the output model. */
function linkExternalData(graph: OnnxGraph, fromDir: string, toDir: string): void {
  if (normalize(fromDir) === normalize(toDir)) return;
  const files = new Set<string>();
  for (const t of graph.initializer) {
    if (t.dataLocation !== 1) continue;
    const loc = t.externalData?.find((x) => x.key === "location")?.value;
    if (!loc || isAbsolute(loc) || loc.split(/[\\/]/).includes("..")) {
      throw invalid(`External data location ${String(loc)} is not a plain relative path.`);
    }
    files.add(loc);
  }
  for (const f of files) {
    const dst = join(toDir, f);
    if (existsSync(dst)) continue;
    try {
      linkSync(join(fromDir, f), dst);
    } catch {
      copyFileSync(join(fromDir, f), dst);
    }
  }
}

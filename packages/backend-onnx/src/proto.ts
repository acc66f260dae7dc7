/**
 * ONNX protobuf access through protobufjs and the ONNX project's own `onnx.proto` (shipped in this
 * package's `proto/` folder, from onnx 1.23.2, Apache-2.0).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

/** ONNX `TensorProto.DataType` values this package handles. */
export const DataType = {
  FLOAT: 1,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
} as const;

/** A `TensorShapeProto.Dimension`: a fixed size or a named symbolic one. */
export interface OnnxDim {
  /** Fixed size (protobufjs may give a Long). */
  dimValue?: number | { toNumber(): number } | null;
  /** Symbolic name. */
  dimParam?: string | null;
}

/** A `ValueInfoProto` (graph input/output). */
export interface OnnxValueInfo {
  /** Tensor name. */
  name: string;
  /** Type; only tensor types are used here. */
  type?: {
    tensorType?: { elemType?: number; shape?: { dim?: OnnxDim[] } | null } | null;
  } | null;
}

/** A `StringStringEntryProto`. */
export interface OnnxEntry {
  /** Key. */
  key: string;
  /** Value. */
  value: string;
}

/** A `TensorProto` (initializer or constant value). */
export interface OnnxTensor {
  /** Name (initializers). */
  name?: string;
  /** Dimensions (protobufjs may give Longs). */
  dims?: Array<number | { toNumber(): number }>;
  /** `TensorProto.DataType`. */
  dataType?: number;
  /** Raw little-endian bytes, when stored inline that way. */
  rawData?: Uint8Array;
  /** Values of FLOAT tensors stored as repeated floats. */
  floatData?: number[];
  /** Values of INT64 tensors stored as repeated int64. */
  int64Data?: Array<number | { toNumber(): number }>;
  /** Values of FLOAT16 tensors stored as repeated int32 (the bit patterns). */
  int32Data?: number[];
  /** `1` = EXTERNAL (data lives in another file). */
  dataLocation?: number;
  /** For external data: `location`, `offset`, `length`, `checksum`. */
  externalData?: OnnxEntry[];
}

/** An `AttributeProto` (only the fields read here). */
export interface OnnxAttribute {
  /** Attribute name. */
  name: string;
  /** Integer value. */
  i?: number | { toNumber(): number };
  /** Integer list value. */
  ints?: Array<number | { toNumber(): number }>;
  /** Tensor value (Constant nodes). */
  t?: OnnxTensor | null;
  /** Float value. */
  f?: number;
  /** `AttributeProto.AttributeType`. */
  type?: number;
  /** Sub-graph (If / Loop / Scan bodies). */
  g?: OnnxGraph | null;
  /** Sub-graphs. */
  graphs?: OnnxGraph[];
}

/** A `NodeProto`. */
export interface OnnxNode {
  /** Operator type (`MatMul`, `Gather`, ...). */
  opType: string;
  /** Operator domain (`""` / `ai.onnx` for the standard set). */
  domain?: string;
  /** Node name. */
  name?: string;
  /** Input tensor names (`""` = omitted optional input). */
  input: string[];
  /** Output tensor names. */
  output: string[];
  /** Attributes. */
  attribute?: OnnxAttribute[];
}

/** A `GraphProto`. */
export interface OnnxGraph {
  /** Graph name. */
  name?: string;
  /** Nodes in topological order. */
  node: OnnxNode[];
  /** Constant tensors. */
  initializer: OnnxTensor[];
  /** Graph inputs. */
  input: OnnxValueInfo[];
  /** Graph outputs. */
  output: OnnxValueInfo[];
  /** Optional intermediate value infos. */
  valueInfo?: OnnxValueInfo[];
  /** Sparse constant tensors (not supported by prepare; only checked for absence). */
  sparseInitializer?: unknown[];
}

/** A `ModelProto`. */
export interface OnnxModel {
  /** IR version. */
  irVersion?: number | { toNumber(): number };
  /** Operator sets used. */
  opsetImport?: Array<{ domain?: string; version?: number | { toNumber(): number } }>;
  /** The main graph. */
  graph?: OnnxGraph | null;
  /** Free-form metadata. */
  metadataProps?: OnnxEntry[];
}

let modelType: protobuf.Type | undefined;
let tensorType: protobuf.Type | undefined;

/** Locates `proto/onnx.proto` from `src/` (tests) or `dist/` (built). */
function protoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const p = join(here, "..", "proto", "onnx.proto");
  if (!existsSync(p)) throw new Error(`onnx.proto not found at ${p}`);
  return p;
}

function types(): { model: protobuf.Type; tensor: protobuf.Type } {
  if (!modelType || !tensorType) {
    const root = protobuf.loadSync(protoPath());
    modelType = root.lookupType("onnx.ModelProto");
    tensorType = root.lookupType("onnx.TensorProto");
  }
  return { model: modelType, tensor: tensorType };
}

/**
 * Decodes an ONNX `ModelProto`. Byte fields are views into `bytes` (no copy).
 * @throws Error when the bytes are not a valid protobuf `ModelProto`
 */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  return types().model.decode(bytes) as unknown as OnnxModel;
}

/** Encodes an ONNX `ModelProto`. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const t = types().model;
  return t.encode(t.fromObject(model as unknown as Record<string, unknown>)).finish();
}

/** A plain number from a protobufjs integer (number or Long). */
export function num(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

/**
 * Input validation: a zod schema for every request body and query, and the JSONL line parser of
 * the memory import.
 */
import { MAX_ID_LENGTH, MAX_NAMESPACE_LENGTH } from "@mnemo/core";
import { z } from "zod";
import type { LineError } from "../shared/api.js";

/** Longest memory text accepted (characters). */
export const MAX_MEMORY_TEXT = 20_000;
/** Longest prompt accepted (characters). */
export const MAX_PROMPT = 50_000;

const id = z.string().min(1, "must not be empty").max(MAX_ID_LENGTH);
const namespace = z.string().min(1, "must not be empty").max(MAX_NAMESPACE_LENGTH);
const metadata = z
  .record(z.string().min(1).max(256), z.union([z.string(), z.number(), z.boolean(), z.null()]))
  .refine((m) => Object.keys(m).length <= 64, "at most 64 keys");

/** One memory to add: `POST /api/memories` and each line of an import. */
export const memoryInputSchema = z.strictObject({
  text: z
    .string()
    .max(MAX_MEMORY_TEXT)
    .refine((t) => t.trim().length > 0, "must be a non-empty string"),
  id: id.optional(),
  namespace: namespace.optional(),
  metadata: metadata.optional(),
});

/** A memory to add, validated. */
export type MemoryInputBody = z.infer<typeof memoryInputSchema>;

/** `POST /api/load`. */
export const loadSchema = z.strictObject({
  model: z.string().min(1).max(1024),
  store: z.enum(["hnsw", "qdrant"]).default("hnsw"),
  // Default: the model's config file (<model>.json beside it), else "mean-embedding".
  value: z.enum(["mean-embedding", "token-embeddings", "hidden-state"]).optional(),
});

/** `GET /api/memories` query. */
export const listQuerySchema = z.object({
  namespace: namespace.default("default"),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

/** `DELETE /api/memories` query. */
export const deleteQuerySchema = z.object({ namespace: namespace.default("default"), id });

/** `POST /api/memories/search`. */
export const searchSchema = z.strictObject({
  text: z
    .string()
    .max(MAX_MEMORY_TEXT)
    .refine((t) => t.trim().length > 0, "must be a non-empty string"),
  namespace: namespace.default("default"),
  topK: z.number().int().min(1).max(100).default(10),
});

/** `POST /api/memories/import` query. */
export const importQuerySchema = z.object({ namespace: namespace.optional() });

/** `POST /api/generate`. */
export const generateSchema = z.strictObject({
  prompt: z.string().min(1, "must not be empty").max(MAX_PROMPT),
  recall: z.strictObject({
    enabled: z.boolean(),
    trigger: z.string().min(1).max(64),
    topK: z.number().int().min(1).max(100),
    temperature: z.number().min(0).max(100),
    topP: z.number().gt(0).max(1),
    minScore: z.number().min(-1).max(1),
    maxRecalls: z.number().int().min(0).max(64),
    namespace,
  }),
  sampling: z.strictObject({
    temperature: z.number().min(0).max(100),
    topK: z.number().int().min(0).max(100_000),
    topP: z.number().gt(0).max(1),
    minP: z.number().min(0).lt(1),
    repetitionPenalty: z.number().min(1).max(10),
  }),
  maxTokens: z.number().int().min(1).max(4096),
  seed: z.number().int().min(0).max(0xffffffff).optional(),
});

/** A validated generation request. */
export type GenerateBody = z.infer<typeof generateSchema>;

/** Formats zod issues as `path: message` pairs. */
export function formatIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({
    path: i.path.map(String).join(".") || "(body)",
    message:
      i.code === "invalid_type" && /received undefined$/.test(i.message)
        ? `is required (${i.expected})`
        : i.message,
  }));
}

/** The result of {@link parseJsonl}. */
export interface ParsedJsonl {
  /** Good lines, with their 1-based line numbers. */
  inputs: { line: number; input: MemoryInputBody }[];
  /** Bad lines and what is wrong with each. */
  errors: LineError[];
}

/**
 * Parses a JSONL import: one `{"text", "id"?, "namespace"?, "metadata"?}` object per line; blank
 * lines are skipped. A bad line becomes an error with its line number and the others still count.
 * @param defaultNamespace namespace for lines that name none
 */
export function parseJsonl(text: string, defaultNamespace?: string): ParsedJsonl {
  const inputs: ParsedJsonl["inputs"] = [];
  const errors: LineError[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      errors.push({ line, message: `not valid JSON (${(e as Error).message})` });
      return;
    }
    const parsed = memoryInputSchema.safeParse(value);
    if (!parsed.success) {
      const detail = formatIssues(parsed.error)
        .map((p) => (p.path === "(body)" ? p.message : `"${p.path}": ${p.message}`))
        .join("; ");
      errors.push({ line, message: detail });
      return;
    }
    const input = parsed.data;
    if (input.namespace === undefined && defaultNamespace !== undefined) {
      input.namespace = defaultNamespace;
    }
    inputs.push({ line, input });
  });
  return { inputs, errors };
}

/** Terminal output helpers: the recall trace table. */
import type { Injection } from "@mnemo/core";
import Table from "cli-table3";

/** Colours only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export const useColor = process.stdout.isTTY === true && !process.env.NO_COLOR;

/** Wraps `text` in an ANSI SGR colour `code` when {@link useColor}. */
export function paint(code: string, text: string): string {
  return useColor ? `\x1b[${code}m${text}\x1b[0m` : text;
}

/** cli-table3 styles: coloured header and grey borders on a terminal, plain text otherwise. */
export const tableStyle = useColor
  ? { head: ["cyan"], border: ["grey"] }
  : { head: [], border: [] };

/** A table of injections: position, KV position, vectors, score, probability, memory id, text. */
export function traceTable(injections: readonly Injection[]): string {
  if (injections.length === 0) return "recall trace: no memory was injected";
  const table = new Table({
    head: [
      "position",
      "kv position",
      "vectors",
      "score (cos)",
      "probability",
      "memory id",
      "memory text",
    ],
    style: tableStyle,
    wordWrap: true,
    colWidths: [10, 13, 9, 13, 13, 20, 40],
  });
  for (const i of injections) {
    table.push([
      i.position,
      i.kvPosition,
      i.vectorCount,
      i.score.toFixed(4),
      i.probability.toFixed(3),
      i.memoryId,
      i.text ?? "",
    ]);
  }
  return `recall trace:\n${table.toString()}`;
}

/** Parses a `--metadata` JSON object. */
export function parseMetadata(
  json: string | undefined,
): Record<string, string | number | boolean | null> | undefined {
  if (json === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    value = undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`--metadata must be a JSON object, e.g. '{"source":"chat"}'; got ${json}`);
  }
  return value as Record<string, string | number | boolean | null>;
}

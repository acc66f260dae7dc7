/** `mnemo memory add|import|list|delete|search`. */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import {
  checkId,
  checkMetadata,
  checkNamespace,
  encodeMemories,
  isMnemoError,
  type MemoryInput,
  type MemoryRecord,
  MnemoError,
} from "@mnemo/core";
import cliProgress from "cli-progress";
import Table from "cli-table3";
import { openSession, type StoreOptions } from "./context.js";
import { parseMetadata, tableStyle } from "./format.js";

interface AddOptions extends StoreOptions {
  id?: string;
  namespace: string;
  metadata?: string;
}

export async function memoryAdd(text: string, options: AddOptions): Promise<void> {
  let metadata: ReturnType<typeof parseMetadata>;
  try {
    metadata = parseMetadata(options.metadata);
  } catch (e) {
    throw new MnemoError("INVALID_INPUT", (e as Error).message);
  }
  const session = await openSession(options);
  try {
    const input: MemoryInput = {
      text,
      namespace: options.namespace,
      ...(options.id ? { id: options.id } : {}),
      ...(metadata ? { metadata } : {}),
    };
    const [record] = await encodeMemories(session.encoder, [input]);
    if (!record) return;
    await session.store.upsert([record]);
    console.log(
      `added ${record.id} to "${options.namespace}" (${record.value.length / session.backend.info.embeddingWidth} value vector(s)); store: ${session.storePath}`,
    );
  } finally {
    await session.close();
  }
}

/**
 * Parses one JSONL line into a memory input, with the same rules the stores apply (ids and
 * namespaces: non-empty strings ≤ 512 characters; metadata: a flat object of strings, finite
 * numbers, booleans or null).
 * @throws Error whose message says what is wrong with the line
 */
export function parseMemoryLine(line: string): MemoryInput {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error("not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("not a JSON object");
  }
  const v = value as Record<string, unknown>;
  if (typeof v.text !== "string" || v.text.trim() === "") {
    throw new Error('"text" must be a non-empty string');
  }
  const id = v.id === undefined ? undefined : checkId(v.id);
  const namespace = v.namespace === undefined ? undefined : checkNamespace(v.namespace);
  const metadata = v.metadata === undefined ? undefined : checkMetadata(v.metadata, "metadata");
  return {
    text: v.text,
    ...(id === undefined ? {} : { id }),
    ...(namespace === undefined ? {} : { namespace }),
    ...(metadata === undefined ? {} : { metadata }),
  };
}

/** Reads a JSONL file of memories; bad lines are returned as problems with their line numbers. */
async function readMemoryLines(
  file: string,
): Promise<{ inputs: { line: number; input: MemoryInput }[]; problems: string[] }> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (cause) {
    throw new MnemoError("IO_ERROR", `Cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  if (!info.isFile()) {
    throw new MnemoError("IO_ERROR", `${file} is not a regular file: give a JSONL file.`);
  }
  const inputs: { line: number; input: MemoryInput }[] = [];
  const problems: string[] = [];
  let line = 0;
  try {
    for await (const text of createInterface({
      input: createReadStream(file),
      crlfDelay: Number.POSITIVE_INFINITY,
    })) {
      line++;
      if (text.trim() === "") continue;
      try {
        inputs.push({ line, input: parseMemoryLine(text) });
      } catch (e) {
        problems.push(`line ${line}: ${(e as Error).message}`);
      }
    }
  } catch (cause) {
    throw new MnemoError("IO_ERROR", `Cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  return { inputs, problems };
}

export async function memoryImport(file: string, options: StoreOptions): Promise<void> {
  const { inputs, problems } = await readMemoryLines(file);
  const session = await openSession(options);
  const bar = new cliProgress.SingleBar(
    { format: "importing [{bar}] {value}/{total} memories | {eta}s left", hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const imported = new Map<string, number>();
  try {
    bar.start(inputs.length, 0);
    const BATCH = 64;
    for (let i = 0; i < inputs.length; i += BATCH) {
      const records: MemoryRecord[] = [];
      for (const { line, input } of inputs.slice(i, i + BATCH)) {
        try {
          const [record] = await encodeMemories(session.encoder, [input]);
          if (record) records.push(record);
          const key = `${record?.namespace ?? "default"}\u0000${record?.id}`;
          if (imported.has(key)) {
            problems.push(
              `line ${line}: id "${record?.id}" repeats line ${imported.get(key)}; the later line wins`,
            );
          }
          imported.set(key, line);
        } catch (e) {
          if (!isMnemoError(e)) throw e;
          problems.push(`line ${line}: [${e.code}] ${e.message}`);
        }
        bar.increment();
      }
      await session.store.upsert(records);
    }
    bar.stop();
    console.log(`imported ${imported.size} memories into ${session.storePath}`);
  } finally {
    bar.stop();
    await session.close();
  }
  if (problems.length > 0) {
    process.stderr.write(
      `${problems.length} line(s) need attention (bad lines were skipped; fix them and import again — ids make re-imports idempotent):\n  ${problems.join("\n  ")}\n`,
    );
    process.exitCode = 1;
  }
}

interface ListOptions extends StoreOptions {
  namespace?: string;
  limit: number;
  json?: boolean;
}

export async function memoryList(options: ListOptions): Promise<void> {
  const session = await openSession(options, "existing");
  try {
    // "" is a bad namespace, not "all of them" (it used to list everything, then fail)
    const namespaces =
      options.namespace === undefined
        ? await session.store.namespaces()
        : [checkNamespace(options.namespace, "INVALID_OPTION")];
    const rows = [];
    for (const ns of namespaces)
      rows.push(...(await session.store.list({ namespace: ns, limit: options.limit })));
    if (options.json) {
      console.log(
        JSON.stringify(
          rows.map(({ id, namespace, text, metadata, value }) => ({
            id,
            namespace,
            text,
            metadata,
            vectors: value.length / session.backend.info.embeddingWidth,
          })),
          null,
          2,
        ),
      );
      return;
    }
    const table = new Table({
      head: ["namespace", "id", "vectors", "text", "metadata"],
      style: tableStyle,
      wordWrap: true,
      colWidths: [14, 22, 9, 44, 24],
    });
    for (const r of rows)
      table.push([
        r.namespace,
        r.id,
        r.value.length / session.backend.info.embeddingWidth,
        r.text ?? "",
        JSON.stringify(r.metadata),
      ]);
    console.log(table.toString());
    console.log(
      `${await session.store.count(options.namespace)} memories in ${options.namespace ? `"${options.namespace}"` : "all namespaces"}; store: ${session.storePath}`,
    );
  } finally {
    await session.close();
  }
}

export async function memoryDelete(
  ids: string[],
  options: StoreOptions & { namespace: string },
): Promise<void> {
  const session = await openSession(options, "existing");
  try {
    const n = await session.store.delete(ids, options.namespace);
    console.log(`deleted ${n} of ${ids.length} (namespace "${options.namespace}")`);
    if (n < ids.length) process.exitCode = 1;
  } finally {
    await session.close();
  }
}

export async function memorySearch(
  text: string,
  options: StoreOptions & { topK: number; namespace: string; json?: boolean },
): Promise<void> {
  const session = await openSession(options, "existing");
  try {
    const { key } = await session.encoder.encode(text);
    const hits = await session.store.search(key, {
      topK: options.topK,
      namespace: options.namespace,
    });
    if (options.json) {
      console.log(
        JSON.stringify(
          hits.map((h) => ({
            id: h.memory.id,
            namespace: h.memory.namespace,
            score: h.score,
            text: h.memory.text,
          })),
          null,
          2,
        ),
      );
      return;
    }
    const table = new Table({
      head: ["rank", "score (cos)", "id", "text"],
      style: tableStyle,
      wordWrap: true,
      colWidths: [6, 13, 22, 56],
    });
    for (const [i, h] of hits.entries()) {
      table.push([i + 1, h.score.toFixed(4), h.memory.id, h.memory.text ?? ""]);
    }
    console.log(hits.length ? table.toString() : `no memories in namespace "${options.namespace}"`);
  } finally {
    await session.close();
  }
}

/**
 * Listing the models folder and resolving a model id to a file inside it. A model id is only ever
 * looked up in the listing, and the real path (symlinks followed) must stay inside the folder, so
 * no request can open a file elsewhere.
 */
import type { Dirent } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { BackendKind, ModelEntry } from "../shared/api.js";

/** Thrown when a model id is not a model of the folder. */
export class ModelNotFoundError extends Error {
  /** Stable code for API errors. */
  readonly code = "MODEL_NOT_FOUND";
}

function backendOf(name: string): BackendKind | undefined {
  if (/\.gguf$/i.test(name)) return "llamacpp";
  if (/\.mnemo\.onnx$/i.test(name)) return "onnx";
  return undefined;
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !rel.startsWith(sep) && !rel.includes(`..${sep}`);
}

/**
 * Lists the models in `modelsDir`: `*.gguf` files at the top level (llama.cpp) and `*.mnemo.onnx`
 * files one folder down (ONNX models prepared by `@mnemo/backend-onnx`). Hidden entries and files
 * whose real path leaves the folder are skipped. Sorted by id.
 */
export async function listModels(modelsDir: string): Promise<ModelEntry[]> {
  const root = await realpath(modelsDir).catch(() => undefined);
  if (!root) return [];
  const found: ModelEntry[] = [];
  const consider = async (id: string, absolute: string) => {
    const backend = backendOf(id);
    if (!backend) return;
    const real = await realpath(absolute).catch(() => undefined);
    if (!real || !inside(root, real)) return;
    const info = await stat(real).catch(() => undefined);
    if (!info?.isFile()) return;
    found.push({ id, backend, sizeBytes: info.size });
  };
  for (const entry of await entries(root)) {
    if (entry.name.startsWith(".")) continue;
    if (entry.isDirectory()) {
      for (const inner of await entries(join(root, entry.name))) {
        if (inner.name.startsWith(".") || !inner.name.toLowerCase().endsWith(".mnemo.onnx"))
          continue;
        await consider(`${entry.name}/${inner.name}`, join(root, entry.name, inner.name));
      }
    } else if (entry.name.toLowerCase().endsWith(".gguf")) {
      await consider(entry.name, join(root, entry.name));
    }
  }
  return found.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Resolves a model id from {@link listModels} to its real absolute path.
 * @throws ModelNotFoundError if the id is not one of the folder's models
 */
export async function resolveModel(
  modelsDir: string,
  id: string,
): Promise<{ path: string; entry: ModelEntry }> {
  const entry = (await listModels(modelsDir)).find((m) => m.id === id);
  if (!entry) {
    throw new ModelNotFoundError(
      `"${id}" is not a model in the models folder; pick one that GET /api/models lists.`,
    );
  }
  const root = await realpath(modelsDir);
  const path = await realpath(join(root, ...id.split("/")));
  if (!inside(root, path)) throw new ModelNotFoundError(`"${id}" is outside the models folder.`);
  return { path, entry };
}

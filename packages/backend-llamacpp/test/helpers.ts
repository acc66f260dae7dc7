import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** The tiny deterministic Llama model (scripts/make-tiny-model.py). */
export const TINY_MODEL = join(root, ".mnemo", "models", "tiny-llama.gguf");
/** The real Gemma 3 270M (Q4_K_M). */
export const GEMMA_MODEL = join(root, ".mnemo", "models", "gemma-3-270m-q4_k_m.gguf");

/** True when `path` exists; otherwise prints why the suite is skipped. */
export function haveModel(path: string, suite: string): boolean {
  if (existsSync(path)) return true;
  console.warn(
    `[backend-llamacpp] skipping "${suite}": model file ${path} is missing (run pnpm setup).`,
  );
  return false;
}

/** Largest absolute element-wise difference of two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Index of the largest value. */
export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if ((a[i] as number) > (a[best] as number)) best = i;
  return best;
}

/** Largest absolute value. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

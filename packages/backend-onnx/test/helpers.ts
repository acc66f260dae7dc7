import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..", "..");
const models = join(root, ".mnemo", "models");

/** The tiny deterministic Llama model (scripts/make-tiny-model.py). */
export const TINY_GGUF = join(models, "tiny-llama.gguf");
/** Its ONNX conversion (tools/gguf_to_onnx.py), standard layout. */
export const TINY_ONNX = join(models, "tiny-llama-onnx", "model.onnx");
/** Gemma 3 270M Q4_K_M. */
export const GEMMA_GGUF = join(models, "gemma-3-270m-q4_k_m.gguf");
/** Its ONNX conversion after prepare. */
export const GEMMA_ONNX = join(models, "gemma-3-270m-onnx", "model.mnemo.onnx");
/** The project's Python (for the float64 reference). */
export const PYTHON = join(root, ".mnemo", "venv", "bin", "python");

/** True when every path exists; otherwise prints why the suite is skipped. */
export function haveFiles(suite: string, ...paths: string[]): boolean {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  console.warn(
    `[backend-onnx] skipping "${suite}": missing ${missing.join(", ")} (run pnpm setup; see packages/backend-onnx/README.md).`,
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

/** KL(p‖q) in nats of the softmax distributions of two logit vectors. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const lse = (x: ArrayLike<number>) => {
    let m = -Infinity;
    for (let i = 0; i < x.length; i++) m = Math.max(m, x[i] as number);
    let s = 0;
    for (let i = 0; i < x.length; i++) s += Math.exp((x[i] as number) - m);
    return m + Math.log(s);
  };
  const lp = lse(p);
  const lq = lse(q);
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const a = (p[i] as number) - lp;
    kl += Math.exp(a) * (a - ((q[i] as number) - lq));
  }
  return kl;
}

/** Float64 reference logits/hidden state (last position) of the tiny model, from numpy. */
export function tinyReference(prompts: number[][]): Array<{ logits: number[]; hidden: number[] }> {
  const out = execFileSync(
    PYTHON,
    [join(here, "tiny_reference.py"), TINY_GGUF, JSON.stringify(prompts)],
    {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return JSON.parse(out) as Array<{ logits: number[]; hidden: number[] }>;
}

/** Where the test models are (installed by `node scripts/setup.mjs`), and skip reasons when they are not. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../../..");

/** The tiny deterministic Llama model (scripts/make-tiny-model.py): exact checks. */
export const TINY_MODEL = join(root, ".mnemo/models/tiny-llama.gguf");
/** Gemma 3 270M Q4_K_M from PyPI: behaviour on a real pretrained model. */
export const GEMMA_MODEL = join(root, ".mnemo/models/gemma-3-270m-q4_k_m.gguf");
/** mnemo's recall demo model (committed in packages/model-recall-demo/model/). */
export const RECALL_MODEL = join(root, "packages/model-recall-demo/model/mnemo-recall-demo.gguf");
/** The CLI entry point (built by `pnpm build`). */
export const CLI = join(root, "apps/cli/dist/main.js");

/** Returns a skip reason (printed) when a model file is missing, else `undefined`. */
export function missing(path: string): string | undefined {
  if (existsSync(path)) return undefined;
  const reason = `SKIPPED: ${path} not found; run \`node scripts/setup.mjs\` to install the test models.`;
  console.warn(reason);
  return reason;
}

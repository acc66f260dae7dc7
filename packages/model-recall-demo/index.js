import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Absolute path of the GGUF file (llama arch, f16, byte-level tokenizer with a `<recall>` token). */
export const modelPath = path.join(here, "model", "mnemo-recall-demo.gguf");

/** Absolute path of model.json: what mnemo's MemoryEncoder needs (trigger token, key template, value strategy, vectors per memory and their filler token). */
export const configPath = path.join(here, "model", "model.json");

/** Absolute path of eval.json (evaluation results of this model). */
export const evalPath = path.join(here, "eval.json");

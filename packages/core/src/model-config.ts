/**
 * A model's mnemo settings, shipped beside its GGUF weights: a JSON file named like the model
 * (`model.gguf` → `model.json`), or `model.json` in the model's folder. Models trained for recall
 * need their encoder settings to match their training (e.g. `@mnemo/model-recall-demo`:
 * `{ "trigger": "<recall>", "encoder": { "value": "hidden-state", "keyTemplate": "{text}</s>" } }`).
 */
import { type MemoryEncoderOptions, VALUE_STRATEGIES } from "./encoder.js";
import { MnemoError } from "./errors.js";

/** What a model's config file may say. Every field is optional. */
export interface ModelConfig {
  /** The recall trigger the model was trained with. */
  trigger?: string;
  /** How memories must be encoded for this model. */
  encoder?: MemoryEncoderOptions;
  /** Prompt template; `{question}` stands for the user's text. */
  prompt?: {
    /** The template; `{question}` stands for the user's text. */
    template?: string;
  };
  /** Stop strings. */
  stop?: string[];
}

/**
 * Validates a parsed config file.
 * @param source the file, for messages
 * @throws MnemoError `MODEL_INVALID` when a field has the wrong type or an unknown value strategy
 */
export function parseModelConfig(json: unknown, source: string): ModelConfig {
  const bad = (what: string): never => {
    throw new MnemoError(
      "MODEL_INVALID",
      `${source}: ${what}. Fix or remove the model's config file.`,
    );
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) bad("not a JSON object");
  const c = json as Record<string, unknown>;
  const out: ModelConfig = {};
  if (c.trigger !== undefined) {
    if (typeof c.trigger !== "string" || c.trigger === "")
      bad('"trigger" must be a non-empty string');
    out.trigger = c.trigger as string;
  }
  if (c.encoder !== undefined) {
    const e = c.encoder as Record<string, unknown>;
    if (typeof e !== "object" || e === null) bad('"encoder" must be an object');
    const encoder: MemoryEncoderOptions = {};
    if (e.value !== undefined) {
      if (!VALUE_STRATEGIES.includes(e.value as never))
        bad(`"encoder.value" must be one of ${VALUE_STRATEGIES.join(", ")}`);
      encoder.value = e.value as MemoryEncoderOptions["value"];
    }
    if (e.keyTemplate !== undefined) {
      if (typeof e.keyTemplate !== "string" || !e.keyTemplate.includes("{text}"))
        bad('"encoder.keyTemplate" must be a string containing "{text}"');
      encoder.keyTemplate = e.keyTemplate as string;
    }
    if (e.addBos !== undefined) {
      if (typeof e.addBos !== "boolean") bad('"encoder.addBos" must be a boolean');
      encoder.addBos = e.addBos as boolean;
    }
    if (e.valueVectors !== undefined) {
      const n = e.valueVectors;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 64)
        bad('"encoder.valueVectors" must be an integer in [1, 64]');
      encoder.valueVectors = n as number;
    }
    if (e.valueFiller !== undefined) {
      if (typeof e.valueFiller !== "string") bad('"encoder.valueFiller" must be a string');
      encoder.valueFiller = e.valueFiller as string;
    }
    out.encoder = encoder;
  }
  if (c.prompt !== undefined) {
    const p = c.prompt as Record<string, unknown>;
    if (typeof p !== "object" || p === null) bad('"prompt" must be an object');
    if (p.template !== undefined && typeof p.template !== "string")
      bad('"prompt.template" must be a string');
    out.prompt = p.template === undefined ? {} : { template: p.template as string };
  }
  if (c.stop !== undefined) {
    if (!Array.isArray(c.stop) || c.stop.some((s) => typeof s !== "string"))
      bad('"stop" must be an array of strings');
    out.stop = c.stop as string[];
  }
  return out;
}

/**
 * Finds and reads the config file of the model at `modelPath`: for a GGUF, `<name>.json` beside
 * it, then `model.json` in its folder; for an ONNX model, `model.json` in its folder (never
 * `<name>.json`: `mnemo onnx prepare` writes its own sidecars beside the model). `undefined` when
 * there is none.
 * @throws MnemoError `MODEL_INVALID` when the file exists but is not a valid config
 */
export async function loadModelConfig(modelPath: string): Promise<ModelConfig | undefined> {
  const { readFile } = await import("node:fs/promises");
  const { dirname, join } = await import("node:path");
  const folderConfig = join(dirname(modelPath), "model.json");
  let candidates: string[];
  if (/\.gguf$/i.test(modelPath))
    candidates = [modelPath.replace(/\.gguf$/i, ".json"), folderConfig];
  else if (/\.onnx$/i.test(modelPath)) candidates = [folderConfig];
  else return undefined;
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new MnemoError(
        "MODEL_INVALID",
        `${file} is not valid JSON. Fix or remove the model's config file.`,
      );
    }
    return parseModelConfig(json, file);
  }
  return undefined;
}

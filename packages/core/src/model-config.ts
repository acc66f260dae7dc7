/**
 * A model's mnemo settings, shipped beside its weights: a JSON file named like the GGUF
 * (`recall.gguf` → `recall.json`), or `model.json` in the model's folder (also for ONNX models).
 * Models trained for recall need their encoder settings to match their training (e.g.
 * `@mnemo/model-recall-demo`: `{ "trigger": "<recall>", "encoder": { "value": "hidden-state",
 * "keyTemplate": "{text}</s>", "valueVectors": 4, "valueFiller": "<pad>" } }`).
 */
import { type MemoryEncoderOptions, VALUE_STRATEGIES, type ValueStrategy } from "./encoder.js";
import { MnemoError } from "./errors.js";
import { readGgufMetadataString } from "./gguf-metadata.js";

/** What a model's config file may say. Every field is optional; unknown fields are refused. */
export interface ModelConfig {
  /** The model's name, for display. */
  name?: string;
  /** The recall trigger the model was trained with. */
  trigger?: string;
  /** How memories must be encoded for this model. */
  encoder?: MemoryEncoderOptions;
  /** Prompt template; `{question}` stands for the user's text. */
  prompt?: {
    /** The template; `{question}` stands for the user's text. */
    template?: string;
    /** Languages the model was trained on (BCP 47 tags such as `"zh"`, `"en"`), for display. */
    language?: string[];
  };
  /** Stop strings. */
  stop?: string[];
}

/**
 * Validates a parsed config file.
 * @param source the file, for messages
 * @param fix what the user should do, for messages
 * @throws MnemoError `MODEL_INVALID` when a field has the wrong type or an unknown value strategy
 */
export function parseModelConfig(
  json: unknown,
  source: string,
  fix = "Fix or remove the model's config file.",
): ModelConfig {
  const bad = (what: string): never => {
    throw new MnemoError("MODEL_INVALID", `${source}: ${what}. ${fix}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) bad("not a JSON object");
  const c = json as Record<string, unknown>;
  // A misspelt key would silently encode memories the wrong way: refuse it.
  const only = (obj: Record<string, unknown>, where: string, keys: string[]) => {
    const unknown = Object.keys(obj).filter((k) => !keys.includes(k));
    if (unknown.length > 0)
      bad(
        `unknown ${where}key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} (known: ${keys.join(", ")})`,
      );
  };
  only(c, "", ["name", "trigger", "encoder", "prompt", "stop"]);
  const out: ModelConfig = {};
  if (c.name !== undefined) {
    if (typeof c.name !== "string") bad('"name" must be a string');
    out.name = c.name as string;
  }
  if (c.trigger !== undefined) {
    if (typeof c.trigger !== "string" || c.trigger === "")
      bad('"trigger" must be a non-empty string');
    out.trigger = c.trigger as string;
  }
  if (c.encoder !== undefined) {
    const e = c.encoder as Record<string, unknown>;
    if (typeof e !== "object" || e === null || Array.isArray(e)) bad('"encoder" must be an object');
    only(e, "encoder ", ["value", "keyTemplate", "addBos", "valueVectors", "valueFiller"]);
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
    if (typeof p !== "object" || p === null || Array.isArray(p)) bad('"prompt" must be an object');
    only(p, "prompt ", ["template", "language"]);
    if (p.template !== undefined && typeof p.template !== "string")
      bad('"prompt.template" must be a string');
    if (
      p.language !== undefined &&
      (!Array.isArray(p.language) || p.language.some((l) => typeof l !== "string"))
    )
      bad('"prompt.language" must be an array of strings');
    out.prompt = {
      ...(p.template === undefined ? {} : { template: p.template as string }),
      ...(p.language === undefined ? {} : { language: p.language as string[] }),
    };
  }
  if (c.stop !== undefined) {
    if (!Array.isArray(c.stop) || c.stop.some((s) => typeof s !== "string"))
      bad('"stop" must be an array of strings');
    out.stop = c.stop as string[];
  }
  return out;
}

/**
 * The encoder options a model's config file asks for, when the user picks `value` (or nothing).
 * The config's `valueVectors` and `valueFiller` describe its own value strategy: they are dropped
 * when the user picks another one, so choosing e.g. `"mean-embedding"` for a recall-trained model
 * does not fail on settings the user never wrote.
 * @param encoder the config's `encoder` (may be `undefined`)
 * @param value the strategy the user chose, if any
 */
export function configEncoderOptions(
  encoder: MemoryEncoderOptions | undefined,
  value?: ValueStrategy,
): MemoryEncoderOptions {
  if (!encoder) return {};
  if (value === undefined || value === (encoder.value ?? "mean-embedding")) return { ...encoder };
  const { valueVectors: _vectors, valueFiller: _filler, ...rest } = encoder;
  return rest;
}

/**
 * A model config's prompt template with `{question}` replaced by the user's text, taken
 * literally (a `$&` or `$'` in the text stays as typed, unlike `String.replace` patterns).
 * @param template e.g. `"User: {question}\nAssistant: "` (`ModelConfig.prompt.template`)
 * @param question the user's text
 */
export function formatPrompt(template: string, question: string): string {
  return template.replaceAll("{question}", () => question);
}

/** GGUF metadata key under which a model file carries its own config (the JSON text). */
export const GGUF_CONFIG_KEY = "mnemo.model_json";

/**
 * Finds and reads the config of the model at `modelPath`. For a GGUF: `<name>.json` beside it,
 * else the JSON the file itself carries in its metadata under {@link GGUF_CONFIG_KEY} (so a GGUF
 * copied on its own still encodes memories the way it was trained to), else `model.json` in its
 * folder (a folder's generic file never overrides what the model file says about itself). For an
 * ONNX model: `model.json` in its folder (never `<name>.json`: `mnemo onnx prepare` writes its own
 * sidecars beside the model). `undefined` when there is none.
 * @throws MnemoError `MODEL_INVALID` when the file exists (or the GGUF's metadata holds a config)
 *   but is not a valid config
 */
export async function loadModelConfig(modelPath: string): Promise<ModelConfig | undefined> {
  const { dirname, join } = await import("node:path");
  const folderConfig = join(dirname(modelPath), "model.json");
  if (/\.onnx$/i.test(modelPath)) return readConfigFile(folderConfig);
  if (!/\.gguf$/i.test(modelPath)) return undefined;
  const own = await readConfigFile(modelPath.replace(/\.gguf$/i, ".json"));
  if (own) return own;
  const embedded = await readGgufMetadataString(modelPath, GGUF_CONFIG_KEY);
  if (embedded !== undefined)
    return parseConfigText(
      embedded,
      `${modelPath} (GGUF metadata ${GGUF_CONFIG_KEY})`,
      `Put a valid config file beside the model (${modelPath.replace(/\.gguf$/i, ".json")}): it takes precedence over the embedded one.`,
    );
  return readConfigFile(folderConfig);
}

/** A config file's parsed content; `undefined` when the file cannot be read (absent). */
async function readConfigFile(file: string): Promise<ModelConfig | undefined> {
  const { readFile, stat } = await import("node:fs/promises");
  let text: string;
  try {
    if (!(await stat(file)).isFile()) return undefined; // a FIFO would block the read
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  return parseConfigText(text, file);
}

/** JSON text → a validated config; MODEL_INVALID (with `fix` in the message) when it is not. */
function parseConfigText(text: string, source: string, fix?: string): ModelConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MnemoError(
      "MODEL_INVALID",
      `${source} is not valid JSON. ${fix ?? "Fix or remove the model's config file."}`,
    );
  }
  return parseModelConfig(json, source, fix);
}

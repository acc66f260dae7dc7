import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { MnemoError } from "@mnemo/core";

/** The model's tokenizer as the backend uses it. */
export interface ModelTokenizer {
  /** Text → ids; `addSpecial` adds the post-processor's special tokens (BOS). */
  encode(text: string, addSpecial: boolean): number[];
  /** The raw bytes of a token (not copied: do not modify). */
  bytes(id: number): Uint8Array;
  /** End-of-generation ids. */
  readonly eogTokens: readonly number[];
  /** BOS id, if the tokenizer has one. */
  readonly bosToken?: number;
}

interface TokenizerJson {
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  model?: {
    type?: string;
    vocab?: Record<string, number> | Array<[string, number]>;
    byte_fallback?: boolean;
  };
  decoder?: unknown;
}

interface TokenizerConfig {
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  add_bos_token?: boolean;
  mnemo_eog_token_ids?: number[];
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;
const SPM_SPACE = "\u2581";
const EOG_TEXTS = ["<end_of_turn>", "<|eot_id|>", "<|im_end|>", "<|endoftext|>", "</s>", "<eos>"];

/** Byte-level BPE (GPT-2) maps bytes to printable code points; this inverts that map. */
function byteLevelDecoder(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const m = new Map<string, number>();
  for (let i = 0; i < bs.length; i++) m.set(String.fromCodePoint(cs[i] as number), bs[i] as number);
  return m;
}

function tokenText(v: TokenizerConfig["bos_token"]): string | undefined {
  if (!v) return undefined;
  return typeof v === "string" ? v : v.content;
}

/**
 * Loads `tokenizer.json` (+ optional `tokenizer_config.json`) from `dir` with `@huggingface/tokenizers`.
 * Token bytes come from the vocabulary: SentencePiece-style pieces (`▁` = space, `<0xNN>` byte
 * fallback) or GPT-2 byte-level pieces, special tokens as their text.
 * @throws MnemoError `MODEL_INVALID` when the files are missing, unreadable or do not cover `vocabSize` ids
 */
export function loadTokenizer(dir: string, vocabSize: number): ModelTokenizer {
  let json: TokenizerJson;
  let config: TokenizerConfig = {};
  try {
    json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as TokenizerJson;
  } catch (cause) {
    throw new MnemoError(
      "MODEL_INVALID",
      `Cannot read ${join(dir, "tokenizer.json")}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  try {
    config = JSON.parse(
      readFileSync(join(dir, "tokenizer_config.json"), "utf8"),
    ) as TokenizerConfig;
  } catch {
    // optional
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (cause) {
    throw new MnemoError(
      "MODEL_INVALID",
      `tokenizer.json could not be loaded: ${(cause as Error).message}`,
      { cause },
    );
  }
  const pieces: string[] = new Array(vocabSize).fill("");
  const vocab = json.model?.vocab ?? {};
  const entries: Array<[string, number]> = Array.isArray(vocab)
    ? vocab.map(([p], i) => [p, i])
    : Object.entries(vocab);
  for (const [p, id] of entries) if (id >= 0 && id < vocabSize) pieces[id] = p;
  const special = new Set<number>();
  for (const a of json.added_tokens ?? []) {
    if (a.id >= 0 && a.id < vocabSize) {
      pieces[a.id] = a.content;
      special.add(a.id);
    }
  }
  const byteLevel = JSON.stringify(json.decoder ?? "").includes("ByteLevel");
  const blMap = byteLevel ? byteLevelDecoder() : undefined;
  const enc = new TextEncoder();
  const cache = new Map<number, Uint8Array>();
  const bytes = (id: number): Uint8Array => {
    let b = cache.get(id);
    if (b) return b;
    const p = pieces[id] ?? "";
    const m = BYTE_TOKEN.exec(p);
    if (special.has(id)) b = enc.encode(p);
    else if (m && !byteLevel) b = Uint8Array.of(Number.parseInt(m[1] as string, 16));
    else if (blMap) b = Uint8Array.from([...p].map((c) => blMap.get(c) ?? 0x3f));
    else b = enc.encode(p.replaceAll(SPM_SPACE, " "));
    cache.set(id, b);
    return b;
  };
  const idOf = (text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const id = tok.token_to_id(text);
    return id !== undefined && id < vocabSize ? id : undefined;
  };
  const bosToken = idOf(tokenText(config.bos_token));
  const eog = new Set<number>(config.mnemo_eog_token_ids ?? []);
  const eos = idOf(tokenText(config.eos_token));
  if (eos !== undefined) eog.add(eos);
  if (!config.mnemo_eog_token_ids) {
    for (const t of EOG_TEXTS) {
      const id = idOf(t);
      if (id !== undefined) eog.add(id);
    }
  }
  return {
    encode: (text, addSpecial) => tok.encode(text, { add_special_tokens: addSpecial }).ids,
    bytes,
    eogTokens: [...eog].sort((a, b) => a - b),
    ...(bosToken !== undefined ? { bosToken } : {}),
  };
}

// transformers.js (@huggingface/transformers) side of the decode-speed comparison: builds a model
// folder in transformers.js's layout from a standard-layout export (hard links, no copy) and
// generates greedily from it, timing every decode step.
import {
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

// transformers.js's "gemma3_text" feeds position_ids starting at 1 (the convention of Hugging Face's
// Gemma 3 ONNX exports); tools/gguf_to_onnx.py's graphs use 0-based positions like llama.cpp, so the
// Gemma 3 export is declared as "gemma" (same decoder handling, 0-based positions).
const MODEL_TYPES = { llama: "llama", gemma3: "gemma" };

/**
 * Makes `outDir` a transformers.js model folder for the standard-layout export `onnxPath`:
 * `onnx/model.onnx` (+ its external data under the name the protobuf references, e.g.
 * `model.onnx.data`; onnxruntime-node resolves it beside the model) hard-linked, and a
 * `config.json` / `generation_config.json` generated from the prepared sidecar `metaPath`.
 * No EOS is configured, so generation runs for exactly `max_new_tokens`.
 */
export function makeTransformersJsDir(onnxPath, metaPath, outDir) {
  const meta = JSON.parse(readFileSync(metaPath, "utf8"));
  const modelType = MODEL_TYPES[meta.architecture];
  if (!modelType) throw new Error(`no transformers.js model_type for ${meta.architecture}`);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, "onnx"), { recursive: true });
  const link = (from, to) => {
    try {
      linkSync(from, to);
    } catch {
      writeFileSync(to, readFileSync(from));
    }
  };
  link(onnxPath, join(outDir, "onnx", "model.onnx"));
  for (const ext of [".data", "_data"]) {
    const p = `${onnxPath}${ext}`;
    if (existsSync(p) && statSync(p).isFile()) link(p, join(outDir, "onnx", `model.onnx${ext}`));
  }
  const kv = meta.kv[0];
  const config = {
    architectures: [modelType === "llama" ? "LlamaForCausalLM" : "GemmaForCausalLM"],
    model_type: modelType,
    hidden_size: meta.embeddings.width,
    vocab_size: meta.embeddings.rows,
    num_hidden_layers: meta.kv.length,
    num_key_value_heads: kv.heads,
    head_dim: kv.headDim,
    max_position_embeddings: meta.maxPositions ?? 2048,
    "transformers.js_config": { dtype: "fp32" },
  };
  writeFileSync(join(outDir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(
    join(outDir, "generation_config.json"),
    `${JSON.stringify({ do_sample: false }, null, 2)}\n`,
  );
  return outDir;
}

/**
 * Loads `dir` with `AutoModelForCausalLM.from_pretrained(dir, { local_files_only: true })` (remote
 * models disabled) on onnxruntime-node's CPU provider with `threads` intra-op threads.
 */
export async function loadTransformersJs(dir, threads) {
  const tf = await import("@huggingface/transformers");
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.useFSCache = false;
  tf.env.useBrowserCache = false;
  const model = await tf.AutoModelForCausalLM.from_pretrained(dir, {
    local_files_only: true,
    dtype: "fp32",
    device: "cpu",
    session_options: {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    },
  });
  return { tf, model };
}

/**
 * Greedy generation of `n` tokens after `prompt` (token ids); returns the tokens and the time of
 * the `n - 1` decode steps after the first generated token (the prefill is excluded).
 */
export async function generateTransformersJs({ tf, model }, prompt, n) {
  const ids = new tf.Tensor("int64", BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]);
  const mask = new tf.Tensor("int64", new BigInt64Array(prompt.length).fill(1n), [
    1,
    prompt.length,
  ]);
  const times = [];
  const tokens = [];
  let first = true;
  const streamer = {
    put(value) {
      if (first) {
        first = false; // the prompt
        return;
      }
      times.push(performance.now());
      tokens.push(Number(value[0][0]));
    },
    end() {},
  };
  await model.generate({
    input_ids: ids,
    attention_mask: mask,
    max_new_tokens: n,
    do_sample: false,
    streamer,
  });
  return { tokens, decodeMs: times[times.length - 1] - times[0], steps: times.length - 1 };
}

/** Our backend, the same way: prefill `prompt`, then `n - 1` timed greedy decode steps. */
export async function generateOnnx(backend, prompt, n) {
  const s = await backend.createSequence({ contextSize: prompt.length + n + 1 });
  const argmax = (a) => {
    let best = 0;
    for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
    return best;
  };
  let r = await s.forwardTokens(prompt);
  const tokens = [argmax(r.logits)];
  const t0 = performance.now();
  for (let i = 1; i < n; i++) {
    r = await s.forwardTokens([tokens[tokens.length - 1]]);
    tokens.push(argmax(r.logits));
  }
  const decodeMs = performance.now() - t0;
  await s.dispose();
  return { tokens, decodeMs, steps: n - 1 };
}

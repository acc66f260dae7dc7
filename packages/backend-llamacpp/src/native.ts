/**
 * The FFI layer: loads llama.cpp's shared libraries shipped by `@node-llama-cpp/linux-x64` (and its
 * sibling platform packages) and binds the plain C API through koffi.
 *
 * Everything here mirrors `include/llama.h`, `ggml.h` and `gguf.h` of the llama.cpp release pinned
 * in {@link PINNED_LLAMA_CPP_RELEASE}. Struct layouts change between llama.cpp releases, so
 * {@link loadNative} checks them at start-up ({@link verifyAbi}) and throws `ABI_MISMATCH` rather
 * than corrupting memory.
 *
 * @internal
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { MnemoError } from "@mnemo/core";
import koffi from "koffi";

/** node-llama-cpp version whose prebuilt binaries this package was written against. */
export const PINNED_NODE_LLAMA_CPP = "3.21.1";
/** llama.cpp release of those binaries (from `bins/<platform>/_nlcBuildMetadata.json`). */
export const PINNED_LLAMA_CPP_RELEASE = "v0.4.0";

/** `sizeof` of the structs at the pinned release (x86-64/arm64 LP64). */
export const EXPECTED_SIZES = {
  llama_batch: 56,
  llama_model_params: 80,
  llama_context_params: 160,
} as const;

// ---- types -------------------------------------------------------------------------------------

/** `struct llama_batch`; pointer fields are raw addresses (bigint) of memory we own. */
const LlamaBatch = koffi.struct({
  n_tokens: "int32_t",
  token: "void *",
  embd: "void *",
  pos: "void *",
  n_seq_id: "void *",
  seq_id: "void *",
  logits: "void *",
});

/** `struct llama_model_params` (llama.cpp v0.4.0). */
const LlamaModelParams = koffi.struct({
  devices: "void *",
  tensor_buft_overrides: "void *",
  n_gpu_layers: "int32_t",
  split_mode: "int32_t",
  load_mode: "int32_t",
  lazy_mode: "int32_t",
  main_gpu: "int32_t",
  tensor_split: "void *",
  progress_callback: "void *",
  progress_callback_user_data: "void *",
  kv_overrides: "void *",
  vocab_only: "bool",
  check_tensors: "bool",
  use_extra_bufts: "bool",
  no_host: "bool",
  no_alloc: "bool",
  load_mtp: "bool",
});

/** `struct llama_context_params` (llama.cpp v0.4.0). */
const LlamaContextParams = koffi.struct({
  n_ctx: "uint32_t",
  n_batch: "uint32_t",
  n_ubatch: "uint32_t",
  n_seq_max: "uint32_t",
  n_rs_seq: "uint32_t",
  n_outputs_max: "uint32_t",
  n_outputs_max_per_seq: "uint32_t",
  n_threads: "int32_t",
  n_threads_batch: "int32_t",
  ctx_type: "int32_t",
  rope_scaling_type: "int32_t",
  pooling_type: "int32_t",
  attention_type: "int32_t",
  flash_attn_type: "int32_t",
  rope_freq_base: "float",
  rope_freq_scale: "float",
  yarn_ext_factor: "float",
  yarn_attn_factor: "float",
  yarn_beta_fast: "float",
  yarn_beta_slow: "float",
  yarn_orig_ctx: "uint32_t",
  defrag_thold: "float",
  cb_eval: "void *",
  cb_eval_user_data: "void *",
  type_k: "int32_t",
  type_v: "int32_t",
  abort_callback: "void *",
  abort_callback_data: "void *",
  embeddings: "bool",
  offload_kqv: "bool",
  no_perf: "bool",
  op_offload: "bool",
  swa_full: "bool",
  kv_unified: "bool",
  samplers: "void *",
  n_samplers: "size_t",
  ctx_other: "void *",
});

/** `struct gguf_init_params`. */
const GgufInitParams = koffi.struct({
  no_alloc: "bool",
  ctx: "void *",
});

/** `struct ggml_type_traits`. */
const GgmlTypeTraits = koffi.struct({
  type_name: "const char *",
  blck_size: "int64_t",
  blck_size_interleave: "int64_t",
  type_size: "size_t",
  is_quantized: "bool",
  to_float: "void *",
  from_float_ref: "void *",
});

/** `void (*ggml_to_float_t)(const void * x, float * y, int64_t k)`. */
const GgmlToFloat = koffi.proto("void", ["void *", "void *", "int64_t"]);

/** `void (*ggml_log_callback)(enum ggml_log_level level, const char * text, void * user_data)`. */
const GgmlLogCallback = koffi.proto("void", ["int", "const char *", "void *"]);

/** `LLAMA_POOLING_TYPE_NONE`. */
export const LLAMA_POOLING_TYPE_NONE = 0;
/** `GGML_TYPE_F32`. */
export const GGML_TYPE_F32 = 0;

/** JS shape of `struct llama_batch` as koffi decodes it. */
export interface NativeBatch {
  n_tokens: number;
  token: bigint | null;
  embd: bigint | null;
  pos: bigint | null;
  n_seq_id: bigint | null;
  seq_id: bigint | null;
  logits: bigint | null;
}

/** Opaque native handle (a pointer as koffi 3 represents it). */
export type Ptr = bigint;

/** A koffi function with its `.async` form. */
// biome-ignore lint/suspicious/noExplicitAny: koffi functions are untyped by nature.
type Fn = ((...args: any[]) => any) & { async: (...args: any[]) => void };

/** Every native function this package calls. */
export interface LlamaApi {
  binsDir: string;
  buildMetadata: unknown;
  llama_backend_init: Fn;
  ggml_backend_load_all_from_path: Fn;
  llama_log_set: Fn;
  llama_model_default_params: Fn;
  llama_context_default_params: Fn;
  llama_model_load_from_file: Fn;
  llama_model_free: Fn;
  llama_init_from_model: Fn;
  llama_free: Fn;
  llama_n_ctx: Fn;
  llama_n_batch: Fn;
  llama_batch_init: Fn;
  llama_batch_free: Fn;
  llama_decode: Fn;
  llama_get_logits_ith: Fn;
  llama_get_embeddings_ith: Fn;
  llama_set_embeddings: Fn;
  llama_get_memory: Fn;
  llama_memory_seq_rm: Fn;
  llama_memory_seq_pos_max: Fn;
  llama_model_get_vocab: Fn;
  llama_vocab_n_tokens: Fn;
  llama_vocab_bos: Fn;
  llama_vocab_is_eog: Fn;
  llama_vocab_get_add_bos: Fn;
  llama_model_n_embd: Fn;
  llama_model_n_ctx_train: Fn;
  llama_model_n_embd_inp: Fn;
  llama_model_n_embd_out: Fn;
  llama_model_meta_val_str: Fn;
  llama_model_has_encoder: Fn;
  llama_model_has_decoder: Fn;
  llama_tokenize: Fn;
  llama_token_to_piece: Fn;
  llama_detokenize: Fn;
  gguf_init_from_file: Fn;
  gguf_free: Fn;
  gguf_find_tensor: Fn;
  gguf_get_tensor_offset: Fn;
  gguf_get_data_offset: Fn;
  gguf_get_tensor_type: Fn;
  gguf_get_tensor_size: Fn;
  ggml_get_type_traits: Fn;
  ggml_row_size: Fn;
  /** Dequantizes `k` values of `type` at `src` into `dst` (ggml's own `to_float`). */
  toFloat(type: number, src: Uint8Array, dst: Float32Array, k: number): void;
  /**
   * Returns and forgets the llama.cpp/ggml log lines at WARN or ERROR level logged since the last
   * call (at most 20; used to explain failures).
   */
  takeErrors(): string[];
}

// ---- locating the binaries ---------------------------------------------------------------------

function platformPackage(): string {
  const arch = process.arch;
  if (process.platform === "linux")
    return `@node-llama-cpp/linux-${arch === "arm" ? "armv7l" : arch}`;
  if (process.platform === "darwin") return `@node-llama-cpp/mac-${arch}`;
  if (process.platform === "win32") return `@node-llama-cpp/win-${arch}`;
  return `@node-llama-cpp/${process.platform}-${arch}`;
}

/**
 * Finds the directory holding `libllama.*` through module resolution: this package → node-llama-cpp
 * → its prebuilt platform package → `bins/<platform-arch>/`.
 * @throws MnemoError `ABI_MISMATCH` when the binaries cannot be found
 */
export function resolveBinsDir(): string {
  const req = createRequire(import.meta.url);
  let nlcEntry: string;
  try {
    nlcEntry = req.resolve("node-llama-cpp");
  } catch (cause) {
    throw new MnemoError("ABI_MISMATCH", "Cannot resolve node-llama-cpp; install it (pnpm i).", {
      cause,
    });
  }
  const pkg = platformPackage();
  let entry: string;
  try {
    entry = createRequire(nlcEntry).resolve(pkg);
  } catch (cause) {
    throw new MnemoError(
      "ABI_MISMATCH",
      `Cannot resolve ${pkg} (node-llama-cpp's prebuilt binaries for this platform). ` +
        "Make sure optional dependencies were installed.",
      { cause, details: { package: pkg } },
    );
  }
  const platformDir = `${process.platform === "darwin" ? "mac" : process.platform === "win32" ? "win" : process.platform}-${process.arch === "arm" ? "armv7l" : process.arch}`;
  return join(dirname(entry), "..", "bins", platformDir);
}

function libName(base: string): string {
  if (process.platform === "darwin") return `${base}.dylib`;
  if (process.platform === "win32") return `${base.replace(/^lib/, "")}.dll`;
  return `${base}.so`;
}

// ---- ABI verification --------------------------------------------------------------------------

/**
 * Checks the struct layouts and the build metadata against the pinned release.
 *
 * 1. `koffi.sizeof` of our struct definitions equals {@link EXPECTED_SIZES}.
 * 2. `llama_model_default_params()` / `llama_context_default_params()` are called through their
 *    hidden return pointer (`sret`, how x86-64 returns structs this large; on other CPUs only the
 *    values are checked) into a 1 KiB buffer
 *    pre-filled with a sentinel: the library must write exactly within our struct size (nothing
 *    beyond), and the fields must hold the release's known defaults (e.g. `n_ctx = 512`,
 *    `n_batch = 2048`, `swa_full = true`).
 * 3. `_nlcBuildMetadata.json` names the pinned llama.cpp release.
 *
 * @throws MnemoError `ABI_MISMATCH` with the first difference found
 */
function verifyAbi(
  lib: ReturnType<typeof koffi.load>,
  binsDir: string,
): {
  metadata: unknown;
  modelDefaults: Record<string, unknown>;
  ctxDefaults: Record<string, unknown>;
} {
  const fail = (what: string, details: Record<string, unknown> = {}): never => {
    throw new MnemoError(
      "ABI_MISMATCH",
      `llama.cpp ABI check failed: ${what}. @mnemo/backend-llamacpp was written for node-llama-cpp ` +
        `${PINNED_NODE_LLAMA_CPP} (llama.cpp ${PINNED_LLAMA_CPP_RELEASE}); install that exact version.`,
      { details: { binsDir, ...details } },
    );
  };
  const sizes = {
    llama_batch: koffi.sizeof(LlamaBatch),
    llama_model_params: koffi.sizeof(LlamaModelParams),
    llama_context_params: koffi.sizeof(LlamaContextParams),
  };
  for (const [k, v] of Object.entries(EXPECTED_SIZES)) {
    if (sizes[k as keyof typeof sizes] !== v)
      fail(`sizeof(${k}) is ${sizes[k as keyof typeof sizes]}, expected ${v}`);
  }

  let metadata: unknown;
  try {
    metadata = JSON.parse(readFileSync(join(binsDir, "_nlcBuildMetadata.json"), "utf8"));
  } catch (cause) {
    fail("cannot read _nlcBuildMetadata.json beside the binaries", { cause: String(cause) });
  }
  const release = (metadata as { buildOptions?: { llamaCpp?: { release?: unknown } } })
    ?.buildOptions?.llamaCpp?.release;
  if (release !== PINNED_LLAMA_CPP_RELEASE) {
    fail(`the binaries are llama.cpp ${String(release)}, expected ${PINNED_LLAMA_CPP_RELEASE}`, {
      release,
    });
  }

  // Probe the real struct size: call through the sret pointer into an oversized sentinel buffer.
  const probe = (name: string, size: number): Buffer => {
    const fn = lib.func(name, "void *", ["void *"]);
    const buf = Buffer.alloc(1024, 0xa5);
    fn(buf);
    for (let i = size; i < buf.length; i++) {
      if (buf[i] !== 0xa5) fail(`${name}() wrote beyond ${size} bytes (byte ${i} changed)`);
    }
    return buf;
  };
  let modelDefaults: Record<string, unknown>;
  let ctxDefaults: Record<string, unknown>;
  if (process.arch === "x64") {
    // x86-64 (SysV and Windows) passes the hidden return pointer as the first argument.
    const mbuf = probe("llama_model_default_params", EXPECTED_SIZES.llama_model_params);
    const cbuf = probe("llama_context_default_params", EXPECTED_SIZES.llama_context_params);
    modelDefaults = koffi.decode(mbuf, LlamaModelParams) as Record<string, unknown>;
    ctxDefaults = koffi.decode(cbuf, LlamaContextParams) as Record<string, unknown>;
  } else {
    // elsewhere (arm64 passes it in x8) only the field values can be checked
    modelDefaults = lib.func("llama_model_default_params", LlamaModelParams, [])() as Record<
      string,
      unknown
    >;
    ctxDefaults = lib.func("llama_context_default_params", LlamaContextParams, [])() as Record<
      string,
      unknown
    >;
  }
  const expectModel: Record<string, unknown> = {
    n_gpu_layers: -1,
    split_mode: 1,
    load_mode: -1,
    lazy_mode: 1,
    main_gpu: 0,
    vocab_only: false,
    check_tensors: false,
    use_extra_bufts: true,
    no_host: false,
    no_alloc: false,
    load_mtp: false,
  };
  const expectCtx: Record<string, unknown> = {
    n_ctx: 512,
    n_batch: 2048,
    n_ubatch: 512,
    n_seq_max: 1,
    n_rs_seq: 0,
    n_outputs_max: 0,
    n_outputs_max_per_seq: 1,
    ctx_type: 0,
    rope_scaling_type: -1,
    pooling_type: -1,
    attention_type: -1,
    flash_attn_type: -1,
    rope_freq_base: 0,
    yarn_ext_factor: -1,
    defrag_thold: -1,
    type_k: 1,
    type_v: 1,
    embeddings: false,
    offload_kqv: true,
    no_perf: true,
    op_offload: true,
    swa_full: true,
    kv_unified: false,
    n_samplers: 0,
  };
  for (const [k, v] of Object.entries(expectModel)) {
    if (modelDefaults[k] !== v)
      fail(
        `llama_model_default_params().${k} is ${String(modelDefaults[k])}, expected ${String(v)}`,
      );
  }
  for (const [k, v] of Object.entries(expectCtx)) {
    const actual = ctxDefaults[k];
    const same = typeof actual === "bigint" ? actual === BigInt(v as number) : actual === v;
    if (!same)
      fail(`llama_context_default_params().${k} is ${String(actual)}, expected ${String(v)}`);
  }
  for (const k of ["devices", "tensor_buft_overrides", "tensor_split", "kv_overrides"]) {
    if (modelDefaults[k] !== null && modelDefaults[k] !== 0n)
      fail(`llama_model_default_params().${k} is not NULL`);
  }
  return { metadata, modelDefaults, ctxDefaults };
}

// ---- loading -----------------------------------------------------------------------------------

let cached: LlamaApi | undefined;

/**
 * Loads and binds the native libraries once per process, loads ggml's backends
 * (`ggml_backend_load_all_from_path`) and verifies the ABI.
 * @throws MnemoError `ABI_MISMATCH` if the libraries are missing, lack a symbol, or differ in layout
 */
export function loadNative(): LlamaApi {
  if (cached) return cached;
  const binsDir = resolveBinsDir();
  let llama: ReturnType<typeof koffi.load>;
  let ggmlBase: ReturnType<typeof koffi.load>;
  let ggml: ReturnType<typeof koffi.load>;
  try {
    ggmlBase = koffi.load(join(binsDir, libName("libggml-base")));
    ggml = koffi.load(join(binsDir, libName("libggml.v0.4.0")));
    llama = koffi.load(join(binsDir, libName("libllama.v0.4.0")));
  } catch (cause) {
    throw new MnemoError(
      "ABI_MISMATCH",
      `Cannot load llama.cpp's shared libraries from ${binsDir}: ${String(cause)}`,
      { cause, details: { binsDir } },
    );
  }

  const { metadata } = verifyAbi(llama, binsDir);

  const recent: string[] = [];
  let pendingLevel = 0;
  const verbose = process.env.MNEMO_LLAMA_LOG === "1";
  let api: LlamaApi;
  try {
    const f = (
      lib: ReturnType<typeof koffi.load>,
      name: string,
      ret: unknown,
      args: unknown[],
    ): Fn => lib.func(name, ret as never, args as never[]) as Fn;
    const fns = {
      llama_backend_init: f(llama, "llama_backend_init", "void", []),
      ggml_backend_load_all_from_path: f(ggml, "ggml_backend_load_all_from_path", "void", [
        "const char *",
      ]),
      llama_log_set: f(llama, "llama_log_set", "void", [koffi.pointer(GgmlLogCallback), "void *"]),
      llama_model_default_params: f(llama, "llama_model_default_params", LlamaModelParams, []),
      llama_context_default_params: f(
        llama,
        "llama_context_default_params",
        LlamaContextParams,
        [],
      ),
      llama_model_load_from_file: f(llama, "llama_model_load_from_file", "void *", [
        "const char *",
        LlamaModelParams,
      ]),
      llama_model_free: f(llama, "llama_model_free", "void", ["void *"]),
      llama_init_from_model: f(llama, "llama_init_from_model", "void *", [
        "void *",
        LlamaContextParams,
      ]),
      llama_free: f(llama, "llama_free", "void", ["void *"]),
      llama_n_ctx: f(llama, "llama_n_ctx", "uint32_t", ["void *"]),
      llama_n_batch: f(llama, "llama_n_batch", "uint32_t", ["void *"]),
      llama_batch_init: f(llama, "llama_batch_init", LlamaBatch, ["int32_t", "int32_t", "int32_t"]),
      llama_batch_free: f(llama, "llama_batch_free", "void", [LlamaBatch]),
      llama_decode: f(llama, "llama_decode", "int32_t", ["void *", LlamaBatch]),
      llama_get_logits_ith: f(llama, "llama_get_logits_ith", "void *", ["void *", "int32_t"]),
      llama_get_embeddings_ith: f(llama, "llama_get_embeddings_ith", "void *", [
        "void *",
        "int32_t",
      ]),
      llama_set_embeddings: f(llama, "llama_set_embeddings", "void", ["void *", "bool"]),
      llama_get_memory: f(llama, "llama_get_memory", "void *", ["void *"]),
      llama_memory_seq_rm: f(llama, "llama_memory_seq_rm", "bool", [
        "void *",
        "int32_t",
        "int32_t",
        "int32_t",
      ]),
      llama_memory_seq_pos_max: f(llama, "llama_memory_seq_pos_max", "int32_t", [
        "void *",
        "int32_t",
      ]),
      llama_model_get_vocab: f(llama, "llama_model_get_vocab", "void *", ["void *"]),
      llama_vocab_n_tokens: f(llama, "llama_vocab_n_tokens", "int32_t", ["void *"]),
      llama_vocab_bos: f(llama, "llama_vocab_bos", "int32_t", ["void *"]),
      llama_vocab_is_eog: f(llama, "llama_vocab_is_eog", "bool", ["void *", "int32_t"]),
      llama_vocab_get_add_bos: f(llama, "llama_vocab_get_add_bos", "bool", ["void *"]),
      llama_model_n_embd: f(llama, "llama_model_n_embd", "int32_t", ["void *"]),
      llama_model_n_ctx_train: f(llama, "llama_model_n_ctx_train", "int32_t", ["void *"]),
      llama_model_n_embd_out: f(llama, "llama_model_n_embd_out", "int32_t", ["void *"]),
      llama_model_n_embd_inp: f(llama, "llama_model_n_embd_inp", "int32_t", ["void *"]),
      llama_model_meta_val_str: f(llama, "llama_model_meta_val_str", "int32_t", [
        "void *",
        "const char *",
        "void *",
        "size_t",
      ]),
      llama_model_has_encoder: f(llama, "llama_model_has_encoder", "bool", ["void *"]),
      llama_model_has_decoder: f(llama, "llama_model_has_decoder", "bool", ["void *"]),
      llama_tokenize: f(llama, "llama_tokenize", "int32_t", [
        "void *",
        "void *",
        "int32_t",
        "void *",
        "int32_t",
        "bool",
        "bool",
      ]),
      llama_token_to_piece: f(llama, "llama_token_to_piece", "int32_t", [
        "void *",
        "int32_t",
        "void *",
        "int32_t",
        "int32_t",
        "bool",
      ]),
      llama_detokenize: f(llama, "llama_detokenize", "int32_t", [
        "void *",
        "void *",
        "int32_t",
        "void *",
        "int32_t",
        "bool",
        "bool",
      ]),
      gguf_init_from_file: f(ggmlBase, "gguf_init_from_file", "void *", [
        "const char *",
        GgufInitParams,
      ]),
      gguf_free: f(ggmlBase, "gguf_free", "void", ["void *"]),
      gguf_find_tensor: f(ggmlBase, "gguf_find_tensor", "int64_t", ["void *", "const char *"]),
      gguf_get_tensor_offset: f(ggmlBase, "gguf_get_tensor_offset", "size_t", [
        "void *",
        "int64_t",
      ]),
      gguf_get_data_offset: f(ggmlBase, "gguf_get_data_offset", "size_t", ["void *"]),
      gguf_get_tensor_type: f(ggmlBase, "gguf_get_tensor_type", "int32_t", ["void *", "int64_t"]),
      gguf_get_tensor_size: f(ggmlBase, "gguf_get_tensor_size", "size_t", ["void *", "int64_t"]),
      ggml_get_type_traits: f(ggmlBase, "ggml_get_type_traits", "void *", ["int32_t"]),
      ggml_row_size: f(ggmlBase, "ggml_row_size", "size_t", ["int32_t", "int64_t"]),
    };
    const toFloatFns = new Map<number, Fn | null>();
    api = {
      ...fns,
      binsDir,
      buildMetadata: metadata,
      takeErrors: () => recent.splice(0, recent.length),
      toFloat(type, src, dst, k) {
        let fn = toFloatFns.get(type);
        if (fn === undefined) {
          const ptr = fns.ggml_get_type_traits(type) as bigint | null;
          const traits = ptr
            ? (koffi.decode(ptr, GgmlTypeTraits) as { to_float: bigint | null })
            : null;
          fn = traits?.to_float ? (koffi.decode(traits.to_float, GgmlToFloat) as Fn) : null;
          toFloatFns.set(type, fn);
        }
        if (!fn) {
          throw new MnemoError(
            "MODEL_INVALID",
            `ggml has no dequantizer for tensor type ${type}.`,
            {
              details: { type },
            },
          );
        }
        fn(src, dst, k);
      },
    };
  } catch (cause) {
    if (cause instanceof MnemoError) throw cause;
    throw new MnemoError(
      "ABI_MISMATCH",
      `llama.cpp's libraries in ${binsDir} lack a function this package needs: ${String(cause)}`,
      { cause, details: { binsDir } },
    );
  }

  // Route llama.cpp/ggml logging through JS: keep WARN/ERROR lines for error messages, print
  // everything only when MNEMO_LLAMA_LOG=1. The callback stays registered for the process lifetime.
  const logCb = koffi.register((level: number, text: string | null) => {
    const lvl = level === 5 ? pendingLevel : level;
    pendingLevel = lvl;
    if (verbose) process.stderr.write(text ?? "");
    if (lvl >= 3 && text) {
      recent.push(text.trimEnd());
      if (recent.length > 20) recent.shift();
    }
  }, koffi.pointer(GgmlLogCallback));
  api.llama_log_set(logCb, null);
  api.llama_backend_init();
  api.ggml_backend_load_all_from_path(binsDir);
  cached = api;
  return api;
}

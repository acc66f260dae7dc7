#!/usr/bin/env node
import { isMnemoError, MnemoError, VALUE_STRATEGIES } from "@mnemo/core";
/**
 * `mnemo` — generation with latent memory recall, and the memory bank it recalls from.
 *
 *   mnemo generate --prompt "让我回忆一下<recall>"       stream text, then the recall trace
 *   mnemo memory add|import|list|delete|search          manage memories
 *   mnemo demo [--recall-model]                        the seed's scenario on a small bank
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { runDemo } from "./demo.js";
import { runGenerate } from "./generate.js";
import { memoryAdd, memoryDelete, memoryImport, memoryList, memorySearch } from "./memory.js";

// A reader that goes away (`mnemo demo | head`) is not an error. Exiting at once would deadlock a
// native engine caught mid-decode (measured: even process.exit hangs), so write nothing more and
// let the command finish and free the engine as usual.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.stdout.write = (() => true) as typeof process.stdout.write;
});

const number = (value: string): number => {
  const n = Number(value);
  if (value.trim() === "" || Number.isNaN(n)) throw new InvalidArgumentError("must be a number");
  return n;
};
const integer = (value: string): number => {
  // Plain decimal digits only: Number() would also take "1e1" or "0x4".
  if (!/^[+-]?\d+$/.test(value.trim())) throw new InvalidArgumentError("must be an integer");
  return Number(value);
};
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function withModel(cmd: Command): Command {
  return cmd
    .option(
      "-m, --model <path>",
      "GGUF model file (default: Gemma 3 270M installed by setup, or $MNEMO_MODEL)",
    )
    .option("--threads <n>", "CPU threads for llama.cpp", integer)
    .option("--context-size <tokens>", "context size in tokens", integer);
}

function withStore(cmd: Command): Command {
  return withModel(cmd).option(
    "-s, --store <dir>",
    "memory store folder (default: <mnemo home>/stores/<model name>, or $MNEMO_STORE)",
  );
}

/** Options of the memory encoder: how keys and values are made from text (add, import, search). */
function withEncoder(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--value <strategy>",
        "how memory values are made (default: the model's config file, else mean-embedding; see README)",
      ).choices(VALUE_STRATEGIES as string[]),
    )
    .option(
      "--key-template <text>",
      'text whose last hidden state is the key; "{text}" = the memory (default: the model\'s config file, else "{text}")',
    )
    .option(
      "--value-vectors <n>",
      "vectors per memory value with --value hidden-state (default: the model's config file, else 1)",
      integer,
    )
    .option(
      "--value-filler <token>",
      'with --value-vectors > 1: the one token fed after the memory for each further vector, e.g. "<pad>" (default: the model\'s config file)',
    );
}

const program = new Command()
  .name("mnemo")
  .description(
    "Generation with latent memory recall: on <recall>, the hidden state searches memories and one is injected as an embedding.",
  )
  .version("0.1.0")
  .showHelpAfterError("(run with --help for usage)")
  // Commander's own usage errors in mnemo's error format.
  .configureOutput({
    outputError: (text, write) =>
      write(`mnemo: error [INVALID_OPTION]: ${text.replace(/^error: /, "")}`),
  });

withStore(
  program
    .command("generate")
    .description(
      "generate text from a prompt; a memory is recalled whenever the last input token completes the trigger (at the end of the prompt, or generated)",
    )
    .option("-p, --prompt <text>", "the prompt (special tokens such as <recall> are parsed)")
    .option(
      "-q, --question <text>",
      "instead of --prompt: the user's text, put into the model's prompt template (models whose config has one, e.g. the recall demo model) with its stop strings",
    )
    .option("-n, --max-tokens <n>", "maximum tokens to generate", integer, 128)
    .option("-t, --temperature <t>", "token temperature (0 = greedy)", number)
    .option("--top-k <k>", "token top-k (0 = off)", integer)
    .option("--top-p <p>", "token top-p", number)
    .option("--min-p <p>", "token min-p", number)
    .option("--repeat-penalty <r>", "repetition penalty (1 = off)", number)
    .option("--seed <n>", "random seed", integer)
    .option("--stop <text>", "stop string (repeatable)", collect)
    .option("--trigger <text>", "recall trigger text", "<recall>")
    .option("--namespace <ns>", "memory namespace searched", "default")
    .option("--recall-top-k <k>", "candidates per recall", integer)
    .option("--recall-temperature <t>", "temperature over candidate scores (0 = best)", number)
    .option("--recall-top-p <p>", "top-p over candidates", number)
    .option("--min-score <s>", "ignore candidates below this cosine similarity", number)
    .option("--max-recalls <n>", "maximum injections per generation", integer)
    .option("--no-recall", "generate without recall")
    .option("--json", "print one JSON object (text, injections, usage) instead of streaming"),
).action(runGenerate);

const memory = program.command("memory").description("manage the memory bank");
withEncoder(
  withStore(
    memory
      .command("add")
      .description("add one memory from text")
      .argument("<text>", "the memory text")
      .option("--id <id>", "memory id (default: derived from namespace + text)")
      .option("--namespace <ns>", "namespace", "default")
      .option("--metadata <json>", "metadata as a JSON object"),
  ),
).action(memoryAdd);
withEncoder(
  withStore(
    memory
      .command("import")
      .description("import memories from a JSONL file of {id?, text, namespace?, metadata?}")
      .argument("<file>", "JSONL file"),
  ),
).action(memoryImport);
withStore(
  memory
    .command("list")
    .description("list memories")
    .option("--namespace <ns>", "namespace (default: all)")
    .option("--limit <n>", "how many", integer, 50)
    .option("--json", "JSON output"),
).action(memoryList);
withStore(
  memory
    .command("delete")
    .description("delete memories by id")
    .argument("<ids...>", "memory ids")
    .option("--namespace <ns>", "namespace", "default"),
).action(memoryDelete);
withEncoder(
  withStore(
    memory
      .command("search")
      .description("search memories with a text (encoded like a key)")
      .argument("<text>", "query text")
      .option("-k, --top-k <k>", "results", integer, 5)
      .option("--namespace <ns>", "namespace", "default")
      .option("--json", "JSON output"),
  ),
).action(memorySearch);

withModel(
  program
    .command("demo")
    .description(
      "build a small memory bank (Chinese and English personal facts) and run the seed's scenario",
    )
    .option("--seed <n>", "random seed", integer, 7)
    .option(
      "-n, --max-tokens <n>",
      "tokens to generate per prompt (default 32; 96 with --recall-model)",
      integer,
    )
    .option("--json", "JSON output")
    .option(
      "--recall-model",
      "run on mnemo's recall demo model (@mnemo/model-recall-demo, trained to write <recall> and read one vector) instead of Gemma 3 270M",
    )
    .addOption(
      new Option(
        "--value <strategy>",
        "how memory values are made (Gemma; ignored with --recall-model)",
      )
        .choices(VALUE_STRATEGIES as string[])
        .default("mean-embedding"),
    )
    .option(
      "--value-vectors <n>",
      "with --recall-model: vectors per memory (default 1, the seed's one vector; the model reads up to 8)",
      integer,
    ),
).action(runDemo);

const onnx = program.command("onnx").description("ONNX models for @mnemo/backend-onnx");
onnx
  .command("prepare")
  .description(
    "rewrite a standard ONNX decoder export (input_ids → logits) to take inputs_embeds and also output last_hidden_state",
  )
  .argument("<in>", "standard export (model.onnx)")
  .argument("<out>", "prepared model to write (plus OUT.embed.bin and OUT.mnemo.json)")
  .option("--all-logits", "keep logits for every position (default: the last one only)")
  .action(async (input: string, output: string, options: { allLogits?: boolean }) => {
    const { prepareOnnxModel } = await loadOnnxBackend();
    const r = prepareOnnxModel(input, output, { lastLogitsOnly: !options.allLogits });
    console.log(`prepared ${r.modelPath} (sidecar ${r.metaPath}, embeddings ${r.embeddingsPath})`);
  });

/** `@mnemo/backend-onnx` is optional (onnxruntime is large): loaded only for `mnemo onnx`. */
async function loadOnnxBackend(): Promise<typeof import("@mnemo/backend-onnx")> {
  try {
    return await import("@mnemo/backend-onnx");
  } catch (error) {
    throw new MnemoError(
      "INVALID_OPTION",
      "`mnemo onnx` needs the optional package @mnemo/backend-onnx: install it next to @mnemo/cli.",
      { cause: error },
    );
  }
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (isMnemoError(error)) {
    process.stderr.write(`mnemo: error [${error.code}]: ${error.message}\n`);
  } else {
    process.stderr.write(`mnemo: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exitCode = 1;
}

/** `mnemo generate`: stream a generation with recall, then print the recall trace. */
import {
  formatPrompt,
  type GenerationEvent,
  generate,
  type MemoryStore,
  MnemoError,
  type SamplingOptions,
} from "@mnemo/core";
import { openSession, type StoreOptions } from "./context.js";
import { paint, traceTable } from "./format.js";

/** Options of `mnemo generate` as commander parses them. */
export interface GenerateCommandOptions extends StoreOptions {
  /** The raw prompt (exactly one of `prompt` and `question`). */
  prompt?: string;
  /** The user's text, put into the model config's prompt template. */
  question?: string;
  maxTokens: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  seed?: number;
  stop?: string[];
  trigger: string;
  namespace: string;
  recallTopK?: number;
  recallTemperature?: number;
  recallTopP?: number;
  minScore?: number;
  maxRecalls?: number;
  recall: boolean;
  json?: boolean;
}

/**
 * Warns on stderr when the recall namespace holds no memories: every `<recall>` would then inject
 * nothing (a mistyped `--namespace` is the usual cause), and some models answer anyway. Names the
 * store and the namespaces it does hold. Plain text, no colour (stderr is often a log file). Call
 * it after `generate()` has validated the namespace (a malformed one is its `INVALID_OPTION`).
 */
async function warnIfNamespaceEmpty(
  store: MemoryStore,
  storePath: string,
  namespace: string,
): Promise<void> {
  if ((await store.count(namespace)) > 0) return;
  const held = (await store.namespaces()).filter((n) => n !== namespace);
  const others =
    held.length === 0 ? "" : `; it has ${held.map((n) => JSON.stringify(n)).join(", ")}`;
  const ns = JSON.stringify(namespace);
  process.stderr.write(
    `warning: namespace ${ns} holds no memories in store ${storePath}${others}. A <recall> will inject nothing: pick a namespace with --namespace, add memories with \`mnemo memory add --namespace ${ns}\` (same --model and --store), or pass --no-recall.\n`,
  );
}

export async function runGenerate(options: GenerateCommandOptions): Promise<void> {
  if ((options.prompt === undefined) === (options.question === undefined))
    throw new MnemoError(
      "INVALID_OPTION",
      "Give the prompt with --prompt (as the model sees it) or --question (the user's text, put into the model's prompt template): one of them.",
    );
  const session = await openSession(options, "if-exists");
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  try {
    let prompt = options.prompt ?? "";
    let stop = options.stop;
    if (options.question !== undefined) {
      const template = session.config?.prompt?.template;
      if (template === undefined)
        throw new MnemoError(
          "INVALID_OPTION",
          `${session.modelPath} has no prompt template in its config (<model>.json, model.json or the GGUF's mnemo.model_json): write the whole prompt with --prompt.`,
        );
      prompt = formatPrompt(template, options.question);
      // The config's stop strings belong to its prompt format; --stop still overrides them.
      stop ??= session.config?.stop;
    }
    const sampling: SamplingOptions = {
      temperature: options.temperature,
      topK: options.topK,
      topP: options.topP,
      minP: options.minP,
      repetitionPenalty: options.repeatPenalty,
    };
    const events = generate({
      backend: session.backend,
      store: session.store,
      prompt,
      maxTokens: options.maxTokens,
      sampling,
      signal: controller.signal,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(stop ? { stop } : {}),
      recall: options.recall
        ? {
            trigger: options.trigger,
            namespace: options.namespace,
            topK: options.recallTopK,
            temperature: options.recallTemperature,
            topP: options.recallTopP,
            minScore: options.minScore,
            maxRecalls: options.maxRecalls,
          }
        : false,
    });
    // after generate(), which validates the options (a malformed namespace is its INVALID_OPTION)
    if (options.recall)
      await warnIfNamespaceEmpty(session.store, session.storePath, options.namespace);
    let finish: Extract<GenerationEvent, { type: "finish" }> | undefined;
    const skipped: { position: number; reason: string }[] = [];
    if (!options.json) process.stdout.write(prompt);
    for await (const event of events) {
      if (event.type === "error") {
        // The prompt was echoed without a newline: end the line before the error is printed.
        if (!options.json) process.stdout.write("\n");
        throw event.error;
      }
      if (event.type === "recall-skipped")
        skipped.push({ position: event.position, reason: event.reason });
      if (options.json) {
        if (event.type === "finish") finish = event;
        continue;
      }
      if (event.type === "token" || event.type === "text") process.stdout.write(event.text);
      else if (event.type === "memory-injected") process.stdout.write(paint("35", "⟨memory⟩"));
      else if (event.type === "recall-skipped")
        process.stdout.write(paint("33", `⟨no memory: ${event.reason}⟩`));
      else if (event.type === "finish") finish = event;
    }
    if (!finish) return;
    // Interrupted (Ctrl-C): the usual 128 + SIGINT status, after the partial output and trace.
    if (finish.finishReason === "aborted") process.exitCode = 130;
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ prompt, text: finish.text, finishReason: finish.finishReason, injections: finish.injections, recallsSkipped: skipped, usage: finish.usage }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(
        `\n\n[${finish.finishReason}; ${finish.usage.promptTokens} prompt tokens, ${finish.usage.completionTokens} generated]\n`,
      );
      process.stdout.write(`${traceTable(finish.injections)}\n`);
    }
  } finally {
    process.off("SIGINT", onSigint);
    await session.close();
  }
}

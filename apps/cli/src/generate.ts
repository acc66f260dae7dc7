/** `mnemo generate`: stream a generation with recall, then print the recall trace. */
import { type GenerationEvent, generate, type SamplingOptions } from "@mnemo/core";
import { openSession, type StoreOptions } from "./context.js";
import { traceTable } from "./format.js";

/** Options of `mnemo generate` as commander parses them. */
export interface GenerateCommandOptions extends StoreOptions {
  prompt: string;
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

export async function runGenerate(options: GenerateCommandOptions): Promise<void> {
  const session = await openSession(options);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  try {
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
      prompt: options.prompt,
      maxTokens: options.maxTokens,
      sampling,
      signal: controller.signal,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.stop ? { stop: options.stop } : {}),
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
    let finish: Extract<GenerationEvent, { type: "finish" }> | undefined;
    if (!options.json) process.stdout.write(options.prompt);
    for await (const event of events) {
      if (event.type === "error") throw event.error;
      if (options.json) {
        if (event.type === "finish") finish = event;
        continue;
      }
      if (event.type === "token" || event.type === "text") process.stdout.write(event.text);
      else if (event.type === "memory-injected") process.stdout.write("\x1b[35m⟨memory⟩\x1b[0m");
      else if (event.type === "recall-skipped")
        process.stdout.write(`\x1b[33m⟨no memory: ${event.reason}⟩\x1b[0m`);
      else if (event.type === "finish") finish = event;
    }
    if (!finish) return;
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ prompt: options.prompt, text: finish.text, finishReason: finish.finishReason, injections: finish.injections, usage: finish.usage }, null, 2)}\n`,
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

import { Template } from "@huggingface/jinja";
import { MnemoError } from "@mnemo/core";

/** One chat message for {@link applyChatTemplate}. */
export interface ChatMessage {
  /** `"system"`, `"user"`, `"assistant"` (or any role the template knows). */
  role: string;
  /** The message text. */
  content: string;
}

/** Special-token strings and switches passed to a chat template. */
export interface ChatTemplateOptions {
  /** BOS text (`bos_token` in the template), e.g. `"<bos>"`. */
  bosToken?: string;
  /** EOS text (`eos_token` in the template). */
  eosToken?: string;
  /** Whether to open an assistant turn at the end (`add_generation_prompt`). Default `true`. */
  addGenerationPrompt?: boolean;
  /** Extra variables for the template (they do not override the ones above). */
  variables?: Record<string, unknown>;
}

/**
 * Renders `messages` with a Hugging Face chat template (the `chat_template` of
 * `tokenizer_config.json`, Jinja) using `@huggingface/jinja`, with the variables templates expect:
 * `messages`, `bos_token`, `eos_token` and `add_generation_prompt` (`raise_exception` is built in). The result is
 * text: tokenize it without adding special tokens (the template usually writes the BOS itself).
 *
 * @param messages the conversation
 * @param template the Jinja template string
 * @param options special tokens and `addGenerationPrompt` (default `true`)
 * @throws MnemoError `INVALID_INPUT` for a malformed message list, `MODEL_INVALID` when the template
 *   does not parse or raises (its message is included)
 */
export function applyChatTemplate(
  messages: readonly ChatMessage[],
  template: string,
  options: ChatTemplateOptions = {},
): string {
  if (
    !Array.isArray(messages) ||
    messages.some(
      (m) =>
        typeof m !== "object" ||
        m === null ||
        typeof m.role !== "string" ||
        typeof m.content !== "string",
    )
  ) {
    throw new MnemoError(
      "INVALID_INPUT",
      "applyChatTemplate needs an array of { role: string, content: string } messages.",
    );
  }
  if (typeof template !== "string" || template.length === 0) {
    throw new MnemoError("INVALID_INPUT", "applyChatTemplate needs a non-empty template string.");
  }
  let parsed: Template;
  try {
    parsed = new Template(template);
  } catch (cause) {
    throw new MnemoError(
      "MODEL_INVALID",
      `The chat template does not parse: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  try {
    return parsed.render({
      ...options.variables,
      messages: messages.map((m) => ({ ...m })),
      bos_token: options.bosToken ?? "",
      eos_token: options.eosToken ?? "",
      add_generation_prompt: options.addGenerationPrompt ?? true,
    });
  } catch (cause) {
    throw new MnemoError("MODEL_INVALID", `The chat template failed: ${(cause as Error).message}`, {
      cause,
    });
  }
}

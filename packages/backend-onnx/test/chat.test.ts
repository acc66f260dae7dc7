import { describe, expect, it } from "vitest";
import { applyChatTemplate } from "../src/index.js";

// Gemma 3's chat template (tokenizer_config.json of google/gemma-3-270m-it), as shipped.
const GEMMA3 =
  "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- if messages[0]['content'] is string -%}\n        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n    {%- else -%}\n        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n    {%- endif -%}\n    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_user_prefix = \"\" -%}\n    {%- set loop_messages = messages -%}\n{%- endif -%}\n{%- for message in loop_messages -%}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n    {%- endif -%}\n    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \"model\" -%}\n    {%- else -%}\n        {%- set role = message['role'] -%}\n    {%- endif -%}\n    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n    {%- if message['content'] is string -%}\n        {{ message['content'] | trim }}\n    {%- elif message['content'] is iterable -%}\n        {%- for item in message['content'] -%}\n            {%- if item['type'] == 'image' -%}\n                {{ '<start_of_image>' }}\n            {%- elif item['type'] == 'text' -%}\n                {{ item['text'] | trim }}\n            {%- endif -%}\n        {%- endfor -%}\n    {%- else -%}\n        {{ raise_exception(\"Invalid content type\") }}\n    {%- endif -%}\n    {{ '<end_of_turn>\n' }}\n{%- endfor -%}\n{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\n'}}\n{%- endif -%}\n";

describe("applyChatTemplate", () => {
  it("renders Gemma 3's template like transformers does", () => {
    const text = applyChatTemplate(
      [
        { role: "system", content: "Be brief." },
        { role: "user", content: " Hi there " },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: "Capital of France?" },
      ],
      GEMMA3,
      { bosToken: "<bos>", eosToken: "<eos>" },
    );
    expect(text).toBe(
      "<bos><start_of_turn>user\nBe brief.\n\nHi there<end_of_turn>\n" +
        "<start_of_turn>model\nHello!<end_of_turn>\n" +
        "<start_of_turn>user\nCapital of France?<end_of_turn>\n<start_of_turn>model\n",
    );
    const noPrompt = applyChatTemplate([{ role: "user", content: "x" }], GEMMA3, {
      bosToken: "<bos>",
      addGenerationPrompt: false,
    });
    expect(noPrompt).toBe("<bos><start_of_turn>user\nx<end_of_turn>\n");
  });

  it("passes extra variables; typed errors for bad input, bad templates and raise_exception", () => {
    expect(applyChatTemplate([], "{{ greeting }}!", { variables: { greeting: "hey" } })).toBe(
      "hey!",
    );
    expect(() =>
      applyChatTemplate(
        [
          { role: "assistant", content: "a" },
          { role: "user", content: "b" },
        ],
        GEMMA3,
      ),
    ).toThrow(
      expect.objectContaining({
        code: "MODEL_INVALID",
        message: expect.stringMatching(/alternate/),
      }),
    );
    expect(() => applyChatTemplate([], "{% if %}")).toThrow(
      expect.objectContaining({ code: "MODEL_INVALID" }),
    );
    expect(() => applyChatTemplate([{ role: "user" }] as never, GEMMA3)).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => applyChatTemplate([], "")).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
  });
});

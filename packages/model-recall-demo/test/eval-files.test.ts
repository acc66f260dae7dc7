/**
 * The committed evaluation files agree with each other: eval/loop-eval.mjs copies the reference
 * figures of `eval.json` (evaluate.py on the shipped GGUF) into each `eval-loop*.json` when it
 * starts, so a loop run started before `eval.json` was replaced would carry stale figures.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const pkg = resolve(import.meta.dirname, "..");
const readJson = async (name: string) =>
  JSON.parse(await readFile(join(pkg, name), "utf8")) as Record<string, Record<string, unknown>>;
/** Sections eval/loop-eval.mjs copies whole; the others it copies without `by_group`. */
const WHOLE = new Set(["general_questions", "general_blind", "vectors_per_memory"]);

describe("the committed evaluation files", () => {
  it("eval.json was evaluated from the shipped GGUF", async () => {
    const evalJson = await readJson("eval.json");
    expect(evalJson.checkpoint_step).toBe("gguf:mnemo-recall-demo.gguf");
  });

  for (const file of ["eval-loop.json", "eval-loop-onnx.json"]) {
    it(`${file}'s reference section equals eval.json's figures`, async () => {
      const [evalJson, loop] = await Promise.all([readJson("eval.json"), readJson(file)]);
      const reference = loop.python_eval_json as Record<string, Record<string, unknown>>;
      expect(Object.keys(reference).length).toBeGreaterThanOrEqual(6);
      for (const [key, section] of Object.entries(reference)) {
        const source = evalJson[key];
        expect(source, `eval.json has no ${key}`).toBeDefined();
        const expected = WHOLE.has(key)
          ? source
          : Object.fromEntries(Object.entries(source ?? {}).filter(([k]) => k !== "by_group"));
        expect(section, `${file}: python_eval_json.${key}`).toEqual(expected);
      }
    });
  }
});

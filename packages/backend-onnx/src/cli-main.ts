import { isMnemoError } from "@mnemo/core";
import { prepareOnnxModel } from "./prepare.js";

/**
 * The `prepare` command line: `IN OUT [--all-logits] [--embed-model=EMBED.onnx]` (`--embed-model`
 * names the `embed_tokens` model of a decoder that takes `inputs_embeds`). Writes the rewritten model, its sidecar and
 * embedding table, prints a one-line JSON summary, and returns the process exit code (0 on success,
 * 1 on a `MnemoError`, 2 on bad usage). The `mnemo` CLI can call it as `mnemo onnx prepare IN OUT`.
 * @param argv the arguments after the command name
 * @param out where to print (default `console`)
 */
export function runPrepareCli(
  argv: readonly string[],
  out: Pick<Console, "log" | "error"> = console,
): number {
  const args = argv.filter((a) => !a.startsWith("--"));
  const flags = new Set(argv.filter((a) => a.startsWith("--")));
  const embedFlag = [...flags].find((f) => f.startsWith("--embed-model="));
  const unknown = [...flags].filter((f) => f !== "--all-logits" && f !== embedFlag);
  if (args.length !== 2 || unknown.length > 0) {
    out.error(
      "usage: prepare IN.onnx OUT.onnx [--all-logits] [--embed-model=EMBED_TOKENS.onnx]\n" +
        "  rewrites a standard decoder export to take inputs_embeds and output last_hidden_state",
    );
    return 2;
  }
  try {
    const r = prepareOnnxModel(args[0] as string, args[1] as string, {
      lastLogitsOnly: !flags.has("--all-logits"),
      ...(embedFlag ? { embedModel: embedFlag.slice("--embed-model=".length) } : {}),
    });
    out.log(JSON.stringify({ model: r.modelPath, meta: r.metaPath, embeddings: r.embeddingsPath }));
    return 0;
  } catch (e) {
    if (isMnemoError(e)) {
      out.error(`error [${e.code}]: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

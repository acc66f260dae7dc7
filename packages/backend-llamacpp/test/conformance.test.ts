// The shared InferenceBackend suite (@mnemo/conformance) on the tiny model.
import { describeInferenceBackend } from "@mnemo/conformance";
import { loadLlamaCppBackend } from "../src/index.js";
import { haveModel, TINY_MODEL } from "./helpers.js";

if (haveModel(TINY_MODEL, "conformance"))
  describeInferenceBackend(
    "llama.cpp (tiny model)",
    () => loadLlamaCppBackend({ modelPath: TINY_MODEL, contextSize: 256, threads: 1 }),
    { exactInjection: true, kvReuseTolerance: 2e-3 },
  );

#!/usr/bin/env node
// `mnemo-onnx-prepare IN OUT`: see runPrepareCli.
import { runPrepareCli } from "./cli-main.js";

process.exitCode = runPrepareCli(process.argv.slice(2));

/**
 * The shipped GGUF carries its own model.json (GGUF metadata `mnemo.model_json`, written by
 * training/export_gguf.py), so a copy of the file without its config still encodes memories the
 * way the model was trained to.
 */
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { GGUF_CONFIG_KEY, loadModelConfig, readGgufMetadataString } from "@mnemo/core";
import { describe, expect, it } from "vitest";
import { configPath, modelPath } from "../index.js";

const pkg = resolve(import.meta.dirname, "..");

describe("the recall demo GGUF's embedded config", () => {
  it("equals model/model.json", async () => {
    const embedded = await readGgufMetadataString(modelPath, GGUF_CONFIG_KEY);
    expect(embedded, "re-export the GGUF: its embedded config is missing").toBeDefined();
    const file = JSON.parse(await readFile(configPath, "utf8"));
    expect(JSON.parse(embedded as string)).toEqual(file);
    expect(configPath).toBe(join(pkg, "model", "model.json"));
  });

  it("is what loadModelConfig finds for a copy of the GGUF on its own", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mnemo-demo-copy-"));
    try {
      const copy = join(dir, "renamed.gguf");
      await copyFile(modelPath, copy);
      const config = await loadModelConfig(copy);
      expect(config?.trigger).toBe("<recall>");
      expect(config?.encoder).toEqual({
        value: "hidden-state",
        keyTemplate: "{text}</s>",
        addBos: true,
        valueVectors: 4,
        valueFiller: "<pad>",
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

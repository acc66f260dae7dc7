/**
 * The playground in a real browser (Debian's chromium via playwright-core) against the built server
 * running real models: load, add a memory, import JSONL with a bad line, recall with a marker and
 * its details, stop a generation, export the trace. Screenshots go to test-artifacts/.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ARTIFACTS_DIR,
  launchBrowser,
  MODELS_DIR,
  type RunningServer,
  skipReason,
  startServer,
} from "./harness.js";

const reason = skipReason();
if (reason) console.log(`playground e2e skipped: ${reason}`);
const GEMMA = "gemma-3-270m-q4_k_m.gguf";
const hasGemma = existsSync(join(MODELS_DIR, GEMMA));
if (!reason && !hasGemma)
  console.log(`playground stop test skipped: ${MODELS_DIR}/${GEMMA} is missing`);

describe.skipIf(reason !== undefined)("playground in chromium", () => {
  let server: RunningServer;
  let browser: { context: BrowserContext; close: () => Promise<void> };
  let page: Page;
  const consoleErrors: string[] = [];

  const shot = (name: string) =>
    page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });

  async function loadModel(id: string) {
    await page.getByRole("button", { name: "Model", exact: true }).click();
    await page.getByTestId("model-select").selectOption(id);
    await page.getByTestId("load-model").click();
    await page.getByTestId("status").filter({ hasText: id }).waitFor({ timeout: 60_000 });
  }

  beforeAll(async () => {
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    server = await startServer();
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    await page.goto(server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("lists the models folder and loads the tiny model with progress", async () => {
    await page
      .getByTestId("model-select")
      .locator("option", { hasText: "tiny-llama.gguf" })
      .waitFor({ state: "attached" });
    const options = await page.getByTestId("model-select").locator("option").allTextContents();
    expect(options.some((o) => o.startsWith("tiny-llama.gguf"))).toBe(true);
    await loadModel("tiny-llama.gguf");
    await page.getByTestId("loaded-info").waitFor();
    expect(await page.getByTestId("load-progress").textContent()).toContain("Ready");
    expect(await page.getByTestId("loaded-info").textContent()).toContain("hidden 64");
    await shot("1-model");
  });

  it("adds a memory with metadata", async () => {
    await page.getByRole("button", { name: "Memories", exact: true }).click();
    await page.getByTestId("memory-text").fill("The user's birthday is 1 January 1990.");
    await page.getByTestId("memory-id").fill("birthday");
    await page.getByTestId("memory-metadata").fill('{"topic": "personal"}');
    await page.getByTestId("add-memory").click();
    await page.getByTestId("add-message").filter({ hasText: "Added “birthday”" }).waitFor();
    const row = page.getByTestId("memory-row").filter({ hasText: "birthday" });
    await row.waitFor();
    expect(await row.textContent()).toContain('topic: "personal"');
  });

  it("imports a JSONL file: the bad line gets a clear error, the others are imported", async () => {
    const jsonl = [
      '{"id": "tea", "text": "Alice drinks green tea every morning.", "metadata": {"topic": "food"}}',
      '{"id": "broken", "text": "missing a closing brace"',
      '{"id": "cat", "text": "The user has a cat called Miso."}',
      '{"id": "no-text"}',
      '{"id": "city", "text": "The user lives in Lisbon."}',
    ].join("\n");
    await page.getByTestId("import-file").setInputFiles({
      name: "memories.jsonl",
      mimeType: "application/x-ndjson",
      buffer: Buffer.from(jsonl),
    });
    await page.getByTestId("import-start").click();
    const result = page.getByTestId("import-result");
    await result.waitFor({ timeout: 30_000 });
    expect(await result.textContent()).toContain("Imported 3 memories; 2 line(s) skipped");
    const errors = await page.getByTestId("import-errors").locator("li").allTextContents();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^line 2: not valid JSON/);
    expect(errors[1]).toBe('line 4: "text": is required (string)');
    for (const id of ["tea", "cat", "city", "birthday"]) {
      await page.getByTestId("memory-row").filter({ hasText: id }).first().waitFor();
    }
    expect(await page.getByTestId("memory-row").count()).toBe(4);
    await shot("2-memories");
  });

  it("searches memories by text", async () => {
    await page.getByTestId("search-text").fill("The user has a cat called Miso.");
    await page.getByRole("button", { name: "Search" }).click();
    const first = page.getByTestId("memory-row").first();
    await page.locator('[data-testid="memory-table"] th', { hasText: "score" }).waitFor();
    // The exact text of a memory is its own nearest key (cosine 1).
    expect(await first.textContent()).toContain("cat");
    expect(await first.textContent()).toContain("1.0000");
    await page.getByRole("button", { name: "Clear" }).click();
  });

  it("recalls at <recall>: a marker sits at the position, its details show candidates and a chart", async () => {
    await page.getByRole("button", { name: "Chat", exact: true }).click();
    await page.getByTestId("seed").fill("7");
    await page.getByTestId("prompt").fill("What do you know about me?<recall>");
    await page.getByTestId("send").click();
    await page.getByTestId("finish-reason").first().waitFor({ timeout: 60_000 });
    const marker = page.getByTestId("recall-marker").first();
    await marker.waitFor();
    // The marker comes first in the answer: the memory went in right after the prompt.
    const firstChild = await page
      .getByTestId("answer")
      .first()
      .locator(".output > *")
      .first()
      .getAttribute("data-testid");
    expect(firstChild).toBe("recall-marker");
    const traceRow = page.getByTestId("trace-row").first();
    await traceRow.waitFor();
    expect(await traceRow.textContent()).toMatch(/^1\d+0\.\d{4}\S+$/);
    await shot("3-chat");

    await marker.click();
    const details = page.getByTestId("recall-details");
    await details.waitFor();
    const rows = details.getByTestId("candidates-table").locator("tbody tr");
    expect(await rows.count()).toBe(4); // topK 5, four memories
    expect(await details.locator("tr.chosen").count()).toBe(1);
    const chosenId = await details.getByTestId("chosen-id").textContent();
    expect(["birthday", "tea", "cat", "city"]).toContain(chosenId);
    expect((await details.getByTestId("chosen-text").textContent())?.length).toBeGreaterThan(5);
    expect(await details.getByTestId("probability-chart").locator("rect").count()).toBe(4);
    expect(await details.textContent()).toMatch(/probability 0\.\d{4}|probability 1\.0000/);
    await shot("4-recall-details");
    await page.getByTestId("close-details").click();
    await details.waitFor({ state: "detached" });
  });

  it("exports the whole event trace as JSON", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("export").click(),
    ]);
    const path = await download.path();
    const trace = JSON.parse(await readFile(path, "utf8"));
    const types = trace.turns[0].events.map((e: { type: string }) => e.type);
    expect(types[0]).toBe("session");
    expect(types).toContain("recall-candidates");
    expect(types).toContain("memory-injected");
    expect(types[types.length - 1]).toBe("finish");
    expect(trace.model.model).toBe("tiny-llama.gguf");
  });

  it.skipIf(!hasGemma)("stops a long generation from the UI (the engine aborts)", async () => {
    await loadModel(GEMMA);
    await page.getByRole("button", { name: "Chat", exact: true }).click();
    await page.getByLabel("max tokens").fill("2000");
    await page.getByTestId("prompt").fill("Write a very long story about a lighthouse keeper.");
    await page.getByTestId("send").click();
    // Wait until tokens stream in, then stop.
    const answer = page.getByTestId("answer").nth(1);
    await expect
      .poll(async () => (await answer.textContent())?.length ?? 0, { timeout: 60_000 })
      .toBeGreaterThan(30);
    await page.getByTestId("stop").click();
    const finish = page.getByTestId("finish-reason").nth(1);
    await finish.waitFor({ timeout: 30_000 });
    expect(await finish.getAttribute("data-reason")).toBe("aborted");
    const status = (await (await fetch(`${server.url}api/status`)).json()) as {
      generating: boolean;
    };
    expect(status.generating).toBe(false);
    await shot("5-stopped");
  });

  it("logged no errors in the browser console", () => {
    expect(consoleErrors).toEqual([]);
  });
});

/**
 * `describeInferenceBackend`: the contract of `InferenceBackend` / `InferenceSequence` (core's
 * `backend.ts`), checked against expectations the suite computes itself (a fresh sequence, the
 * same tokens fed instead of injected, UTF-8 of the original text).
 */
import type { ForwardResult, InferenceBackend, InferenceSequence } from "@mnemo/core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import type { BackendCapabilities, BackendCaseId } from "./capabilities.js";
import {
  type BackendFactory,
  defineCase,
  expectMnemoError,
  LOG_PREFIX,
  notSelected,
} from "./harness.js";
import { argmax, maxAbsDiff } from "./reference.js";

/** Default texts of the tokenizer round trip. */
export const DEFAULT_ROUND_TRIP_TEXTS: readonly string[] = [
  "Hello world",
  "你好，世界",
  "emoji 😀🎉 ok",
  "混合 mixed 文本 ✓ with 🚀",
];

const DEFAULT_SAMPLE_TEXT = "The cat sat on the mat.";

/**
 * Registers the conformance cases of one {@link InferenceBackend} in a `describe` block.
 *
 * ```ts
 * describeInferenceBackend("llama.cpp", () => loadLlamaCppBackend({ modelPath, threads: 1 }), {
 *   exactInjection: true,
 *   kvReuseTolerance: 2e-3,
 * });
 * ```
 *
 * @param name shown in the block's title
 * @param factory loads the backend (called in `beforeAll`, once more for the dispose case)
 * @param capabilities what the backend supports and how exact it is
 */
export function describeInferenceBackend(
  name: string,
  factory: BackendFactory,
  capabilities: BackendCapabilities,
): void {
  const suite = `InferenceBackend conformance: ${name}`;
  const caps = {
    injectionTolerance: capabilities.exactInjection ? 0 : 1e-4,
    truncateTolerance: 0,
    independenceTolerance: 0,
    perSequenceContextSize: true,
    losslessTokenizer: true,
    roundTripTexts: DEFAULT_ROUND_TRIP_TEXTS,
    sampleText: DEFAULT_SAMPLE_TEXT,
    ...stripUndefined(capabilities),
  };
  const skip = (id: BackendCaseId): string | undefined => notSelected(id, capabilities.only);

  describe(suite, () => {
    let backend: InferenceBackend;
    const open: InferenceSequence[] = [];
    beforeAll(async () => {
      backend = await factory();
    });
    afterAll(async () => {
      for (const s of open.splice(0)) await s.dispose().catch(() => undefined);
      await backend?.dispose();
    });

    async function sequence(contextSize?: number): Promise<InferenceSequence> {
      const s = await backend.createSequence(contextSize === undefined ? {} : { contextSize });
      open.push(s);
      return s;
    }
    function sample(addSpecial = true): number[] {
      return backend.tokenize(caps.sampleText, { addSpecial });
    }

    defineCase(suite, "model-info: model facts are consistent", skip("model-info"), () => {
      const info = backend.info;
      for (const key of ["vocabSize", "embeddingWidth", "hiddenWidth", "contextSize"] as const) {
        expect(Number.isInteger(info[key]) && info[key] > 0, `${key} = ${info[key]}`).toBe(true);
      }
      expect(Number.isFinite(info.inputScale) && info.inputScale > 0).toBe(true);
      expect(typeof info.identity === "string" && info.identity.length > 0).toBe(true);
      expect(typeof info.architecture === "string" && info.architecture.length > 0).toBe(true);
      for (const t of [...info.eogTokens, ...(info.bosToken === undefined ? [] : [info.bosToken])])
        expect(Number.isInteger(t) && t >= 0 && t < info.vocabSize, `special token ${t}`).toBe(
          true,
        );
    });

    defineCase(
      suite,
      "tokenize-round-trip: detokenize(tokenize(text)) = text and tokenBytes concatenate to its UTF-8 (Chinese, emoji)",
      skip("tokenize-round-trip") ??
        (caps.losslessTokenizer ? undefined : "capabilities.losslessTokenizer is false"),
      () => {
        const { vocabSize, bosToken } = backend.info;
        for (const text of caps.roundTripTexts) {
          const ids = backend.tokenize(text, { addSpecial: false });
          expect(ids.length, text).toBeGreaterThan(0);
          for (const t of ids) expect(Number.isInteger(t) && t >= 0 && t < vocabSize).toBe(true);
          expect(backend.detokenize(ids), "detokenize").toBe(text);
          const bytes = Buffer.concat(ids.map((t) => backend.tokenBytes(t)));
          expect(bytes.toString("hex"), `tokenBytes of ${JSON.stringify(text)}`).toBe(
            Buffer.from(text, "utf8").toString("hex"),
          );
        }
        if (bosToken !== undefined) {
          expect(backend.tokenize("hi", { addSpecial: true })[0]).toBe(bosToken);
        }
      },
    );

    defineCase(
      suite,
      `inject-equals-feed: injecting token t's embedding row equals feeding t (tolerance ${caps.injectionTolerance})`,
      skip("inject-equals-feed"),
      async () => {
        const tol = caps.injectionTolerance;
        const { embeddingWidth } = backend.info;
        const prefix = sample();
        const probe = backend.tokenize(" 你好 mat", { addSpecial: false }).slice(0, 4);
        const rows = await backend.tokenEmbeddings([...probe, probe[0] as number]);
        expect(rows.length).toBe((probe.length + 1) * embeddingWidth);
        expect(rows.every(Number.isFinite)).toBe(true);
        expect(maxAbsDiff(rows.subarray(0, embeddingWidth), rows.subarray(-embeddingWidth))).toBe(
          0,
        );
        const s = await sequence();
        await s.forwardTokens(prefix);
        for (const t of probe) {
          const fed = await s.forwardTokens([t], { wantHiddenState: true });
          await s.truncate(prefix.length);
          const injected = await s.forwardEmbeddings(await backend.tokenEmbeddings([t]), {
            wantHiddenState: true,
          });
          expect(s.length).toBe(prefix.length + 1);
          expectClose(injected, fed, tol, `token ${t}`);
          await s.truncate(prefix.length);
        }
        // several rows at once = those tokens in one call, and what follows is the same too
        const fedRun = await s.forwardTokens(probe);
        const fedNext = await s.forwardTokens(prefix.slice(-1));
        await s.truncate(prefix.length);
        const injRun = await s.forwardEmbeddings(await backend.tokenEmbeddings(probe));
        const injNext = await s.forwardTokens(prefix.slice(-1));
        expect(s.length).toBe(prefix.length + probe.length + 1);
        expect(maxAbsDiff(injRun.logits, fedRun.logits)).toBeLessThanOrEqual(tol);
        expect(maxAbsDiff(injNext.logits, fedNext.logits)).toBeLessThanOrEqual(tol);
      },
    );

    defineCase(
      suite,
      `kv-reuse: token-by-token decoding on the KV cache equals one prefill (tolerance ${caps.kvReuseTolerance}, argmax equal)`,
      skip("kv-reuse"),
      async () => {
        const tokens = backend.tokenize(
          `${caps.sampleText} Latent memories are recalled while the model generates.`,
          { addSpecial: true },
        );
        const fresh = await sequence();
        const all = await fresh.forwardTokens(tokens, { wantHiddenState: true });
        const inc = await sequence();
        await inc.forwardTokens(tokens.slice(0, 3));
        let last: ForwardResult | undefined;
        for (let i = 3; i < tokens.length; i++) {
          last = await inc.forwardTokens([tokens[i] as number], {
            wantHiddenState: i === tokens.length - 1,
          });
        }
        if (!last) throw new Error("the KV-reuse text is too short");
        expect(inc.length).toBe(tokens.length);
        const d = maxAbsDiff(all.logits, last.logits);
        console.log(
          `${LOG_PREFIX} ${name}: KV reuse vs one prefill over ${tokens.length} tokens: max |Δlogit| = ${d.toExponential(2)}`,
        );
        expect(d).toBeLessThanOrEqual(capabilities.kvReuseTolerance);
        expect(maxAbsDiff(all.hiddenState ?? [], last.hiddenState ?? [1])).toBeLessThanOrEqual(
          capabilities.kvReuseTolerance,
        );
        expect(argmax(last.logits)).toBe(argmax(all.logits));
      },
    );

    defineCase(
      suite,
      `truncate: truncate then re-decode equals the original (tolerance ${caps.truncateTolerance})`,
      skip("truncate"),
      async () => {
        const tokens = sample();
        const k = Math.max(1, Math.floor(tokens.length / 2));
        const s = await sequence();
        await s.forwardTokens(tokens.slice(0, k));
        const original = await s.forwardTokens(tokens.slice(k), { wantHiddenState: true });
        await s.forwardTokens(backend.tokenize(" something else entirely", { addSpecial: false }));
        await s.forwardEmbeddings(await backend.tokenEmbeddings(tokens.slice(0, 2)));
        await s.truncate(k);
        expect(s.length).toBe(k);
        const again = await s.forwardTokens(tokens.slice(k), { wantHiddenState: true });
        expectClose(again, original, caps.truncateTolerance, "after truncate");
        await s.truncate(s.length); // no-op
        expect(s.length).toBe(tokens.length);
        await s.truncate(0);
        expect(s.length).toBe(0);
        const fromZero = await s.forwardTokens(tokens.slice(0, k));
        const ref = await (await sequence()).forwardTokens(tokens.slice(0, k));
        expect(maxAbsDiff(fromZero.logits, ref.logits)).toBeLessThanOrEqual(caps.truncateTolerance);
      },
    );

    defineCase(
      suite,
      "hidden-state: only when asked; hiddenWidth finite values; logits are the last position's",
      skip("hidden-state"),
      async () => {
        const { vocabSize, hiddenWidth } = backend.info;
        const tokens = sample();
        const s = await sequence();
        const plain = await s.forwardTokens(tokens);
        expect(plain.hiddenState).toBeUndefined();
        expect(plain.logits.length).toBe(vocabSize);
        expect(plain.logits.every(Number.isFinite)).toBe(true);
        const row = await backend.tokenEmbeddings(tokens.slice(1, 2));
        const injectedPlain = await s.forwardEmbeddings(row);
        expect(injectedPlain.hiddenState).toBeUndefined();
        const injected = await s.forwardEmbeddings(row, { wantHiddenState: true });
        expect(injected.hiddenState?.length).toBe(hiddenWidth);
        const asked = await s.forwardTokens(tokens.slice(1, 3), { wantHiddenState: true });
        const h = asked.hiddenState;
        expect(h?.length).toBe(hiddenWidth);
        expect(h?.every(Number.isFinite)).toBe(true);
        expect(h?.some((v) => v !== 0)).toBe(true);
        // the logits of a multi-token call are those of its last position
        const ref = await sequence();
        await ref.forwardTokens(tokens.slice(0, -1));
        const lastOnly = await ref.forwardTokens(tokens.slice(-1));
        expect(maxAbsDiff(plain.logits, lastOnly.logits)).toBeLessThanOrEqual(
          capabilities.kvReuseTolerance,
        );
        expect(argmax(plain.logits)).toBe(argmax(lastOnly.logits));
      },
    );

    defineCase(
      suite,
      "errors: bad input fails by code and leaves the sequence as it was; DISPOSED after dispose",
      skip("errors"),
      async () => {
        const { vocabSize, embeddingWidth: w } = backend.info;
        const s = await sequence();
        for (const bad of [[-1], [vocabSize], [1.5], [Number.NaN], [0, vocabSize + 7], []]) {
          await expectMnemoError(s.forwardTokens(bad), "INVALID_INPUT", `forwardTokens(${bad})`);
        }
        await expectMnemoError(
          backend.tokenEmbeddings([vocabSize]),
          "INVALID_INPUT",
          "tokenEmbeddings",
        );
        await expectMnemoError(() => backend.tokenBytes(-1), "INVALID_INPUT", "tokenBytes(-1)");
        for (const n of [w - 1, w + 1, 0]) {
          await expectMnemoError(
            s.forwardEmbeddings(new Float32Array(n)),
            "DIMENSION_MISMATCH",
            `forwardEmbeddings of ${n} values`,
          );
        }
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
          const v = new Float32Array(2 * w);
          v[w + 3] = bad;
          await expectMnemoError(s.forwardEmbeddings(v), "NON_FINITE_VECTOR", `a ${bad} vector`);
        }
        expect(s.length).toBe(0);
        await s.forwardTokens(sample().slice(0, 3));
        await expectMnemoError(s.truncate(4), "INVALID_INPUT", "truncate beyond the length");
        await expectMnemoError(s.truncate(-1), "INVALID_INPUT", "truncate(-1)");
        expect(s.length).toBe(3);

        // context overflow: refused before anything is written
        const size = caps.perSequenceContextSize ? 8 : backend.info.contextSize;
        const small = await sequence(caps.perSequenceContextSize ? size : undefined);
        const filler = Array.from({ length: size + 1 }, (_, i) => (i * 7 + 3) % vocabSize);
        await expectMnemoError(
          small.forwardTokens(filler),
          "CONTEXT_OVERFLOW",
          "a prompt longer than the context",
        );
        expect(small.length).toBe(0);
        for (let at = 0; at < size; at += 512) {
          await small.forwardTokens(filler.slice(at, Math.min(size, at + 512)));
        }
        expect(small.length).toBe(size);
        await expectMnemoError(small.forwardTokens([1]), "CONTEXT_OVERFLOW", "one token too many");
        await expectMnemoError(
          small.forwardEmbeddings(new Float32Array(w)),
          "CONTEXT_OVERFLOW",
          "one vector too many",
        );
        expect(small.length).toBe(size);

        // use after dispose
        await s.dispose();
        await s.dispose();
        await expectMnemoError(s.forwardTokens([1]), "DISPOSED", "forwardTokens after dispose");
        await expectMnemoError(
          s.forwardEmbeddings(new Float32Array(w)),
          "DISPOSED",
          "forwardEmbeddings after dispose",
        );
        await expectMnemoError(s.truncate(0), "DISPOSED", "truncate after dispose");
        const other = await factory();
        const orphan = await other.createSequence();
        await other.dispose();
        await other.dispose();
        await expectMnemoError(other.createSequence(), "DISPOSED", "createSequence after dispose");
        await expectMnemoError(() => other.tokenize("x"), "DISPOSED", "tokenize after dispose");
        await expectMnemoError(
          orphan.forwardTokens([1]),
          "DISPOSED",
          "a sequence of a disposed backend",
        );

        // the backend under test is unharmed
        const alive = await sequence();
        const r = await alive.forwardTokens(sample());
        expect(r.logits.every(Number.isFinite)).toBe(true);
      },
    );

    defineCase(
      suite,
      `independent-sequences: sequences never affect each other, also concurrently (tolerance ${caps.independenceTolerance})`,
      skip("independent-sequences"),
      async () => {
        const tol = caps.independenceTolerance;
        const ta = sample();
        const tb = backend.tokenize("另一个完全不同的序列 with other words", { addSpecial: true });
        const soloA = await (await sequence()).forwardTokens(ta);
        const soloB = await (await sequence()).forwardTokens(tb);
        const a = await sequence();
        const b = await sequence();
        const [ra, rb] = await Promise.all([a.forwardTokens(ta), b.forwardTokens(tb)]);
        expect(maxAbsDiff(ra.logits, soloA.logits)).toBeLessThanOrEqual(tol);
        expect(maxAbsDiff(rb.logits, soloB.logits)).toBeLessThanOrEqual(tol);
        // b is truncated and refilled; a is unchanged
        await b.truncate(1);
        await b.forwardEmbeddings(await backend.tokenEmbeddings(ta.slice(1, 3)));
        expect(a.length).toBe(ta.length);
        const next = tb.slice(1, 2);
        const more = await a.forwardTokens(next);
        const check = await sequence();
        await check.forwardTokens(ta);
        const want = await check.forwardTokens(next);
        expect(maxAbsDiff(more.logits, want.logits)).toBeLessThanOrEqual(tol);
        await b.dispose();
        const after = await a.forwardTokens(next);
        const want2 = await check.forwardTokens(next);
        expect(maxAbsDiff(after.logits, want2.logits)).toBeLessThanOrEqual(tol);
      },
    );
  });
}

function expectClose(got: ForwardResult, want: ForwardResult, tol: number, what: string): void {
  const dl = maxAbsDiff(got.logits, want.logits);
  expect(dl, `${what}: max |Δlogit|`).toBeLessThanOrEqual(tol);
  if (want.hiddenState) {
    const dh = maxAbsDiff(got.hiddenState ?? [], want.hiddenState);
    expect(dh, `${what}: max |Δhidden|`).toBeLessThanOrEqual(tol);
  }
}

/** Drops `undefined` fields so that defaults survive a spread. @internal */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

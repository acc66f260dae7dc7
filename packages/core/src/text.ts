/**
 * Turns a stream of token bytes into text deltas that never split a UTF-8 character
 * (a Chinese character is often 2–3 byte-level tokens), and cuts the text at stop strings.
 */
export class TextStream {
  readonly #decoder = new TextDecoder("utf-8");
  readonly #stops: readonly string[];
  readonly #holdBack: number;
  /** Decoded text not yet released, because it may be the start of a stop string. */
  #pending = "";
  #text = "";
  #stopped = false;

  /** @param stops stop strings; generation ends before the first occurrence of any of them */
  constructor(stops: readonly string[] = []) {
    this.#stops = stops.filter((s) => s.length > 0);
    this.#holdBack = Math.max(0, ...this.#stops.map((s) => s.length - 1));
  }

  /** All text released so far. */
  get text(): string {
    return this.#text;
  }

  /** True once a stop string was seen. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Adds one token's bytes; returns the text that can be shown now ('' while a character is
   * incomplete or text is held back because it may begin a stop string).
   */
  push(bytes: Uint8Array): string {
    if (this.#stopped) return "";
    this.#pending += this.#decoder.decode(bytes, { stream: true });
    return this.#release(false);
  }

  /** Ends the stream: releases held-back text (an incomplete trailing character becomes U+FFFD). */
  flush(): string {
    if (this.#stopped) return "";
    this.#pending += this.#decoder.decode();
    return this.#release(true);
  }

  #release(final: boolean): string {
    let cut = -1;
    for (const stop of this.#stops) {
      const at = this.#pending.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    let out: string;
    if (cut !== -1) {
      out = this.#pending.slice(0, cut);
      this.#pending = "";
      this.#stopped = true;
    } else {
      const keep = final ? 0 : this.#partialStopSuffix();
      out = this.#pending.slice(0, this.#pending.length - keep);
      this.#pending = this.#pending.slice(this.#pending.length - keep);
    }
    this.#text += out;
    return out;
  }

  /** Length of the longest suffix of the pending text that is a proper prefix of a stop string. */
  #partialStopSuffix(): number {
    const max = Math.min(this.#holdBack, this.#pending.length);
    for (let len = max; len > 0; len--) {
      const suffix = this.#pending.slice(this.#pending.length - len);
      if (this.#stops.some((s) => s.startsWith(suffix))) return len;
    }
    return 0;
  }
}

/**
 * Detects the recall trigger as the LAST input token (seed §5.1). A trigger is a token id, or a
 * text: the trigger fires when the bytes of the tokens so far end exactly with the text's bytes,
 * so a text that the tokenizer splits into several tokens (`<`, `rec`, `all`, `>`) fires on its
 * last token, and the query is that token's hidden state.
 */
export class TriggerDetector {
  readonly #tokenId: number | undefined;
  readonly #bytes: Uint8Array | undefined;
  #tail: Uint8Array = new Uint8Array(0);

  /** @param trigger a token id, or a non-empty text */
  constructor(trigger: number | string) {
    if (typeof trigger === "number") this.#tokenId = trigger;
    else this.#bytes = new TextEncoder().encode(trigger);
  }

  /**
   * Feeds one input token; returns true when that token completes the trigger.
   * @param token the token id
   * @param bytes the token's bytes (`InferenceBackend.tokenBytes`)
   */
  push(token: number, bytes: Uint8Array): boolean {
    if (this.#tokenId !== undefined) return token === this.#tokenId;
    const want = this.#bytes as Uint8Array;
    const joined = new Uint8Array(this.#tail.length + bytes.length);
    joined.set(this.#tail);
    joined.set(bytes, this.#tail.length);
    this.#tail = joined.slice(Math.max(0, joined.length - want.length));
    if (bytes.length === 0 || this.#tail.length < want.length) return false;
    for (let i = 0; i < want.length; i++) if (this.#tail[i] !== want[i]) return false;
    return true;
  }
}

/**
 * A seedable pseudo-random number generator: SplitMix32 to expand the seed, then
 * xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018).
 * Fast, 128-bit state, good statistical quality; not cryptographic.
 */
export interface Random {
  /** A float uniformly distributed in [0, 1), with 32 bits of randomness. */
  next(): number;
}

function splitMix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Creates a generator. The same `seed` always gives the same sequence.
 * @param seed any integer (only the low 32 bits are used); omitted = seeded from `Math.random()`
 */
export function createRandom(seed?: number): Random {
  const init = splitMix32(seed ?? Math.floor(Math.random() * 2 ** 32));
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  if ((a | b | c | d) === 0) a = 1;
  return {
    next() {
      const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
      const t = (b << 9) >>> 0;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = rotl(d >>> 0, 11);
      a >>>= 0;
      b >>>= 0;
      c >>>= 0;
      return result / 2 ** 32;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

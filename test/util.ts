/** Resolves after `millis` of real time. */
export const sleep = (millis: number): Promise<void> =>
  new Promise(resolve => setTimeout(resolve, millis));

/**
 * The relative error of base-2 exponential buckets at `scale`, from the
 * bucket geometry (base = 2^(2^−scale)), not from the code under test.
 */
export function relativeErrorAt(scale: number): number {
  const base = 2 ** (2 ** -scale);
  return (base - 1) / (base + 1);
}

/** A small seeded PRNG (Park–Miller) returning [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 48271) % 2147483647;
    return (state - 1) / 2147483646;
  };
}

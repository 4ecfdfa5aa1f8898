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

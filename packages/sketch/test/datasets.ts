/** Seeded data sets for accuracy tests and the benchmark. */

/** mulberry32: a small, fast, seedable PRNG returning [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal by Box–Muller. */
export function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export interface Dataset {
  name: string;
  generate(size: number, random: () => number): number[];
}

const lognormal = (median: number, sigma: number, random: () => number) =>
  median * Math.exp(sigma * normal(random));

export const DATASETS: readonly Dataset[] = [
  {
    name: 'uniform 1–1000',
    generate: (n, r) => Array.from({ length: n }, () => 1 + 999 * r()),
  },
  {
    name: 'lognormal (20 ms, σ = 1)',
    generate: (n, r) => Array.from({ length: n }, () => lognormal(20, 1, r)),
  },
  {
    name: 'Pareto (α = 1.5)',
    generate: (n, r) =>
      Array.from({ length: n }, () => (1 - r()) ** (-1 / 1.5)),
  },
  {
    name: 'bimodal 90/10 (5 ms / 500 ms)',
    generate: (n, r) =>
      Array.from({ length: n }, () =>
        r() < 0.9 ? lognormal(5, 0.2, r) : lognormal(500, 0.2, r)
      ),
  },
  { name: 'constant 42', generate: n => new Array<number>(n).fill(42) },
  {
    name: 'tiny (≈ 1e-9)',
    generate: (n, r) =>
      Array.from({ length: n }, () => lognormal(1e-9, 0.5, r)),
  },
  {
    name: 'huge (≈ 1e12)',
    generate: (n, r) =>
      Array.from({ length: n }, () => lognormal(1e12, 0.5, r)),
  },
  {
    name: 'negatives, zeros and positives',
    generate: (n, r) =>
      Array.from({ length: n }, () => {
        const u = r();
        if (u < 0.2) return 0;
        return (u < 0.6 ? -1 : 1) * lognormal(10, 1.5, r);
      }),
  },
];

/** The exact value at rank ⌊q·(n − 1)⌋ of sorted data: the sketch's definition. */
export function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

/**
 * The relative error of base-2 exponential buckets at `scale`, from the
 * bucket geometry (base = 2^(2^−scale); a bucket's midpoint is within
 * (base − 1)/(base + 1) of any value in it), not from the code under test.
 */
export function relativeErrorAt(scale: number): number {
  const base = 2 ** (2 ** -scale);
  return (base - 1) / (base + 1);
}

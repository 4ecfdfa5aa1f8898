/**
 * Seeded streams of the kinds a user points AnomalyDetector at, one value a
 * second: means and p99s of lognormal samples, Poisson and binomial counts,
 * values of a fixed resolution, a daily or hourly cycle, single spikes.
 * Shared by the detector's family tests and bench:detection.
 */
import { seededRandom } from './util';

/** One value of a stream at `level` × its normal level, drawn with `random`. */
export type Draw = (random: () => number, level: number) => number;

export interface Stream {
  name: string;
  draw: Draw;
}

/** A standard normal draw (Box–Muller). */
export function gaussian(random: () => number): number {
  const u = 1 - random(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function lognormalSamples(
  random: () => number,
  n: number,
  sigma: number,
  median: number
): number[] {
  return Array.from(
    { length: n },
    () => median * Math.exp(sigma * gaussian(random))
  );
}

/** Mean of n lognormal samples (median 20 ms × level). */
export const meanOf = (n: number, sigma: number): Stream => ({
  name: `mean of ${n} lognormal, σ ${sigma}`,
  draw: (random, level) =>
    lognormalSamples(random, n, sigma, 20 * level).reduce((a, b) => a + b, 0) /
    n,
});

/** Nearest-rank p99 of n lognormal samples (median 20 ms × level). */
export const p99Of = (n: number, sigma: number): Stream => ({
  name: `p99 of ${n} lognormal, σ ${sigma}`,
  draw: (random, level) => {
    const sorted = lognormalSamples(random, n, sigma, 20 * level).sort(
      (a, b) => a - b
    );
    return sorted[Math.ceil(0.99 * n) - 1];
  },
});

/** Poisson counts (Knuth's method below 30, a rounded normal above). */
export const poisson = (mean: number): Stream => ({
  name: `Poisson, mean ${mean}`,
  draw: (random, level) => {
    const lambda = mean * level;
    if (lambda > 30)
      return Math.max(
        0,
        Math.round(lambda + Math.sqrt(lambda) * gaussian(random))
      );
    const limit = Math.exp(-lambda);
    let k = 0;
    for (let p = random(); p > limit; p *= random()) k++;
    return k;
  },
});

/** Binomial counts of 100 trials. */
export const binomial = (mean: number): Stream => ({
  name: `binomial of 100, mean ${mean}`,
  draw: (random, level) => {
    const p = Math.min(1, (mean * level) / 100);
    let k = 0;
    for (let i = 0; i < 100; i++) if (random() < p) k++;
    return k;
  },
});

/** The stream's values rounded to `step` (integers, 1 ms steps). */
export const rounded = (
  stream: Stream,
  step: number,
  what: string
): Stream => ({
  name: `${stream.name}, ${what}`,
  draw: (random, level) => Math.round(stream.draw(random, level) / step) * step,
});

/** Values of `stream` from second 0 on, its level times (1 + amplitude · sin) over `periodSeconds`. */
export function cycle(
  stream: Stream,
  amplitude: number,
  periodSeconds: number
) {
  return (random: () => number, second: number, level = 1) =>
    stream.draw(
      random,
      level * (1 + amplitude * Math.sin((2 * Math.PI * second) / periodSeconds))
    );
}

/**
 * Feeds `seconds` values to `observe`, one a second from 0, each from
 * `value(random, second)`; returns the seconds at which it said an episode
 * started, and the episodes' end reasons in order.
 */
export function run(
  seed: number,
  seconds: number,
  value: (random: () => number, second: number) => number,
  observe: (
    value: number,
    millis: number
  ) => { phase: 'start' | 'end' | undefined; episode?: { endReason?: string } }
): { starts: number[]; ends: string[] } {
  const random = seededRandom(seed);
  const starts: number[] = [];
  const ends: string[] = [];
  for (let s = 0; s < seconds; s++) {
    const result = observe(value(random, s), s * 1000);
    if (result.phase === 'start') starts.push(s);
    else if (result.phase === 'end') ends.push(result.episode?.endReason ?? '');
  }
  return { starts, ends };
}

/**
 * Values after the level becomes `shift` × normal (after `warmUpSeconds` of
 * normal ones) until an episode is raised: 1 when the first shifted value
 * raises it; Infinity if none of `limit` does (or one was under way before).
 */
export function delay(
  seed: number,
  stream: Stream,
  shift: number,
  observe: (
    value: number,
    millis: number
  ) => { phase: 'start' | 'end' | undefined },
  warmUpSeconds = 600,
  limit = 600
): number {
  const random = seededRandom(seed);
  for (let s = 0; s < warmUpSeconds; s++)
    observe(stream.draw(random, 1), s * 1000);
  for (let k = 0; k < limit; k++)
    if (
      observe(stream.draw(random, shift), (warmUpSeconds + k) * 1000).phase ===
      'start'
    )
      return k + 1;
  return Infinity;
}

/** The stationary families of the issue (each run for 6 h in tests). */
export const FAMILIES: Stream[] = [
  meanOf(5, 0.3),
  meanOf(5, 1.2),
  meanOf(20, 0.8),
  meanOf(50, 0.3),
  meanOf(50, 1.2),
  p99Of(5, 0.3),
  p99Of(5, 1.2),
  p99Of(20, 0.8),
  p99Of(50, 0.3),
  p99Of(50, 1.2),
  poisson(0.5),
  poisson(5),
  poisson(50),
  binomial(0.5),
  binomial(50),
  rounded(meanOf(20, 0.8), 1, 'in 1 ms steps'),
  rounded(
    {
      name: 'mean of 5 lognormal around 3 ms, σ 0.5',
      draw: (r, l) => meanOf(5, 0.5).draw(r, l) * 0.15,
    },
    1,
    'integers'
  ),
];

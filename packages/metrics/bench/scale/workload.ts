/**
 * The measured workload of issue 22, the same for every path: N histogram
 * series with 4 attributes each, a batch of records every 10 ms spread
 * over the series by a seeded sequence, collection every 2 s, export every
 * 4 s, 14 s measured after a warm-up.
 */
import type { Attributes } from '@opentelemetry/api';

export const SERIES_COUNTS = [2_000, 20_000, 100_000];
/** 200 records every 10 ms: 20,000 records/s, whatever the series count. */
export const RECORDS_PER_TICK = 200;
export const TICK_MILLIS = 10;
export const COLLECTION_INTERVAL_MILLIS = 2_000;
export const EXPORT_INTERVAL_MILLIS = 4_000;
/** Long enough for one export and three collections, and for the JIT to settle. */
export const WARMUP_MILLIS = 6_000;
export const MEASURED_MILLIS = 14_000;

/** The sequences' fixed seeds: every path and process gets the same values. */
const VALUE_SEED = 0x5eed;
export const SERIES_SEED = 0xca11;
const LATENCY_COUNT = 1 << 16;

/** A seeded generator of 32-bit unsigned integers (mulberry32). */
export function seededIntegers(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * 65,536 latencies in milliseconds, lognormal with a median of 20 ms and
 * σ = 0.8 (so mostly 1–100 ms), from a fixed seed; a record takes them in
 * turn. Made before anything is measured, so generating costs nothing.
 */
export function latencies(): Float64Array {
  const next = seededIntegers(VALUE_SEED);
  const values = new Float64Array(LATENCY_COUNT);
  for (let i = 0; i < values.length; i++) {
    // Box–Muller; (0, 1] avoids log(0).
    const u = (next() + 1) / 2 ** 32;
    const v = next() / 2 ** 32;
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    values[i] = 20 * Math.exp(0.8 * normal);
  }
  return values;
}

/** The 4 attributes of a request: route, method, customer and region. */
export function attributesOf(i: number): Attributes {
  return {
    'http.route': `/api/items/${i % 97}`,
    'http.method': METHODS[i % METHODS.length],
    'customer.id': `c-${i}`,
    region: `r-${i % 5}`,
  };
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

/** One attributes object per series, made once and passed again on every record of it. */
export function seriesAttributes(count: number): Attributes[] {
  return Array.from({ length: count }, (_, i) => attributesOf(i));
}

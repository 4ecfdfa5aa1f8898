/**
 * Memory retained per histogram series after 70 simulated minutes at the
 * default retention (collection every 10 s; history of 10-s points for
 * 10 min and 1-min points for 1 h; a 5-minute summary window): our
 * provider, and RetentionMetricReader under the SDK's MeterProvider (the
 * SDK's own state included). Time is simulated with sinon's fake Date and
 * timers (the store's own timers never fire): each 10-s step records 20
 * values into every series, moves the fake clock on by 10 s and awaits
 * forceFlush(), which is one collection at that instant (no exporter) and
 * runs in the store's usual slices (SlicedTask keeps the real
 * setImmediate). Memory is heapUsed + arrayBuffers after a forced GC minus
 * the same before the provider was made. `node --expose-gc retention.js`
 * prints one JSON line; run by scale.bench.ts and metrics.bench.ts.
 */
import type { Attributes } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { printTable, retainedBytes } from '@datapunk/bench-kit';
import { RetentionMeterProvider, RetentionMetricReader } from '../../src';
import { fakeClock, T0 } from '../../test/util';
import { selfMetricsOf } from './selfMetrics';
import { latencies, seriesAttributes } from './workload';

const SERIES = 1_000;
export const RETENTION_MINUTES = 70;
const STEP_MILLIS = 10_000;
const VALUES_PER_STEP = 20;
const RETAINED_BYTES = 'datapunk.metrics.retained.bytes';

export interface RetentionResult {
  setup: string;
  series: number;
  /** heapUsed + arrayBuffers per series, measured. */
  measuredBytesPerSeries: number;
  /** What the store's datapunk.metrics.retained.bytes says, per series. */
  estimatedBytesPerSeries: number;
}

/** What a setup offers the measurement: a histogram, collection, self-metrics. */
interface Retaining {
  record(value: number, attributes: Attributes): void;
  collectOnce(): Promise<void>;
  retainedBytes(): Promise<number>;
  shutdown(): Promise<void>;
}

const SETUPS: Record<string, () => Retaining> = {
  RetentionMeterProvider: () => {
    const provider = new RetentionMeterProvider();
    const histogram = provider.getMeter('bench').createHistogram('latency');
    return {
      record: (value, attributes) => histogram.record(value, attributes),
      collectOnce: () => provider.forceFlush(),
      retainedBytes: async () =>
        selfMetricsOf(await provider.collect())[RETAINED_BYTES],
      shutdown: () => provider.shutdown(),
    };
  },
  'RetentionMetricReader under the SDK': () => {
    const reader = new RetentionMetricReader();
    const provider = new MeterProvider({ readers: [reader] });
    const histogram = provider.getMeter('bench').createHistogram('latency');
    return {
      record: (value, attributes) => histogram.record(value, attributes),
      collectOnce: () => reader.forceFlush(),
      retainedBytes: async () =>
        selfMetricsOf(await reader.collect())[RETAINED_BYTES],
      shutdown: () => provider.shutdown(),
    };
  },
};

async function measure(setup: string): Promise<RetentionResult> {
  const clock = fakeClock();
  try {
    const attributes = seriesAttributes(SERIES);
    const values = latencies();
    const mask = values.length - 1;
    const before = retainedBytes();
    const retaining = SETUPS[setup]();
    let next = 0;
    for (
      let step = 1;
      step <= (RETENTION_MINUTES * 60_000) / STEP_MILLIS;
      step++
    ) {
      for (let i = 0; i < SERIES; i++)
        for (let v = 0; v < VALUES_PER_STEP; v++)
          retaining.record(values[next++ & mask], attributes[i]);
      clock.setSystemTime(T0 + step * STEP_MILLIS);
      await retaining.collectOnce();
    }
    const measured = retainedBytes() - before;
    const estimated = await retaining.retainedBytes();
    await retaining.shutdown();
    return {
      setup,
      series: SERIES,
      measuredBytesPerSeries: measured / SERIES,
      estimatedBytesPerSeries: estimated / SERIES,
    };
  } finally {
    clock.restore();
  }
}

export const RETENTION_SETUPS = Object.keys(SETUPS);

export const RETENTION_NOTE = `${SERIES.toLocaleString('en')} histogram series of 4 attributes, ${VALUES_PER_STEP} values per series every 10 s (fake clock), ${RETENTION_MINUTES} simulated minutes, every option at its default`;

/** The retention table: KB per series, measured and as the store estimates it. */
export function printRetention(results: RetentionResult[]): void {
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  printTable(
    [
      'setup',
      'KB per series (measured)',
      "KB per series (the store's estimate)",
    ],
    results.map(r => [
      r.setup,
      kb(r.measuredBytesPerSeries),
      kb(r.estimatedBytesPerSeries),
    ])
  );
}

if (require.main === module) {
  measure(process.argv[2]).then(
    result => console.log(JSON.stringify(result)),
    error => {
      console.error(error);
      process.exitCode = 1;
    }
  );
}

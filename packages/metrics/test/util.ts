import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
} from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  MetricData,
  ResourceMetrics,
  ViewOptions,
} from '@opentelemetry/sdk-metrics';
import type { Meter } from '@opentelemetry/api';
import * as sinon from 'sinon';
import { RetentionMetricReader } from '../src';
import type { RetentionMetricReaderOptions, SummaryMetricData } from '../src';

/** A fixed start time: 2026-11-23T00:00:00Z, aligned to every tier used in tests. */
export const T0 = Date.UTC(2026, 10, 23);

/** Fake timers and Date at T0 (performance and setImmediate stay real). */
export function fakeClock(): sinon.SinonFakeTimers {
  return sinon.useFakeTimers({
    now: T0,
    toFake: [
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'Date',
    ],
  });
}

export interface Harness {
  reader: RetentionMetricReader;
  exporter: InMemoryMetricExporter;
  provider: MeterProvider;
  meter: Meter;
  clock: sinon.SinonFakeTimers;
  /** Everything exported so far, oldest first. */
  exports(): ResourceMetrics[];
  /** The latest export. */
  latest(): ResourceMetrics;
  /** Advances fake time, letting timers and promises run. */
  tick(millis: number): Promise<void>;
  /**
   * Waits for `promise` while fake time runs in small steps (the SDK's
   * in-memory exporter answers through setTimeout).
   */
  settle<T>(promise: Promise<T>): Promise<T>;
  /**
   * Waits for real I/O (file writes, sockets), which fake timers do not
   * drive: polls `check` between turns of the event loop, advancing fake
   * time by 1 ms each turn (a zero-delay timeout made during a tick is due
   * 1 ms later), up to ~2 s of real time.
   */
  until(check: () => boolean, what?: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real MeterProvider with a RetentionMetricReader exporting to the SDK's
 * InMemoryMetricExporter, on fake timers starting at T0.
 */
export function harness(
  options: RetentionMetricReaderOptions = {},
  temporality = AggregationTemporality.CUMULATIVE,
  views?: ViewOptions[]
): Harness {
  const clock = fakeClock();
  const exporter = new InMemoryMetricExporter(temporality);
  const reader = new RetentionMetricReader({ exporter, ...options });
  const provider = new MeterProvider({ readers: [reader], views });
  return {
    reader,
    exporter,
    provider,
    meter: provider.getMeter('test'),
    clock,
    exports: () => exporter.getMetrics(),
    latest: () => {
      const all = exporter.getMetrics();
      if (all.length === 0) throw new Error('nothing exported yet');
      return all[all.length - 1];
    },
    tick: async millis => {
      await clock.tickAsync(millis);
    },
    settle: promise => settle(clock, promise),
    until: async (check, what = 'the condition') => {
      const deadline = performance.now() + 2000;
      while (!check()) {
        if (performance.now() > deadline)
          throw new Error(`timed out waiting for ${what}`);
        await clock.tickAsync(1);
        await new Promise(resolve => setImmediate(resolve));
      }
    },
    close: async () => {
      try {
        await settle(clock, provider.shutdown());
      } finally {
        clock.restore();
      }
    },
  };
}

async function settle<T>(
  clock: sinon.SinonFakeTimers,
  promise: Promise<T>
): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  for (let steps = 0; !settled && steps < 10_000; steps++)
    await clock.tickAsync(10);
  return watched;
}

/** The metric named `name` in an export, or undefined. */
export function metric(
  resourceMetrics: ResourceMetrics,
  name: string
): MetricData | undefined {
  for (const scope of resourceMetrics.scopeMetrics) {
    const found = scope.metrics.find(m => m.descriptor.name === name);
    if (found) return found;
  }
  return undefined;
}

/** The points of metric `name` (none if absent). */
export function points<T = number>(
  resourceMetrics: ResourceMetrics,
  name: string
): DataPoint<T>[] {
  return (metric(resourceMetrics, name)?.dataPoints ?? []) as DataPoint<T>[];
}

/** The point of `name` whose attributes include `attributes`. */
export function pointWith<T = number>(
  resourceMetrics: ResourceMetrics,
  name: string,
  attributes: Record<string, unknown>
): DataPoint<T> | undefined {
  return points<T>(resourceMetrics, name).find(p =>
    Object.entries(attributes).every(([k, v]) => p.attributes[k] === v)
  );
}

/** A summary metric, which the SDK's types do not know. */
export function summary(
  resourceMetrics: ResourceMetrics,
  name: string
): SummaryMetricData | undefined {
  return metric(resourceMetrics, name) as unknown as
    | SummaryMetricData
    | undefined;
}

/** Sum of the values of a self-observability counter with the given reason. */
export function selfCount(
  resourceMetrics: ResourceMetrics,
  name: string,
  reason?: string
): number {
  return points(resourceMetrics, name)
    .filter(
      p => reason === undefined || Object.values(p.attributes).includes(reason)
    )
    .reduce((total, p) => total + p.value, 0);
}

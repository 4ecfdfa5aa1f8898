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
import { slicedTasksRunning } from '@datapunk/otel-common';
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

/** A real MeterProvider with a RetentionMetricReader and an in-memory exporter. */
export interface Setup {
  reader: RetentionMetricReader;
  exporter: InMemoryMetricExporter;
  provider: MeterProvider;
  meter: Meter;
  /** Everything exported so far, oldest first. */
  exports(): ResourceMetrics[];
  /** The latest export. */
  latest(): ResourceMetrics;
}

export interface Harness extends Setup {
  clock: sinon.SinonFakeTimers;
  /** Advances fake time, letting timers and promises run. */
  tick(millis: number): Promise<void>;
  /**
   * Waits for `promise` while fake time runs in small steps (the SDK's
   * in-memory exporter answers through setTimeout); throws if it has not
   * settled after 5 s of real time.
   */
  settle<T>(promise: Promise<T>): Promise<T>;
  /** Shuts the provider down; restores the real clock whatever happens. */
  close(): Promise<void>;
}

/** Real timers, whatever a test fakes later. */
const realSetTimeout = setTimeout;

/** How long a harness waits for something, in real time. */
const PATIENCE_MILLIS = 5000;

function setUp(
  options: RetentionMetricReaderOptions,
  temporality: AggregationTemporality,
  views: ViewOptions[] | undefined
): Setup {
  const exporter = new InMemoryMetricExporter(temporality);
  const reader = new RetentionMetricReader({ exporter, ...options });
  const provider = new MeterProvider({ readers: [reader], views });
  return {
    reader,
    exporter,
    provider,
    meter: provider.getMeter('test'),
    exports: () => exporter.getMetrics(),
    latest: () => {
      const all = exporter.getMetrics();
      if (all.length === 0) throw new Error('nothing exported yet');
      return all[all.length - 1];
    },
  };
}

/**
 * A real MeterProvider with a RetentionMetricReader exporting to the SDK's
 * InMemoryMetricExporter, on fake timers starting at T0. For tests of real
 * I/O, use {@link realTimeSetUp}: fake time cannot wait for a disk.
 */
export function harness(
  options: RetentionMetricReaderOptions = {},
  temporality = AggregationTemporality.CUMULATIVE,
  views?: ViewOptions[]
): Harness {
  const clock = fakeClock();
  try {
    const setup = setUp(options, temporality, views);
    return {
      ...setup,
      clock,
      tick: async millis => {
        await clock.tickAsync(millis);
        await finishSlicedWork(clock);
      },
      settle: promise => settle(clock, promise),
      close: async () => {
        try {
          await settle(clock, setup.provider.shutdown());
        } finally {
          clock.restore();
        }
      },
    };
  } catch (error) {
    clock.restore();
    throw error;
  }
}

/** The same on real time: for tests of file I/O. */
export function realTimeSetUp(
  options: RetentionMetricReaderOptions = {},
  temporality = AggregationTemporality.CUMULATIVE
): Setup {
  return setUp(options, temporality, undefined);
}

/** Polls `check` on real time until it holds; throws after 5 s. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what = 'the condition'
): Promise<void> {
  const deadline = performance.now() + PATIENCE_MILLIS;
  while (!(await check())) {
    if (performance.now() > deadline)
      throw new Error(`timed out waiting for ${what}`);
    await new Promise(resolve => realSetTimeout(resolve, 5));
  }
}

/**
 * Turns the real event loop until no sliced work runs (its slices yield to
 * it, which fake time does not turn), running fake timers due meanwhile;
 * throws after 5 s of real time.
 */
async function finishSlicedWork(clock: sinon.SinonFakeTimers): Promise<void> {
  const deadline = performance.now() + PATIENCE_MILLIS;
  while (slicedTasksRunning() > 0) {
    if (performance.now() > deadline)
      throw new Error('sliced work did not finish within 5 s of real time');
    await new Promise(resolve => setImmediate(resolve));
    await clock.tickAsync(0);
  }
}

async function settle<T>(
  clock: sinon.SinonFakeTimers,
  promise: Promise<T>
): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  const deadline = performance.now() + PATIENCE_MILLIS;
  while (!settled) {
    if (performance.now() > deadline) {
      watched.catch(() => undefined);
      throw new Error('did not settle within 5 s of real time');
    }
    await clock.tickAsync(10);
  }
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

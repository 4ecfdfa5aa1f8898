import { expect } from 'chai';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { Meter } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type {
  ExponentialHistogram,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import * as sinon from 'sinon';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import { RetentionMeterProvider } from '../../src';
import type { RetentionMeterProviderOptions } from '../../src';
import { T0 } from '../util';

/** Our provider exporting to the SDK's in-memory exporter, on real time. */
export interface ProviderSetup {
  provider: RetentionMeterProvider;
  exporter: InMemoryMetricExporter;
  meter: Meter;
  /** Collects now: what an export would carry (nothing committed). */
  collect(): Promise<ResourceMetrics>;
  /** Every export so far, oldest first. */
  exports(): ResourceMetrics[];
}

/**
 * A RetentionMeterProvider with an InMemoryMetricExporter. Its timers are
 * the defaults (10 s, 60 s, unref'd): a test collects and exports when it
 * says, with collect() and forceFlush().
 */
export function providerSetUp(
  options: RetentionMeterProviderOptions = {},
  temporality = AggregationTemporality.CUMULATIVE
): ProviderSetup {
  const exporter = new InMemoryMetricExporter(temporality);
  const provider = new RetentionMeterProvider({ exporter, ...options });
  return {
    provider,
    exporter,
    meter: provider.getMeter('test'),
    collect: async () => (await provider.collect()).resourceMetrics,
    exports: () => exporter.getMetrics(),
  };
}

/**
 * Runs `body` with OpenTelemetry's diag (and so the SDK's default
 * globalErrorHandler) writing warnings and errors into `messages`; the
 * logger is removed whatever happens.
 */
export async function withDiag<T>(
  body: (messages: string[]) => Promise<T> | T
): Promise<T> {
  const messages: string[] = [];
  const keep = (message: string) => messages.push(message);
  diag.setLogger(
    {
      error: keep,
      warn: keep,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN
  );
  try {
    return await body(messages);
  } finally {
    diag.disable();
  }
}

/**
 * Date and setInterval faked at T0, setTimeout and I/O real: the pipelines'
 * own collection and export timers (setInterval) fire only when the test
 * ticks, and the test moves time with setSystemTime, so two pipelines
 * collect and export at the same instants, when the test says, while
 * exporters and timeouts run on real time. Restore it in a finally.
 */
export function lockstepClock(): sinon.SinonFakeTimers {
  return sinon.useFakeTimers({
    now: T0,
    toFake: ['setInterval', 'clearInterval', 'Date'],
  });
}

/** An exported exponential histogram point, loaded into our sketch (at its scale) to read quantiles from. */
export function sketchOf(point: ExponentialHistogram): ExponentialSketch {
  return ExponentialSketch.fromExponentialHistogram(point);
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

/** The exact value at rank ⌊q·(n − 1)⌋ of `values`: the sketch's definition of a quantile. */
export function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))];
}

/**
 * An exported exponential histogram holds exactly `values`' count, min and
 * max, their sum to 1e-12, bucket counts adding up to the count, and every
 * quantile within the relative error of its scale.
 */
export function expectHistogram(
  point: ExponentialHistogram,
  values: readonly number[],
  what: string
): void {
  expect(point.count, `${what} count`).to.equal(values.length);
  const buckets =
    point.zeroCount +
    point.positive.bucketCounts.reduce((a, b) => a + b, 0) +
    point.negative.bucketCounts.reduce((a, b) => a + b, 0);
  expect(buckets, `${what} bucket counts`).to.equal(values.length);
  expect(point.min, `${what} min`).to.equal(Math.min(...values));
  expect(point.max, `${what} max`).to.equal(Math.max(...values));
  const sum = values.reduce((a, b) => a + b, 0);
  expect(point.sum, `${what} sum`).to.be.closeTo(sum, Math.abs(sum) * 1e-12);
  const sketch = sketchOf(point);
  expect(sketch.scale, `${what} scale kept`).to.equal(point.scale);
  const bound = relativeErrorAt(point.scale);
  for (const q of [0.01, 0.25, 0.5, 0.9, 0.99]) {
    const exact = exactQuantile(values, q);
    expect(
      Math.abs(sketch.quantile(q) - exact),
      `${what} q${q}: ${sketch.quantile(q)} vs exact ${exact} at scale ${point.scale}`
    ).to.be.at.most(Math.abs(exact) * bound * (1 + 1e-12));
  }
}

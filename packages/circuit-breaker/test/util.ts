import * as sinon from 'sinon';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { CircuitBreakerMetrics } from '../src';

/** A fixed start time, 2026-11-23T00:00:00Z. */
export const T0 = Date.UTC(2026, 10, 23);

/**
 * Fakes Date and the interval timers from T0: the collector's bucket timer
 * then runs on clock.tick(). Timeouts stay real (the SDK's exporters use them).
 */
export function fakeTime(): sinon.SinonFakeTimers {
  return sinon.useFakeTimers({
    now: T0,
    toFake: ['setInterval', 'clearInterval', 'Date'],
  });
}

/**
 * For a describe block: a fresh collector on its own MeterProvider and fake
 * time (see {@link fakeTime}) for each test, disposed after it.
 */
export function collectorOnFakeTime(): {
  clock: sinon.SinonFakeTimers;
  collector: CircuitBreakerMetrics;
} {
  const context = {} as {
    clock: sinon.SinonFakeTimers;
    collector: CircuitBreakerMetrics;
  };
  beforeEach(() => {
    context.clock = fakeTime();
    context.collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
    });
  });
  afterEach(() => {
    context.collector.dispose();
    context.clock.restore();
  });
  return context;
}

/** A small seeded PRNG (Park–Miller) returning [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed % 2147483647 || 1;
  return () => {
    state = (state * 48271) % 2147483647;
    return (state - 1) / 2147483646;
  };
}

export const sleep = (millis: number) =>
  new Promise(resolve => setTimeout(resolve, millis));

/** Resolves once `check` holds, polling every 5 ms, or rejects after `timeoutMillis`. */
export async function eventually(
  check: () => boolean,
  what: string,
  timeoutMillis = 3000
): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Sends diag's warnings (and worse) to the returned list, until diag.disable(). */
export function captureWarnings(): string[] {
  const warnings: string[] = [];
  const keep = (message: string) => warnings.push(message);
  diag.setLogger(
    {
      error: keep,
      warn: keep,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true }
  );
  return warnings;
}

/**
 * The SDK's in-memory exporter behind its periodic reader, flushed by hand.
 * Delta temporality: an asynchronous series shows only when it is observed
 * (cumulative would repeat stale ones, opentelemetry-js #4096).
 */
export class ExportedMetrics {
  private readonly _exporter = new InMemoryMetricExporter(
    AggregationTemporality.DELTA
  );
  readonly reader = new PeriodicExportingMetricReader({
    exporter: this._exporter,
    exportIntervalMillis: 3_600_000,
  });

  /** Scope names of the last export. */
  scopes: string[] = [];

  /** Exports now; the metrics sent, as sent (a name twice shows twice). */
  async flush(): Promise<MetricData[]> {
    await this.reader.forceFlush();
    const scopeMetrics = this._exporter
      .getMetrics()
      .flatMap(r => r.scopeMetrics);
    this._exporter.reset();
    this.scopes = scopeMetrics.map(s => s.scope.name);
    return scopeMetrics.flatMap(s => s.metrics);
  }
}

import { expect } from 'chai';
import type * as sinon from 'sinon';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  Histogram,
  MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BreakerState,
  CallOutcome,
  CircuitBreakerMetrics,
  semconv,
} from '../src';
import { fakeTime } from './util';

/**
 * The SDK's in-memory exporter behind its periodic reader, flushed by hand.
 * Delta temporality: an asynchronous series shows only when it is observed
 * (cumulative would repeat stale ones, opentelemetry-js #4096).
 */
class ExportedMetrics {
  private readonly _exporter = new InMemoryMetricExporter(
    AggregationTemporality.DELTA
  );
  readonly reader = new PeriodicExportingMetricReader({
    exporter: this._exporter,
    exportIntervalMillis: 3_600_000,
  });

  /** Scope names of the last export. */
  scopes: string[] = [];

  /** Exports now; the metrics sent, by name. */
  async flush(): Promise<Map<string, MetricData>> {
    await this.reader.forceFlush();
    const scopeMetrics = this._exporter
      .getMetrics()
      .flatMap(r => r.scopeMetrics);
    this._exporter.reset();
    this.scopes = scopeMetrics.map(s => s.scope.name);
    return new Map(
      scopeMetrics.flatMap(s => s.metrics).map(m => [m.descriptor.name, m])
    );
  }
}

describe('the OpenTelemetry instruments', () => {
  let clock: sinon.SinonFakeTimers;
  let exported: ExportedMetrics;
  let collector: CircuitBreakerMetrics;
  let metrics: Map<string, MetricData>;

  const points = <T = number>(name: string) =>
    (metrics.get(name)?.dataPoints ?? []) as DataPoint<T>[];
  const value = (name: string, attributes: Record<string, unknown>) =>
    points(name).find(p =>
      Object.entries(attributes).every(([k, v]) => p.attributes[k] === v)
    )?.value;

  beforeEach(async () => {
    clock = fakeTime();
    exported = new ExportedMetrics();
    const provider = new MeterProvider({ readers: [exported.reader] });
    collector = new CircuitBreakerMetrics({
      meterProvider: provider,
      attributes: { 'service.area': 'checkout' },
      durationHistogram: true,
    });
    const breaker = collector.register('svc', { attributes: { region: 'eu' } });
    for (const millis of [10, 20, 30])
      breaker.recordCall(CallOutcome.SUCCESS, millis);
    breaker.recordCall(CallOutcome.FAILURE, 50);
    breaker.recordCall(CallOutcome.REJECTED);
    breaker.recordFallback();
    breaker.recordHealthCheckFailure();
    breaker.recordHealthCheckFailure();
    breaker.recordResource('db.pool', 5);
    clock.tick(400);
    breaker.recordStateChange(BreakerState.OPEN);
    clock.tick(300);
    breaker.recordStateChange(BreakerState.HALF_OPEN);
    breaker.recordStateChange(BreakerState.CLOSED);
    clock.tick(300); // the bucket closes at 1 s
    metrics = await exported.flush();
    expect(exported.scopes).to.deep.equal(['@datapunk/otel-circuit-breaker']);
  });
  afterEach(() => {
    collector.dispose();
    clock.restore();
  });

  const base = {
    [semconv.ATTR_NAME]: 'svc',
    region: 'eu',
    'service.area': 'checkout',
  };

  it('counts calls by outcome, fallbacks, health checks and transitions by state', () => {
    expect(
      value(semconv.METRIC_CALLS, {
        ...base,
        [semconv.ATTR_OUTCOME]: 'success',
      })
    ).to.equal(3);
    expect(
      value(semconv.METRIC_CALLS, { [semconv.ATTR_OUTCOME]: 'failure' })
    ).to.equal(1);
    expect(
      value(semconv.METRIC_CALLS, { [semconv.ATTR_OUTCOME]: 'rejected' })
    ).to.equal(1);
    expect(points(semconv.METRIC_CALLS)).to.have.length(3);
    expect(value(semconv.METRIC_FALLBACKS, base)).to.equal(1);
    expect(value(semconv.METRIC_HEALTH_CHECK_FAILURES, base)).to.equal(2);
    for (const state of ['open', 'half_open', 'closed']) {
      expect(
        value(semconv.METRIC_TRANSITIONS, { [semconv.ATTR_STATE]: state })
      ).to.equal(1);
    }
  });

  it('records durations in seconds by outcome, each within the sketch bound', () => {
    const success = value(semconv.METRIC_CALL_DURATION, {
      [semconv.ATTR_OUTCOME]: 'success',
    }) as unknown as Histogram;
    expect(metrics.get(semconv.METRIC_CALL_DURATION)!.descriptor.unit).to.equal(
      's'
    );
    expect(success.count).to.equal(3);
    expect(success.sum!).to.be.closeTo(0.06, 0.06 * 0.011);
    expect(success.min!).to.be.closeTo(0.01, 0.01 * 0.011);
    expect(success.max!).to.be.closeTo(0.03, 0.03 * 0.011);
    const failure = value(semconv.METRIC_CALL_DURATION, {
      [semconv.ATTR_OUTCOME]: 'failure',
    }) as unknown as Histogram;
    expect(failure.count).to.equal(1);
  });

  it('records no duration histogram unless asked (it costs an SDK record per call)', async () => {
    const own = new ExportedMetrics();
    const other = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider({ readers: [own.reader] }),
    });
    other.register('quiet').recordCall(CallOutcome.SUCCESS, 5);
    clock.tick(1000);
    const names = [...(await own.flush()).keys()];
    expect(names).to.include(semconv.METRIC_CALLS);
    expect(names).not.to.include(semconv.METRIC_CALL_DURATION);
    other.dispose();
  });

  it('observes state (every state, always), time in state, failure rate and latency quantiles', () => {
    const states = points(semconv.METRIC_STATE);
    expect(
      states.map(p => [p.attributes[semconv.ATTR_STATE], p.value])
    ).to.deep.equal([
      ['closed', 1],
      ['open', 0],
      ['half_open', 0],
      ['isolated', 0],
      ['disabled', 0],
    ]);
    const seconds = Object.fromEntries(
      points(semconv.METRIC_STATE_TIME).map(p => [
        p.attributes[semconv.ATTR_STATE],
        p.value,
      ])
    );
    expect(seconds).to.deep.include({ closed: 0.7, open: 0.3, half_open: 0 });
    expect(value(semconv.METRIC_FAILURE_RATE, base)).to.equal(0.25);
    const quantiles = points(semconv.METRIC_LATENCY);
    expect(
      quantiles.map(p => p.attributes[semconv.ATTR_QUANTILE])
    ).to.deep.equal([0.5, 0.9, 0.95, 0.99]);
    expect(quantiles[0].value).to.be.closeTo(0.02, 0.02 * 0.011);
    expect(metrics.get(semconv.METRIC_LATENCY)!.descriptor.unit).to.equal('s');
    expect(value(semconv.METRIC_IN_FLIGHT, base)).to.equal(0);
  });

  it('observes health, trends, trip patterns and resources', () => {
    const health = points(semconv.METRIC_HEALTH);
    expect(health.map(p => p.attributes[semconv.ATTR_HEALTH])).to.deep.equal([
      'healthy',
      'degraded',
      'unhealthy',
      'unknown',
    ]);
    expect(health.reduce((total, p) => total + p.value, 0)).to.equal(1);
    expect(
      points(semconv.METRIC_TREND_SLOPE).map(
        p => p.attributes[semconv.ATTR_SIGNAL]
      )
    ).to.deep.equal(['latency', 'error_rate']);
    expect(value(semconv.METRIC_TRIP_RATE, base)).to.equal(1);
    expect(
      value(semconv.METRIC_RESOURCE, { [semconv.ATTR_RESOURCE]: 'db.pool' })
    ).to.equal(5);
    expect(
      value(semconv.METRIC_RESOURCE, { [semconv.ATTR_RESOURCE]: 'in_flight' })
    ).to.equal(0);
  });

  it('has one description and type per instrument name', () => {
    for (const [name, metric] of metrics) {
      expect(metric.descriptor.description, name)
        .to.be.a('string')
        .and.not.equal('');
    }
    expect(metrics.get(semconv.METRIC_CALLS)!.dataPointType).to.equal(
      DataPointType.SUM
    );
    expect(metrics.get(semconv.METRIC_STATE)!.dataPointType).to.equal(
      DataPointType.GAUGE
    );
    expect(metrics.get(semconv.METRIC_STATE_TIME)!.dataPointType).to.equal(
      DataPointType.SUM
    );
  });

  it('counts anomalies by kind and observes their scores', async () => {
    const breaker = collector.register('slow');
    for (let s = 0; s < 30; s++) {
      for (let i = 0; i < 20; i++)
        breaker.recordCall(CallOutcome.SUCCESS, 10 + (i % 3));
      clock.tick(1000);
    }
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < 20; i++) breaker.recordCall(CallOutcome.SUCCESS, 100);
      clock.tick(1000);
    }
    metrics = await exported.flush();
    expect(
      value(semconv.METRIC_ANOMALIES, {
        [semconv.ATTR_NAME]: 'slow',
        [semconv.ATTR_ANOMALY_KIND]: 'latency',
      })
    ).to.equal(1);
    expect(
      value(semconv.METRIC_ANOMALY_SCORE, {
        [semconv.ATTR_NAME]: 'slow',
        [semconv.ATTR_ANOMALY_KIND]: 'latency',
      })
    ).to.be.above(2);
  });

  it('stops observing a disposed breaker', async () => {
    collector.dispose();
    const after = await exported.flush();
    expect(after.get(semconv.METRIC_STATE)?.dataPoints ?? []).to.have.length(0);
  });
});

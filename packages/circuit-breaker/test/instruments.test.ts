import { expect } from 'chai';
import { diag, metrics as metricsApi } from '@opentelemetry/api';
import type * as sinon from 'sinon';
import { DataPointType, MeterProvider } from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  Histogram,
  MetricData,
} from '@opentelemetry/sdk-metrics';
import { BreakerState, CallOutcome, CircuitBreakerMetrics } from '../src';
import { captureWarnings, ExportedMetrics, fakeTime } from './util';

/** The one metric named `name` among `metrics`; undefined if none, throws if several. */
function only(metrics: MetricData[], name: string): MetricData | undefined {
  const found = metrics.filter(m => m.descriptor.name === name);
  expect(found.length, `metrics named ${name}`).to.be.at.most(1);
  return found[0];
}

describe('the OpenTelemetry instruments', () => {
  let clock: sinon.SinonFakeTimers;
  let exported: ExportedMetrics;
  let collector: CircuitBreakerMetrics;
  let metrics: MetricData[];

  const points = <T = number>(name: string) =>
    (only(metrics, name)?.dataPoints ?? []) as DataPoint<T>[];
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
    'circuit_breaker.name': 'svc',
    region: 'eu',
    'service.area': 'checkout',
  };

  it('counts calls by outcome, fallbacks, health checks and transitions by state', () => {
    expect(
      value('circuit_breaker.calls', {
        ...base,
        'circuit_breaker.outcome': 'success',
      })
    ).to.equal(3);
    expect(
      value('circuit_breaker.calls', { 'circuit_breaker.outcome': 'failure' })
    ).to.equal(1);
    expect(
      value('circuit_breaker.calls', { 'circuit_breaker.outcome': 'rejected' })
    ).to.equal(1);
    expect(points('circuit_breaker.calls')).to.have.length(3);
    expect(value('circuit_breaker.fallbacks', base)).to.equal(1);
    expect(value('circuit_breaker.health_check.failures', base)).to.equal(2);
    for (const state of ['open', 'half_open', 'closed']) {
      expect(
        value('circuit_breaker.transitions', { 'circuit_breaker.state': state })
      ).to.equal(1);
    }
  });

  it('records durations in seconds by outcome, each within the sketch bound', () => {
    const success = value('circuit_breaker.call.duration', {
      'circuit_breaker.outcome': 'success',
    }) as unknown as Histogram;
    expect(
      only(metrics, 'circuit_breaker.call.duration')!.descriptor.unit
    ).to.equal('s');
    expect(success.count).to.equal(3);
    expect(success.sum!).to.be.closeTo(0.06, 0.06 * 0.011);
    expect(success.min!).to.be.closeTo(0.01, 0.01 * 0.011);
    expect(success.max!).to.be.closeTo(0.03, 0.03 * 0.011);
    const failure = value('circuit_breaker.call.duration', {
      'circuit_breaker.outcome': 'failure',
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
    const names = (await own.flush()).map(m => m.descriptor.name);
    expect(names).to.include('circuit_breaker.calls');
    expect(names).not.to.include('circuit_breaker.call.duration');
    other.dispose();
  });

  it('observes state (every state, always), time in state, failure rate and latency quantiles', () => {
    const states = points('circuit_breaker.state');
    expect(
      states.map(p => [p.attributes['circuit_breaker.state'], p.value])
    ).to.deep.equal([
      ['closed', 1],
      ['open', 0],
      ['half_open', 0],
      ['isolated', 0],
      ['disabled', 0],
    ]);
    const seconds = Object.fromEntries(
      points('circuit_breaker.state.time').map(p => [
        p.attributes['circuit_breaker.state'],
        p.value,
      ])
    );
    expect(seconds).to.deep.include({ closed: 0.7, open: 0.3, half_open: 0 });
    expect(value('circuit_breaker.failure_rate', base)).to.equal(0.25);
    const quantiles = points('circuit_breaker.latency');
    expect(quantiles.map(p => p.attributes['quantile'])).to.deep.equal([
      0.5, 0.9, 0.95, 0.99,
    ]);
    expect(quantiles[0].value).to.be.closeTo(0.02, 0.02 * 0.011);
    expect(only(metrics, 'circuit_breaker.latency')!.descriptor.unit).to.equal(
      's'
    );
    expect(value('circuit_breaker.in_flight', base)).to.equal(0);
  });

  it('observes health, trends, trip patterns and resources', () => {
    const health = points('circuit_breaker.health');
    expect(
      health.map(p => p.attributes['circuit_breaker.health'])
    ).to.deep.equal(['healthy', 'degraded', 'unhealthy', 'unknown']);
    expect(health.reduce((total, p) => total + p.value, 0)).to.equal(1);
    // One gauge per unit: latency in s per s, failure rate per s.
    expect(
      only(metrics, 'circuit_breaker.latency.trend')!.descriptor.unit
    ).to.equal('s/s');
    expect(value('circuit_breaker.latency.trend', base)).to.equal(0);
    expect(
      only(metrics, 'circuit_breaker.failure_rate.trend')!.descriptor.unit
    ).to.equal('1/s');
    expect(value('circuit_breaker.failure_rate.trend', base)).to.equal(0);
    expect(value('circuit_breaker.trips.rate', base)).to.equal(1);
    expect(
      value('circuit_breaker.resource.usage', {
        'circuit_breaker.resource': 'db.pool',
      })
    ).to.equal(5);
    expect(
      value('circuit_breaker.resource.usage', {
        'circuit_breaker.resource': 'in_flight',
      })
    ).to.equal(0);
  });

  it('exports each instrument once, described, with the type and unit the README tables', () => {
    // From the README's instrument table; the anomaly instruments show once
    // there is a baseline (see the next test).
    const expected: Record<string, [DataPointType, string]> = {
      'circuit_breaker.calls': [DataPointType.SUM, '{call}'],
      'circuit_breaker.fallbacks': [DataPointType.SUM, '{call}'],
      'circuit_breaker.health_check.failures': [DataPointType.SUM, '{check}'],
      'circuit_breaker.call.duration': [DataPointType.HISTOGRAM, 's'],
      'circuit_breaker.transitions': [DataPointType.SUM, '{transition}'],
      'circuit_breaker.state': [DataPointType.GAUGE, '1'],
      'circuit_breaker.state.time': [DataPointType.SUM, 's'],
      'circuit_breaker.failure_rate': [DataPointType.GAUGE, '1'],
      'circuit_breaker.latency': [DataPointType.GAUGE, 's'],
      'circuit_breaker.in_flight': [DataPointType.GAUGE, '{call}'],
      'circuit_breaker.health': [DataPointType.GAUGE, '1'],
      'circuit_breaker.latency.trend': [DataPointType.GAUGE, 's/s'],
      'circuit_breaker.failure_rate.trend': [DataPointType.GAUGE, '1/s'],
      'circuit_breaker.trips.rate': [DataPointType.GAUGE, '{trip}/h'],
      'circuit_breaker.resource.usage': [DataPointType.GAUGE, '1'],
    };
    const names = metrics.map(m => m.descriptor.name);
    expect([...names].sort()).to.deep.equal(Object.keys(expected).sort());
    for (const metric of metrics) {
      const { name, description, unit } = metric.descriptor;
      expect(description, name).to.be.a('string').and.not.equal('');
      expect([metric.dataPointType, unit], name).to.deep.equal(expected[name]);
    }
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
      value('circuit_breaker.anomalies', {
        'circuit_breaker.name': 'slow',
        'circuit_breaker.anomaly.kind': 'latency',
      })
    ).to.equal(1);
    expect(
      value('circuit_breaker.anomaly.score', {
        'circuit_breaker.name': 'slow',
        'circuit_breaker.anomaly.kind': 'latency',
      })
    ).to.be.above(2);
    expect(
      value('circuit_breaker.anomaly.active', {
        'circuit_breaker.name': 'slow',
        'circuit_breaker.anomaly.kind': 'latency',
      })
    ).to.equal(1);
    for (const name of [
      'circuit_breaker.anomalies',
      'circuit_breaker.anomaly.score',
      'circuit_breaker.anomaly.active',
    ]) {
      const { description, unit } = only(metrics, name)!.descriptor;
      expect(description, name).to.not.equal('');
      expect(unit, name).to.equal(
        name.endsWith('anomalies') ? '{anomaly}' : '1'
      );
    }
  });

  it('stops observing a disposed breaker', async () => {
    collector.dispose();
    const after = await exported.flush();
    expect(
      only(after, 'circuit_breaker.state')?.dataPoints ?? []
    ).to.have.length(0);
  });
});

describe('a collector on the global MeterProvider', () => {
  let clock: sinon.SinonFakeTimers;
  let warnings: string[];

  beforeEach(() => {
    metricsApi.disable();
    clock = fakeTime();
    warnings = captureWarnings();
  });
  afterEach(() => {
    diag.disable();
    metricsApi.disable();
    clock.restore();
  });

  const calls = (exported: MetricData[]) =>
    (only(exported, 'circuit_breaker.calls')?.dataPoints ?? []).reduce(
      (total, p) => total + (p.value as number),
      0
    );

  it('says once that there is none, then reports to the one registered later', async () => {
    const collector = new CircuitBreakerMetrics(); // before any provider
    const breaker = collector.register('payments');
    try {
      breaker.recordCall(CallOutcome.SUCCESS, 5);
      clock.tick(3000);
      expect(
        warnings.filter(w => /no global MeterProvider/.test(w))
      ).to.have.length(1);

      const exported = new ExportedMetrics(); // e.g. setupMetrics() now
      metricsApi.setGlobalMeterProvider(
        new MeterProvider({ readers: [exported.reader] })
      );
      breaker.recordCall(CallOutcome.SUCCESS, 5);
      breaker.recordCall(CallOutcome.FAILURE, 5);
      clock.tick(1000);
      expect(calls(await exported.flush())).to.equal(2);
    } finally {
      collector.dispose();
    }
  });

  it('stops following it once given a provider', async () => {
    const collector = new CircuitBreakerMetrics();
    const own = new ExportedMetrics();
    collector.setMeterProvider(new MeterProvider({ readers: [own.reader] }));
    const global = new ExportedMetrics();
    metricsApi.setGlobalMeterProvider(
      new MeterProvider({ readers: [global.reader] })
    );
    try {
      collector.register('payments').recordCall(CallOutcome.SUCCESS, 5);
      clock.tick(1000);
      expect(calls(await own.flush())).to.equal(1);
      expect(calls(await global.flush())).to.equal(0);
      expect(warnings).to.deep.equal([]);
    } finally {
      collector.dispose();
    }
  });
});

import { expect } from 'chai';
import { OTLPSummaryMetricExporter } from '../src/export/otlp';
import { SUMMARY_DATA_POINT_TYPE, isSummaryMetricData } from '../src';
import { RetentionMetricReader } from '../src';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { harness, metric, pointWith, points, summary } from './util';
import type { Harness } from './util';

const COLLECT = 10_000;
/** Scale 5 holds for data within a ratio of 76,000 at the default 520 buckets. */
const BOUND = 0.01083;

function lognormal(n: number, seed: number): number[] {
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    seed = (seed * 48271) % 2147483647;
    const u = seed / 2147483647;
    seed = (seed * 48271) % 2147483647;
    const v = seed / 2147483647;
    values.push(
      20 * Math.exp(Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v))
    );
  }
  return values;
}

const exact = (sorted: number[], q: number) =>
  sorted[Math.floor(q * (sorted.length - 1))];

describe('RetentionMetricReader summaries', () => {
  let h: Harness;
  afterEach(async () => h.close());

  it('reports quantiles, count, mean and stddev that agree with the exact ones', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: COLLECT,
    });
    const values = lognormal(20_000, 7);
    const histogram = h.meter.createHistogram('latency', { unit: 'ms' });
    for (const v of values) histogram.record(v, { route: '/a' });
    await h.tick(COLLECT);
    const sorted = values.slice().sort((a, b) => a - b);
    const latest = h.latest();
    for (const q of [0.5, 0.9, 0.95, 0.99]) {
      const reported = pointWith(latest, 'latency.summary', {
        route: '/a',
        quantile: q,
      })!.value;
      expect(Math.abs(reported - exact(sorted, q)), `q=${q}`).to.be.at.most(
        exact(sorted, q) * BOUND
      );
    }
    expect(
      pointWith(latest, 'latency.summary', { quantile: 0 })!.value
    ).to.equal(sorted[0]);
    expect(
      pointWith(latest, 'latency.summary', { quantile: 1 })!.value
    ).to.equal(sorted[sorted.length - 1]);
    expect(points(latest, 'latency.summary.count')[0].value).to.equal(
      values.length
    );
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(points(latest, 'latency.summary.mean')[0].value).to.be.closeTo(
      mean,
      mean * 1e-12
    );
    const stddev = Math.sqrt(
      values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length
    );
    expect(
      Math.abs(points(latest, 'latency.summary.stddev')[0].value - stddev)
    ).to.be.at.most(stddev * 0.05);
    expect(metric(latest, 'latency.summary')!.descriptor.unit).to.equal('ms');
    // The exponential histogram itself is exported too.
    expect(
      points<{ count: number }>(latest, 'latency')[0].value.count
    ).to.equal(values.length);
  });

  it('slides its window: values older than windowMillis leave the quantiles', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: COLLECT,
      summary: { windowMillis: 60_000, slots: 6 },
    });
    const histogram = h.meter.createHistogram('latency');
    histogram.record(1000);
    await h.tick(COLLECT);
    expect(
      pointWith(h.latest(), 'latency.summary', { quantile: 1 })!.value
    ).to.equal(1000);
    await h.tick(50_000);
    histogram.record(2);
    await h.tick(COLLECT); // t = 70 s: the first slot has left the window
    expect(
      pointWith(h.latest(), 'latency.summary', { quantile: 1 })!.value
    ).to.equal(2);
    expect(points(h.latest(), 'latency.summary.count')[0].value).to.equal(1);
    expect(
      points<{ count: number }>(h.latest(), 'latency')[0].value.count
    ).to.equal(2);
    await h.tick(60_000); // nothing in the window any more: no summary point
    expect(points(h.latest(), 'latency.summary')).to.have.length(0);
  });

  it('exports real Summary points where the exporter carries them', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: COLLECT,
      summary: { export: 'summary', quantiles: [0.5, 0.99] },
    });
    const histogram = h.meter.createHistogram('latency');
    for (let v = 1; v <= 100; v++) histogram.record(v, { route: '/a' });
    await h.tick(COLLECT);
    for (let v = 1; v <= 100; v++) histogram.record(v, { route: '/a' });
    await h.tick(COLLECT);
    const found = summary(h.latest(), 'latency.summary')!;
    expect(found.dataPointType).to.equal(SUMMARY_DATA_POINT_TYPE);
    expect(isSummaryMetricData(found)).to.equal(true);
    const value = found.dataPoints[0].value;
    expect(value.count).to.equal(200); // cumulative since the series started
    expect(value.sum).to.equal(10_100);
    expect(value.quantileValues.map(q => q.quantile)).to.deep.equal([
      0, 0.5, 0.99, 1,
    ]);
    expect(value.quantileValues[0].value).to.equal(1);
    expect(value.quantileValues[3].value).to.equal(100);
    expect(Math.abs(value.quantileValues[1].value - 50)).to.be.at.most(
      50 * BOUND
    );
  });

  it('chooses Summary points for an exporter that declares it carries them', async () => {
    const reader = new RetentionMetricReader({
      exporter: new OTLPSummaryMetricExporter({
        url: 'http://127.0.0.1:9/v1/metrics',
      }),
    });
    const provider = new MeterProvider({ readers: [reader] });
    provider.getMeter('auto').createHistogram('latency').record(3);
    const { resourceMetrics } = await reader.collect();
    const found = resourceMetrics.scopeMetrics
      .flatMap(s => s.metrics)
      .find(m => m.descriptor.name === 'latency.summary');
    expect(found && isSummaryMetricData(found)).to.equal(true);
    h = harness();
  });

  it('can be turned off', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: COLLECT,
      summary: false,
    });
    h.meter.createHistogram('latency').record(5);
    await h.tick(COLLECT);
    expect(metric(h.latest(), 'latency')).not.to.equal(undefined);
    expect(metric(h.latest(), 'latency.summary')).to.equal(undefined);
    expect(metric(h.latest(), 'latency.summary.mean')).to.equal(undefined);
  });
});

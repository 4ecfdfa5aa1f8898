import { expect } from 'chai';
import {
  AggregationType,
  DataPointType,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import type { ExponentialHistogramPoint } from '@datapunk/otel-sketch';
import { relativeErrorAt } from '../util';

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Our point type and the SDK's are the same shape, both ways. */
const toSdk = (point: ExponentialHistogramPoint): ExponentialHistogram => point;
const fromSdk = (point: ExponentialHistogram): ExponentialHistogramPoint =>
  point;

/** Records `values` through a real MeterProvider and returns the SDK's point. */
async function sdkPoint(
  values: number[],
  maxSize: number
): Promise<ExponentialHistogram> {
  const reader = new CollectingReader({
    aggregationSelector: () => ({
      type: AggregationType.EXPONENTIAL_HISTOGRAM,
      options: { maxSize },
    }),
  });
  const provider = new MeterProvider({ readers: [reader] });
  const histogram = provider.getMeter('compat').createHistogram('h');
  for (const v of values) histogram.record(v);
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  const metric = resourceMetrics.scopeMetrics[0].metrics[0];
  expect(metric.dataPointType).to.equal(DataPointType.EXPONENTIAL_HISTOGRAM);
  return metric.dataPoints[0].value as ExponentialHistogram;
}

function random(seed: number): () => number {
  return () => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
}

const DATA: Record<string, (r: () => number) => number[]> = {
  'lognormal latencies': r =>
    Array.from({ length: 20_000 }, () => 20 * Math.exp(3 * (r() - 0.5))),
  'bimodal 90/10': r =>
    Array.from(
      { length: 20_000 },
      () => (r() < 0.9 ? 5 : 500) * (1 + r() / 10)
    ),
  'exact powers of two and zeros': r =>
    Array.from({ length: 5000 }, () =>
      r() < 0.1 ? 0 : 2 ** Math.floor(r() * 40 - 20)
    ),
  'twelve decades': r =>
    Array.from({ length: 20_000 }, () => 10 ** (r() * 12 - 6)),
};

describe('ExponentialSketch against @opentelemetry/sdk-metrics', () => {
  for (const [name, generate] of Object.entries(DATA)) {
    for (const maxSize of [160, 520]) {
      it(`${name}, maxSize ${maxSize}: the same buckets, scale, count, min and max`, async () => {
        const values = generate(random(maxSize + name.length));
        const sdk = await sdkPoint(values, maxSize);
        const sketch = new ExponentialSketch({ maxBuckets: maxSize });
        for (const v of values) sketch.record(v);
        const ours = sketch.toExponentialHistogram();

        expect(ours.scale).to.equal(sdk.scale);
        expect(ours.zeroCount).to.equal(sdk.zeroCount);
        expect(ours.positive).to.deep.equal(sdk.positive);
        expect(ours.count).to.equal(sdk.count);
        expect(ours.min).to.equal(sdk.min);
        expect(ours.max).to.equal(sdk.max);
        // The SDK sums in recording order; ours is the exact sum, rounded once.
        expect(ours.sum).to.be.closeTo(
          sdk.sum ?? NaN,
          Math.abs(ours.sum ?? 0) * 1e-12
        );
      });
    }
  }

  it('reads an SDK point losslessly, with quantiles inside its bound', async () => {
    const values = DATA['lognormal latencies'](random(99));
    const sdk = await sdkPoint(values, 160);
    const sketch = ExponentialSketch.fromExponentialHistogram(fromSdk(sdk));
    expect(toSdk(sketch.toExponentialHistogram())).to.deep.include({
      scale: sdk.scale,
      count: sdk.count,
      positive: sdk.positive,
    });
    const sorted = values.slice().sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))];
      expect(Math.abs(sketch.quantile(q) - exact)).to.be.at.most(
        exact * (relativeErrorAt(sdk.scale) + 1e-12)
      );
    }
  });
});

import { expect } from 'chai';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { createAttributeLimitProcessor } from '../src';
import { harness, metric, pointWith, points, selfCount } from './util';
import type { Harness } from './util';

const COLLECT = 10_000;
const OVERFLOW = { 'otel.metric.overflow': true };

describe('RetentionMetricReader limits', () => {
  let h: Harness;
  afterEach(async () => h.close());

  for (const temporality of [
    AggregationTemporality.CUMULATIVE,
    AggregationTemporality.DELTA,
  ]) {
    const name =
      temporality === AggregationTemporality.CUMULATIVE
        ? 'cumulative'
        : 'delta';
    it(`holds maxSeriesPerMetric in ${name} export: 5 series over 10 cycles of 12 new sets, overflow exact`, async () => {
      h = harness(
        {
          collectionIntervalMillis: COLLECT,
          exportIntervalMillis: COLLECT,
          limits: { maxSeriesPerMetric: 5 },
        },
        temporality
      );
      const counter = h.meter.createCounter('orders');
      let recorded = 0;
      const exported = new Map<string, number>();
      for (let cycle = 0; cycle < 10; cycle++) {
        for (let k = 0; k < 12; k++) {
          const amount = cycle * 10 + k + 1;
          counter.add(amount, { customer: `c${cycle}-${k}` });
          recorded += amount;
        }
        await h.tick(COLLECT);
        const cyclePoints = points(h.latest(), 'orders');
        expect(cyclePoints.length, `cycle ${cycle}`).to.be.at.most(5);
        for (const p of cyclePoints) {
          const key = JSON.stringify(p.attributes);
          exported.set(
            key,
            temporality === AggregationTemporality.DELTA
              ? (exported.get(key) ?? 0) + p.value
              : p.value
          );
        }
      }
      // The first four sets keep their series; everything else is in the overflow series.
      const real = [...exported.entries()].filter(
        ([key]) => key !== JSON.stringify(OVERFLOW)
      );
      expect(real.map(([key]) => JSON.parse(key).customer)).to.deep.equal([
        'c0-0',
        'c0-1',
        'c0-2',
        'c0-3',
      ]);
      const realTotal = real.reduce((total, [, value]) => total + value, 0);
      expect(realTotal).to.equal(1 + 2 + 3 + 4);
      expect(exported.get(JSON.stringify(OVERFLOW))).to.equal(
        recorded - realTotal
      );
      // The SDK's own per-cycle limit (twice ours) folds 3 sets a cycle into one
      // overflow point first; the reader folds the other new sets (5, then 9 a cycle).
      expect(
        selfCount(
          h.latest(),
          'datapunk.metrics.points.overflowed',
          'series_limit'
        )
      ).to.equal(86);
      expect(
        selfCount(
          h.latest(),
          'datapunk.metrics.points.overflowed',
          'sdk_cardinality_limit'
        )
      ).to.equal(10);
    });
  }

  it('holds the limit when new sets trickle in below the SDK’s per-cycle limit', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: COLLECT,
      limits: { maxSeriesPerMetric: 5 },
    });
    const counter = h.meter.createCounter('orders');
    for (let cycle = 0; cycle < 4; cycle++) {
      for (let k = 0; k < 3; k++)
        counter.add(1, { customer: `c${cycle}-${k}` });
      await h.tick(COLLECT);
      expect(
        points(h.latest(), 'orders').length,
        `cycle ${cycle}`
      ).to.be.at.most(5);
    }
    expect(pointWith(h.latest(), 'orders', OVERFLOW)!.value).to.equal(12 - 4);
  });

  it('keeps at most maxMetrics metrics and counts the dropped data', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: COLLECT,
      limits: { maxMetrics: 3 },
    });
    for (let i = 0; i < 5; i++) h.meter.createCounter(`metric.${i}`).add(1);
    await h.tick(COLLECT);
    const kept = [0, 1, 2, 3, 4].filter(
      i => metric(h.latest(), `metric.${i}`) !== undefined
    );
    expect(kept).to.deep.equal([0, 1, 2]);
    expect(
      selfCount(h.latest(), 'datapunk.metrics.points.dropped', 'metric_limit')
    ).to.equal(2);
  });

  it('trims attributes deterministically to maxAttributesPerSeries and maxAttributeValueLength', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: COLLECT,
      limits: { maxAttributesPerSeries: 2, maxAttributeValueLength: 4 },
    });
    const counter = h.meter.createCounter('hits');
    counter.add(1, { zeta: 'z', alpha: 'a-long-value', mid: 'm' });
    counter.add(2, { mid: 'm', alpha: 'a-lo', zeta: 'other' });
    await h.tick(COLLECT);
    expect(
      points(h.latest(), 'hits').map(p => [p.attributes, p.value])
    ).to.deep.equal([[{ alpha: 'a-lo', mid: 'm' }, 3]]);
    counter.add(4, { ['k'.repeat(300)]: 'v' });
    await h.tick(COLLECT);
    expect(
      Object.keys(
        pointWith(h.latest(), 'hits', { ['k'.repeat(256)]: 'v' })!.attributes
      )[0]
    ).to.have.length(256);
    expect(
      selfCount(h.latest(), 'datapunk.metrics.attributes.trimmed', 'keys')
    ).to.equal(2);
    // The long value, then the long key: both cut to a length limit.
    expect(
      selfCount(h.latest(), 'datapunk.metrics.attributes.trimmed', 'values')
    ).to.equal(2);
  });

  it('offers the same limits as an attributes processor for the SDK', async () => {
    const processor = createAttributeLimitProcessor({
      maxAttributesPerSeries: 1,
      maxAttributeValueLength: 3,
    });
    const within = { a: 'x' };
    expect(processor.process(within)).to.equal(within);
    expect(processor.process({ b: 'yy', a: 'long' })).to.deep.equal({
      a: 'lon',
    });
    expect(processor.process({ tags: ['abcd', 'ef'] })).to.deep.equal({
      tags: ['abc', 'ef'],
    });
    expect(() =>
      createAttributeLimitProcessor({ maxAttributesPerSeries: 0 })
    ).to.throw(
      RangeError,
      /createAttributeLimitProcessor: option 'maxAttributesPerSeries' must be an integer ≥ 1/
    );

    h = harness({}, AggregationTemporality.CUMULATIVE, [
      { instrumentName: '*', attributesProcessors: [processor] },
    ]);
    h.meter.createCounter('views').add(1, { zz: 'q', aa: 'long' });
    await h.settle(h.reader.forceFlush());
    expect(
      pointWith(h.latest(), 'views', { aa: 'lon' })?.attributes
    ).to.deep.equal({ aa: 'lon' });
  });
});

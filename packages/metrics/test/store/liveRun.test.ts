import { expect } from 'chai';
import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import { RetentionMeterProvider } from '../../src';
import { fakeClock, pointWith, T0 } from '../util';

const COLLECT = 1_000;

/** A seeded value in (1, 1000). */
function value(i: number): number {
  return 1.1 + ((i * 2654435761) % 999_983) / 1001;
}

function bucketsOf(point: ExponentialHistogram): Map<number, number> {
  const counts = new Map<number, number>();
  point.positive.bucketCounts.forEach((count, i) => {
    if (count > 0) counts.set(point.positive.offset + i, count);
  });
  return counts;
}

/**
 * A cumulative histogram's exported value takes each collection's delta as
 * a point of its own until an export merges them (or eight wait): what it
 * exports must be every value recorded, whatever the number of collections
 * between reads.
 */
describe('the exported value of a cumulative histogram, collection after collection', () => {
  it('exports every value recorded, read after 1, 7, 8, 9 and 30 collections', async () => {
    const clock = fakeClock();
    const provider = new RetentionMeterProvider({
      collectionIntervalMillis: COLLECT,
    });
    try {
      const histogram = provider.getMeter('m').createHistogram('latency');
      // The same values straight into one sketch of the store's defaults:
      // the buckets every delta, merged in any grouping, must add up to.
      const reference = new ExponentialSketch({ maxScale: 5, maxBuckets: 520 });
      const recorded: number[] = [];
      let step = 0;
      let i = 0;
      for (const collections of [1, 7, 8, 9, 30]) {
        for (let c = 0; c < collections; c++) {
          for (let k = 0; k < 3; k++) {
            const v = value(i++);
            recorded.push(v);
            reference.record(v);
            histogram.record(v, { route: '/a' });
          }
          clock.setSystemTime(T0 + ++step * COLLECT);
          await provider.forceFlush();
        }
        const point = pointWith<ExponentialHistogram>(
          (await provider.collect()).resourceMetrics,
          'latency',
          { route: '/a' }
        )!.value;
        expect(point.count, `after ${collections}`).to.equal(recorded.length);
        expect(point.sum).to.be.closeTo(
          recorded.reduce((a, b) => a + b, 0),
          1e-9 * recorded.length * 1000
        );
        expect(point.min).to.equal(Math.min(...recorded));
        expect(point.max).to.equal(Math.max(...recorded));
        const expected = reference.toExponentialHistogram();
        expect(point.scale).to.equal(expected.scale);
        expect(bucketsOf(point)).to.deep.equal(
          bucketsOf(expected as ExponentialHistogram)
        );
      }
    } finally {
      try {
        await provider.shutdown();
      } finally {
        clock.restore();
      }
    }
  });
});

import { expect } from 'chai';
import { RetentionMeterProvider } from '../../src';
import { fakeClock, T0 } from '../util';

const STEP = 10_000;
const SERIES = 400;
const STEPS = 240;

/**
 * Series record on different cycles and amounts, so that their history
 * tracks grow, shrink and move at different times, leaving holes the store
 * compacts (blocks slid down, chunks emptied). Values are integers: sums
 * are exact whatever the order of addition.
 */
function valuesAt(series: number, step: number): number[] {
  if (step % (1 + (series % 5)) !== 0) return [];
  const values: number[] = [];
  const n = 1 + ((series * 7 + step * 3) % 23);
  for (let v = 0; v < n; v++)
    values.push(1 + ((series * 131 + step * 17 + v * 29) % 997));
  return values;
}

describe('the store’s arena compaction', () => {
  it('keeps every history point intact while tracks grow, shrink and move', async function () {
    this.timeout(60_000);
    const clock = fakeClock();
    const provider = new RetentionMeterProvider({
      collectionIntervalMillis: STEP,
      exportIntervalMillis: STEP,
      tiers: [
        { resolutionMillis: STEP, durationMillis: 10 * 60_000 },
        { resolutionMillis: 60_000, durationMillis: 60 * 60_000 },
      ],
    });
    try {
      const histogram = provider.getMeter('m').createHistogram('latency');
      const count = new Array<number>(SERIES).fill(0);
      const sum = new Array<number>(SERIES).fill(0);
      for (let step = 1; step <= STEPS; step++) {
        for (let series = 0; series < SERIES; series++)
          for (const value of valuesAt(series, step)) {
            histogram.record(value, { route: `/r/${series}` });
            count[series]++;
            sum[series] += value;
          }
        clock.setSystemTime(T0 + step * STEP);
        await provider.forceFlush();
      }
      // 40 minutes: nothing has aged out of the hour-long tier yet.
      for (let series = 0; series < SERIES; series++) {
        const result = provider.query('latency', {
          attributes: { route: `/r/${series}` },
          fromMillis: T0,
        })!;
        expect(result.count, `series ${series}`).to.equal(count[series]);
        expect(result.sum, `series ${series}`).to.equal(sum[series]);
      }
    } finally {
      await provider.shutdown();
      clock.restore();
    }
  });
});

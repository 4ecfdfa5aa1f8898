import { expect } from 'chai';
import { harness, selfCount, T0 } from './util';
import type { Harness } from './util';

/** Tier 0: 1 s points for 10 s; tier 1: 5 s points until they are 60 s old. */
const OPTIONS = {
  collectionIntervalMillis: 1000,
  exportIntervalMillis: 60_000,
  seriesTtlMillis: 600_000,
  tiers: [
    { resolutionMillis: 1000, durationMillis: 10_000 },
    { resolutionMillis: 5000, durationMillis: 60_000 },
  ],
};
const sumTo = (from: number, to: number) => ((from + to) * (to - from + 1)) / 2;

describe('RetentionMetricReader queries and roll-ups', () => {
  let h: Harness;
  afterEach(async () => h.close());

  /** Adds k during second k - 1, so value k lands in the point [k - 1, k) s. */
  async function countUpTo(seconds: number, attributes = {}) {
    const counter = h.meter.createCounter('work');
    for (let k = 1; k <= seconds; k++) {
      counter.add(k, attributes);
      await h.tick(1000);
    }
  }

  it('keeps totals exact across tiers while points roll up', async () => {
    h = harness(OPTIONS);
    await countUpTo(50);
    const all = h.reader.query('work')!;
    expect(all.kind).to.equal('sum');
    expect(all.sum).to.equal(sumTo(1, 50));
    expect(all.resolutionMillis).to.equal(5000); // older data now lives in tier 1
    expect(all.fromMillis).to.equal(T0);
  });

  it('drops points that age out of the last tier', async () => {
    h = harness(OPTIONS);
    await countUpTo(120);
    // Tier-1 points [0, 60) s ended 60 s before now: gone, and counted.
    expect(h.reader.query('work')!.sum).to.equal(sumTo(61, 120));
    await h.settle(h.reader.forceFlush());
    expect(
      selfCount(h.latest(), 'datapunk.metrics.history.evicted', 'age')
    ).to.equal(12);
  });

  it('answers ranges within one tier and across tiers', async () => {
    h = harness(OPTIONS);
    await countUpTo(30);
    const coarse = h.reader.query('work', {
      fromMillis: T0 + 10_000,
      toMillis: T0 + 20_000,
    })!;
    expect(coarse.sum).to.equal(sumTo(11, 20));
    expect(coarse.resolutionMillis).to.equal(5000);
    const spanning = h.reader.query('work', {
      fromMillis: T0 + 15_000,
      toMillis: T0 + 25_000,
    })!;
    expect(spanning.sum).to.equal(sumTo(16, 25));
    expect(spanning.rate).to.equal(sumTo(16, 25) / 10);
    const fine = h.reader.query('work', {
      fromMillis: T0 + 27_000,
      toMillis: T0 + 29_000,
    })!;
    expect(fine.sum).to.equal(28 + 29);
    expect(fine.resolutionMillis).to.equal(1000);
  });

  it('merges the series whose attributes include the filter', async () => {
    h = harness(OPTIONS);
    const counter = h.meter.createCounter('requests');
    counter.add(1, { route: '/a', method: 'GET' });
    counter.add(2, { route: '/a', method: 'POST' });
    counter.add(4, { route: '/b', method: 'GET' });
    await h.tick(1000);
    expect(h.reader.query('requests')).to.include({ series: 3, sum: 7 });
    expect(
      h.reader.query('requests', { attributes: { route: '/a' } })
    ).to.include({ series: 2, sum: 3 });
    expect(
      h.reader.query('requests', {
        attributes: { route: '/a', method: 'POST' },
      })
    ).to.include({ series: 1, sum: 2 });
    expect(
      h.reader.query('requests', { attributes: { route: '/c' } })
    ).to.include({ series: 0, sum: 0 });
  });

  it('rolls gauges up keeping last, min, max and mean', async () => {
    h = harness(OPTIONS);
    const gauge = h.meter.createGauge('queue');
    const values = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 11, 0];
    for (const v of values) {
      gauge.record(v);
      await h.tick(1000);
    }
    await h.tick(20_000); // all of it in tier 1 now
    const result = h.reader.query('queue')!;
    expect(result).to.include({
      kind: 'gauge',
      count: 12,
      min: 0,
      max: 11,
      last: 0,
      resolutionMillis: 5000,
    });
    expect(result.mean).to.be.closeTo(66 / 12, 1e-12);
  });

  it('merges histogram sketches across tiers, with percentiles and custom statistics', async () => {
    h = harness(OPTIONS);
    const histogram = h.meter.createHistogram('latency');
    for (let second = 0; second < 30; second++) {
      for (let i = 1; i <= 100; i++) histogram.record(i);
      await h.tick(1000);
    }
    const spread = h.reader.registerStatistic(
      'spread',
      ({ sketch }) => sketch!.max - sketch!.min
    );
    const broken = h.reader.registerStatistic('broken', () => {
      throw new Error('bad statistic');
    });
    const result = h.reader.query('latency')!;
    expect(result).to.include({
      kind: 'histogram',
      count: 3000,
      sum: 151_500,
      min: 1,
      max: 100,
      mean: 50.5,
    });
    expect(Math.abs(result.percentiles!.p99 - 99)).to.be.at.most(99 * 0.0109);
    expect(Math.abs(result.median! - 50)).to.be.at.most(50 * 0.0109);
    expect(result.statistics).to.deep.equal({ spread: 99, broken: NaN });
    spread.dispose();
    broken.dispose();
    expect(h.reader.query('latency')!.statistics).to.equal(undefined);
    expect(() => h.reader.registerStatistic('p', 5 as never)).to.throw(
      TypeError,
      /'p' needs a function/
    );
    h.reader.registerStatistic('p', () => 1);
    expect(() => h.reader.registerStatistic('p', () => 1)).to.throw(
      TypeError,
      /name must be a new non-empty string, got "p"/
    );
  });

  it('derives default tiers from the collection interval', async () => {
    h = harness({
      collectionIntervalMillis: 15_000,
      exportIntervalMillis: 60_000,
    });
    h.meter.createCounter('c').add(1);
    await h.tick(15_000);
    expect(h.reader.query('c')!.resolutionMillis).to.equal(15_000);
  });

  it('answers with what was recorded just before, when asked to collect first', async () => {
    // Collections every 10 s (the default): query() alone lags behind.
    h = harness({ exportIntervalMillis: 60_000 });
    h.meter.createCounter('orders').add(4);
    expect(h.reader.query('orders')).to.equal(undefined);
    const fresh = await h.settle(h.reader.collectAndQuery('orders'));
    expect(fresh).to.include({ sum: 4 });
    expect(h.reader.query('orders')).to.include({ sum: 4 });
  });

  for (const seconds of [3, 6, 25]) {
    it(`gives the true rate of a counter ${seconds} s old, over the time its data covers`, async () => {
      // Collections every second, history in 10 s points: a counter that
      // starts at 7 s is in the middle of its first point.
      h = harness({
        collectionIntervalMillis: 1000,
        exportIntervalMillis: 60_000,
      });
      const hits = h.meter.createCounter('hits');
      await h.tick(7000);
      // 10 a second: one every 100 ms.
      const timer = setInterval(() => hits.add(1), 100);
      try {
        await h.tick(seconds * 1000);
      } finally {
        clearInterval(timer);
      }
      const result = (await h.settle(h.reader.collectAndQuery('hits')))!;
      expect(result.sum).to.equal(seconds * 10);
      expect(result.toMillis - result.fromMillis).to.equal(seconds * 1000);
      expect(result.rate).to.be.closeTo(10, 1e-9);
      // Half a second on, before the next collection: nothing is known of
      // that half second, so it is not in the range either.
      await h.tick(500);
      expect(h.reader.query('hits')!.rate).to.be.closeTo(10, 1e-9);
    });
  }

  it('answers undefined for an unknown metric and throws for bad arguments', async () => {
    h = harness(OPTIONS);
    await countUpTo(1);
    expect(h.reader.query('nothing')).to.equal(undefined);
    expect(() => h.reader.query('')).to.throw(
      TypeError,
      /'metricName' must be a non-empty string/
    );
    expect(() =>
      h.reader.query('work', { fromMillis: 5, toMillis: 5 })
    ).to.throw(
      RangeError,
      /RetentionMetricReader\.query: option 'fromMillis' must be < 'toMillis' \(5\), got 5/
    );
    expect(() => h.reader.query('work', { toMillis: NaN })).to.throw(
      RangeError,
      /option 'toMillis' must be a finite number, got NaN/
    );
    expect(() => h.reader.query('work', { attributes: 'x' as never })).to.throw(
      TypeError,
      /option 'attributes' must be an object of attribute values/
    );
  });
});

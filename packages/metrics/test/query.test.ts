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
    // As a backend computes it: the first point ([15, 20) s, 5 s wide) is
    // the baseline; the increase after it over the time from its end.
    expect(spanning.rate).to.equal(sumTo(21, 25) / 5);
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
    it(`gives the rate of a counter ${seconds} s old as a backend does: from two points, over the time between them`, async () => {
      // Collections every second, history in 10 s points: a counter that
      // starts at 7 s is in the middle of its first point.
      h = harness({
        collectionIntervalMillis: 1000,
        exportIntervalMillis: 60_000,
      });
      const hits = h.meter.createCounter('hits');
      // Off every collection boundary: one add each 100 ms from 7.05 s.
      await h.tick(7050);
      const addedAt: number[] = [];
      const timer = setInterval(() => {
        hits.add(1);
        addedAt.push(Date.now());
      }, 100);
      try {
        await h.tick(seconds * 1000);
      } finally {
        clearInterval(timer);
      }
      // The collection needs no timer: fake time stands still meanwhile.
      const queriedAt = Date.now();
      const result = (await h.reader.collectAndQuery('hits'))!;
      expect(Date.now()).to.equal(queriedAt);
      expect(result.sum).to.equal(addedAt.length);
      // The first point, [0, 10) s, is the baseline: the rate is what came
      // after its end, up to the latest collection (now).
      const firstEnd = T0 + 10_000;
      const lastEnd = queriedAt;
      if (lastEnd - T0 < 10_000) {
        expect(result.rate, 'one point only').to.equal(undefined);
        return;
      }
      const after = addedAt.filter(t => t > firstEnd && t <= lastEnd).length;
      expect(result.rate).to.be.closeTo(
        after / ((lastEnd - firstEnd) / 1000),
        1e-9
      );
      // Half a second on, before the next collection: nothing is known of
      // that half second, so the rate is the same.
      await h.tick(500);
      expect(h.reader.query('hits')!.rate).to.equal(result.rate);
    });
  }

  it('never reports a rate across a restart, nor from one point alone', async () => {
    h = harness({
      collectionIntervalMillis: 1000,
      exportIntervalMillis: 60_000,
    });
    const orders = h.meter.createCounter('orders');
    orders.add(1);
    const once = (await h.settle(h.reader.collectAndQuery('orders')))!;
    expect(once.sum).to.equal(1);
    expect(once.rate).to.equal(undefined);
  });

  it('answers an empty range (future, or matching nothing) with no data instead of throwing', async () => {
    h = harness(OPTIONS);
    await countUpTo(3);
    const now = Date.now();
    const future = h.reader.query('work', { fromMillis: now + 60_000 })!;
    expect(future).to.include({
      sum: 0,
      fromMillis: now + 60_000,
      toMillis: now + 60_000,
    });
    expect(future.rate).to.equal(undefined);
    const nothing = h.reader.query('work', {
      fromMillis: T0 - 60_000,
      toMillis: T0 - 30_000,
    })!;
    expect(nothing.sum).to.equal(0);
    expect(nothing.fromMillis).to.equal(nothing.toMillis);
  });

  it('answers undefined for an unknown metric and throws for bad arguments', async () => {
    h = harness(OPTIONS);
    await countUpTo(1);
    expect(h.reader.query('nothing')).to.equal(undefined);
    expect(() => h.reader.query('')).to.throw(
      TypeError,
      /'metricName' must be a non-empty string/
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

import { expect } from 'chai';
import { harness, pointWith, points, selfCount, T0 } from './util';
import type { Harness } from './util';

const COLLECT = 10_000;
const EXPORT = 60_000;
const TTL = 120_000;

describe('RetentionMetricReader retention', () => {
  let h: Harness;
  afterEach(async () => h.close());

  it('stops exporting an async series as soon as it is no longer observed, and frees it once its TTL passes (#4096)', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: EXPORT,
      seriesTtlMillis: TTL,
    });
    let hosts = ['a', 'b'];
    h.meter.createObservableGauge('cpu').addCallback(result => {
      for (const host of hosts) result.observe(0.5, { host });
    });
    await h.tick(EXPORT);
    expect(
      points(h.latest(), 'cpu')
        .map(p => p.attributes.host)
        .sort()
    ).to.deep.equal(['a', 'b']);

    hosts = ['a']; // host b goes away
    // Only sets observed in the latest collection are exported, as the
    // specification asks of asynchronous instruments.
    await h.tick(EXPORT);
    expect(pointWith(h.latest(), 'cpu', { host: 'b' })).to.equal(undefined);
    expect(
      selfCount(h.latest(), 'datapunk.metrics.series.evicted', 'ttl')
    ).to.equal(0);
    await h.tick(TTL);
    expect(points(h.latest(), 'cpu').map(p => p.attributes.host)).to.deep.equal(
      ['a']
    );
    expect(
      selfCount(h.latest(), 'datapunk.metrics.series.evicted', 'ttl')
    ).to.equal(1);
  });

  it('reports every self-metric counter from the first export, at 0 for each reason', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: EXPORT,
    });
    await h.tick(EXPORT);
    const reasons = (name: string) =>
      points(h.latest(), name)
        .map(p => [Object.values(p.attributes)[0], p.value])
        .sort();
    // The reasons each counter documents (README "Self-metrics").
    expect(reasons('datapunk.metrics.series.evicted')).to.deep.equal([
      ['ttl', 0],
    ]);
    expect(reasons('datapunk.metrics.points.dropped')).to.deep.equal([
      ['invalid_point', 0],
      ['metric_limit', 0],
      ['unsupported_aggregation', 0],
    ]);
    expect(reasons('datapunk.metrics.points.overflowed')).to.deep.equal([
      ['sdk_cardinality_limit', 0],
      ['series_limit', 0],
    ]);
    expect(reasons('datapunk.metrics.attributes.trimmed')).to.deep.equal([
      ['invalid', 0],
      ['keys', 0],
      ['values', 0],
    ]);
    expect(reasons('datapunk.metrics.history.evicted')).to.deep.equal([
      ['age', 0],
      ['budget', 0],
      ['future', 0],
    ]);
    expect(reasons('datapunk.metrics.persistence.errors')).to.deep.equal([
      ['read', 0],
      ['write', 0],
    ]);
    expect(reasons('datapunk.metrics.export.failures')).to.deep.equal([
      ['error', 0],
      ['timeout', 0],
    ]);
  });

  it('expires an idle sync series and frees its live state', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: EXPORT,
      seriesTtlMillis: TTL,
      tiers: [],
    });
    const requests = h.meter.createHistogram('latency');
    for (let i = 0; i < 100; i++)
      requests.record(i + 1, { route: `/r${i % 10}` });
    await h.tick(EXPORT);
    const active = () =>
      points(h.latest(), 'datapunk.metrics.series.active')[0].value;
    const liveBytes = () =>
      pointWith(h.latest(), 'datapunk.metrics.retained.bytes', {
        part: 'live',
      })!.value;
    expect(points(h.latest(), 'latency')).to.have.length(10);
    expect(active()).to.equal(10);
    const before = liveBytes();
    // Each series holds at least its exported value: a start time and a
    // histogram's count, sum, min and max (8 bytes each).
    expect(before).to.be.above(10 * 40);

    await h.tick(TTL + EXPORT);
    expect(points(h.latest(), 'latency')).to.have.length(0);
    expect(active()).to.equal(0);
    expect(liveBytes()).to.equal(0);
  });

  it('restarts a series that comes back after expiring, with a new start time', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: EXPORT,
      seriesTtlMillis: TTL,
    });
    const counter = h.meter.createCounter('jobs');
    counter.add(5, { queue: 'q' });
    await h.tick(EXPORT);
    const first = pointWith(h.latest(), 'jobs', { queue: 'q' })!;
    expect(first.value).to.equal(5);
    await h.tick(TTL + EXPORT);
    expect(pointWith(h.latest(), 'jobs', { queue: 'q' })).to.equal(undefined);
    counter.add(2, { queue: 'q' });
    await h.tick(EXPORT);
    const again = pointWith(h.latest(), 'jobs', { queue: 'q' })!;
    expect(again.value).to.equal(2);
    expect(again.startTime[0]).to.be.above(first.startTime[0]);
  });

  it('keeps exporting a cumulative series while it is updated', async () => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: EXPORT,
      seriesTtlMillis: TTL,
    });
    const counter = h.meter.createCounter('ticks');
    for (let minute = 1; minute <= 10; minute++) {
      counter.add(minute);
      await h.tick(EXPORT);
      expect(points(h.latest(), 'ticks')[0].value).to.equal(
        (minute * (minute + 1)) / 2
      );
    }
  });

  it('keeps history within maxRetainedBytes, dropping the oldest points first', async () => {
    const budget = 2_000;
    h = harness({
      collectionIntervalMillis: 1000,
      exportIntervalMillis: 10_000,
      tiers: [{ resolutionMillis: 1000, durationMillis: 3_600_000 }],
      limits: { maxRetainedBytes: budget },
    });
    const latency = h.meter.createHistogram('latency');
    for (let second = 0; second < 120; second++) {
      latency.record(1 + (second % 50));
      await h.tick(1000);
    }
    const history = pointWith(h.latest(), 'datapunk.metrics.retained.bytes', {
      part: 'history',
    })!.value;
    // The budget bounds the points; their blocks are counted whole: a
    // track's block holds at most a quarter more than it needed when it
    // last grew, by one point (under 64 bytes for one value), plus a header
    // and 8-byte rounding.
    expect(history).to.be.above(0);
    expect(history).to.be.at.most((budget + 64) * 1.25 + 16);
    expect(
      selfCount(h.latest(), 'datapunk.metrics.history.evicted', 'budget')
    ).to.be.above(0);
    // The newest second is still there; the first ones are gone.
    const recent = h.reader.query('latency', { fromMillis: T0 + 118_000 })!;
    expect(recent.count).to.be.above(0);
    expect(
      h.reader.query('latency', { fromMillis: T0, toMillis: T0 + 5000 })!.count
    ).to.equal(0);
  });
});

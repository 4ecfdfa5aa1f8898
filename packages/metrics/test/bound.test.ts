import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RetentionMetricReader } from '../src';
import { Instruments } from '../src';
import { harness, pointWith, points, realTimeSetUp, selfCount } from './util';
import type { Harness } from './util';

const COLLECT = 1000;
const EXPORT = 5000;

/** Drops what differs between two metrics of different names: the name itself. */
function exported(h: Harness, name: string): unknown {
  const data = h
    .latest()
    .scopeMetrics.flatMap(s => s.metrics)
    .find(m => m.descriptor.name === name);
  if (data === undefined) return undefined;
  const { descriptor, ...rest } = data;
  return {
    ...rest,
    unit: descriptor.unit,
    dataPoints: [...rest.dataPoints]
      .map(p => ({ ...p, startTime: undefined, endTime: undefined }))
      .sort((a, b) =>
        JSON.stringify(a.attributes) < JSON.stringify(b.attributes) ? -1 : 1
      ),
  };
}

describe('bound instruments (the Instruments facade recording directly)', () => {
  let h: Harness;
  let metrics: Instruments;
  afterEach(async () => h.close());

  const setUp = (options = {}) => {
    h = harness({
      collectionIntervalMillis: COLLECT,
      exportIntervalMillis: EXPORT,
      ...options,
    });
    metrics = new Instruments(h.meter, { reader: h.reader, meterName: 'test' });
  };

  it('exports exactly what the same values give through the OpenTelemetry API', async () => {
    setUp();
    const api = {
      counter: h.meter.createCounter('api.requests'),
      gauge: h.meter.createGauge('api.queue'),
      histogram: h.meter.createHistogram('api.latency'),
    };
    const routes = ['/a', '/b', '/c'];
    const bound = routes.map(route => ({
      counter: metrics.counter('bound.requests').bind({ route }),
      gauge: metrics.gauge('bound.queue').bind({ route }),
      histogram: metrics.histogram('bound.latency').bind({ route }),
    }));
    // Eighths: every sum is exact in doubles, so both paths must agree to
    // the bit. (With arbitrary doubles the direct path's sum is the more
    // exact one: it is the sketch's exact sum, where the SDK adds in order.)
    let k = 1;
    for (let second = 0; second < 12; second++) {
      for (let i = 0; i < 300; i++) {
        const r = i % routes.length;
        k = (k * 31 + 7) % 997;
        const value = k / 8;
        api.counter.add(1, { route: routes[r] });
        api.gauge.record(value - 40, { route: routes[r] });
        api.histogram.record(value, { route: routes[r] });
        bound[r].counter.add(1);
        bound[r].gauge.set(value - 40);
        bound[r].histogram.record(value);
      }
      await h.tick(1000);
    }
    for (const [a, b] of [
      ['api.requests', 'bound.requests'],
      ['api.queue', 'bound.queue'],
      ['api.latency', 'bound.latency'],
      ['api.latency.window', 'bound.latency.window'],
    ]) {
      expect(exported(h, a), a).to.not.equal(undefined);
      expect(exported(h, b), b).to.deep.equal(exported(h, a));
    }
    expect(h.reader.query('bound.latency')).to.deep.include({
      count: h.reader.query('api.latency')!.count,
      sum: h.reader.query('api.latency')!.sum,
    });
  });

  it('recognises a reused attributes object, and one the caller changed', async () => {
    setUp();
    const counter = metrics.counter('jobs');
    const attributes: Record<string, string> = { queue: 'a' };
    counter.add(1, attributes);
    counter.add(2, attributes);
    attributes.queue = 'b';
    counter.add(4, attributes);
    attributes.extra = 'x';
    counter.add(8, attributes);
    counter.add(16, { queue: 'a' });
    await h.tick(EXPORT);
    expect(pointWith(h.latest(), 'jobs', { queue: 'a' })!.value).to.equal(19);
    const b = points(h.latest(), 'jobs').filter(
      p => p.attributes.queue === 'b'
    );
    expect(
      b.map(p => [p.attributes.extra ?? 'none', p.value]).sort()
    ).to.deep.equal([
      ['none', 4],
      ['x', 8],
    ]);
  });

  it('keeps to maxSeriesPerMetric: sets past it fold into the overflow series, nothing lost', async () => {
    setUp({ limits: { maxSeriesPerMetric: 5 } });
    const handles = Array.from({ length: 12 }, (_, i) =>
      metrics.counter('requests').bind({ user: `u${i}` })
    );
    handles.forEach((handle, i) => handle.add(i + 1));
    await h.tick(EXPORT);
    const exportedPoints = points(h.latest(), 'requests');
    expect(exportedPoints).to.have.length(5);
    const overflow = pointWith(h.latest(), 'requests', {
      'otel.metric.overflow': true,
    })!;
    expect(overflow).to.not.equal(undefined);
    const total = exportedPoints.reduce((sum, p) => sum + p.value, 0);
    expect(total).to.equal((12 * 13) / 2);
    expect(
      selfCount(h.latest(), 'datapunk.metrics.points.overflowed')
    ).to.be.above(0);
  });

  it('starts a new series when a handle is used after its series expired', async () => {
    setUp({ seriesTtlMillis: 30_000 });
    const handle = metrics.counter('logins').bind({ region: 'eu' });
    handle.add(5);
    await h.tick(EXPORT);
    expect(pointWith(h.latest(), 'logins', { region: 'eu' })!.value).to.equal(
      5
    );
    await h.tick(60_000); // idle past the TTL (and past the handle's own idle limit)
    expect(pointWith(h.latest(), 'logins', { region: 'eu' })).to.equal(
      undefined
    );
    expect(
      selfCount(h.latest(), 'datapunk.metrics.series.evicted', 'ttl')
    ).to.equal(1);
    handle.add(2);
    await h.tick(EXPORT);
    expect(pointWith(h.latest(), 'logins', { region: 'eu' })!.value).to.equal(
      2
    );
  });

  it('keeps counting through a handle idle for a while, within the TTL', async () => {
    setUp({ seriesTtlMillis: 600_000 });
    const handle = metrics.histogram('size').bind();
    handle.record(10);
    await h.tick(20_000); // idle long enough for the handle's series to be let go
    handle.record(30);
    await h.tick(EXPORT);
    expect(
      pointWith<{ count: number; sum: number }>(h.latest(), 'size', {})!.value
    ).to.include({ count: 2, sum: 40 });
  });

  it('records through a method taken off its handle', async () => {
    setUp();
    const { add } = metrics.counter('jobs').bind({ queue: 'a' });
    const { set } = metrics.gauge('depth').bind({ queue: 'a' });
    const { record } = metrics.histogram('size').bind({ queue: 'a' });
    const { observe } = metrics.summary('wait').bind({ queue: 'a' });
    const timer = metrics.timer('job.duration').bind({ queue: 'a' });
    const { startTimer, time } = timer;
    [1, 2, 3].forEach(value => add(value));
    set(7);
    [4, 6].forEach(value => record(value));
    observe(5);
    timer.record(0.5);
    startTimer()();
    time(() => undefined);
    await h.tick(EXPORT);
    const queue = { queue: 'a' };
    expect(pointWith(h.latest(), 'jobs', queue)!.value).to.equal(6);
    expect(pointWith(h.latest(), 'depth', queue)!.value).to.equal(7);
    expect(
      pointWith<{ count: number; sum: number }>(h.latest(), 'size', queue)!
        .value
    ).to.include({ count: 2, sum: 10 });
    expect(
      pointWith<{ count: number }>(h.latest(), 'wait', queue)!.value.count
    ).to.equal(1);
    expect(
      pointWith<{ count: number }>(h.latest(), 'job.duration', queue)!.value
        .count
    ).to.equal(3);
  });

  it('keeps a handle small: one object, a bound method and its key as one flat string', () => {
    const SERIES = 20_000;
    setUp({ limits: { maxSeriesPerMetric: SERIES + 1 } });
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const histogram = metrics.histogram('latency');
    const sets = Array.from({ length: SERIES }, (_, i) => ({
      'http.route': `/api/items/${i % 100}`,
      'http.request.method': ['GET', 'POST', 'PUT', 'DELETE'][i % 4],
      'http.response.status_code': 200 + (i % 5),
      'server.address': `host-${Math.floor(i / 400)}.example.internal`,
    }));
    for (const attributes of sets) histogram.record(1, attributes);
    gc();
    const before = process.memoryUsage().heapUsed;
    const handles = sets.map(attributes => histogram.bind(attributes));
    gc();
    const perHandle = (process.memoryUsage().heapUsed - before) / SERIES;
    // The handle (7 fields), the facade's (2) with its bound method (about
    // 64 bytes) and a flat key of 89 characters (112): about 300 bytes. A
    // key joined from pieces (a rope) took about 660.
    expect(perHandle).to.be.below(400);
    handles.forEach(handle => handle.record(2));
  });

  it('never throws on bad values, counting them; after shutdown every use is a counted no-op', async () => {
    setUp();
    const counter = metrics.counter('c').bind();
    const gauge = metrics.gauge('g').bind();
    const timer = metrics.timer('t').bind();
    for (const bad of [NaN, -1, Infinity, '5' as never]) counter.add(bad);
    gauge.set(-Infinity);
    timer.record(-0.1);
    expect(metrics.rejected).to.equal(6);
    counter.add(3); // just before shutdown: in the final export
    gauge.set(-2);
    await h.close();
    expect(pointWith(h.latest(), 'c', {})!.value).to.equal(3);
    expect(pointWith(h.latest(), 'g', {})!.value).to.equal(-2);
    expect(() => {
      counter.add(1);
      gauge.set(1);
      timer.record(1);
      metrics.counter('c').add(1, { late: 'yes' });
    }).to.not.throw();
    expect(metrics.rejected).to.equal(10);
  });

  it('checks its options, naming the field', () => {
    setUp();
    expect(() => new Instruments(h.meter, { reader: h.reader })).to.throw(
      TypeError,
      /Instruments: option 'meterName' must be a non-empty string/
    );
    expect(
      () =>
        new Instruments(h.meter, {
          reader: {} as RetentionMetricReader,
          meterName: 'x',
        })
    ).to.throw(
      TypeError,
      /Instruments: option 'reader' must be a RetentionMetricReader/
    );
  });
});

describe('bound instruments and persistence', () => {
  it('come back from the snapshot like any other series', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'datapunk-bound-'));
    const path = join(dir, 'state.json');
    try {
      const first = realTimeSetUp({ persistence: { path } });
      const metrics = new Instruments(first.meter, {
        reader: first.reader,
        meterName: 'test',
      });
      const orders = metrics.counter('orders').bind({ shop: 'north' });
      const latency = metrics.timer('checkout').bind({ shop: 'north' });
      orders.add(7);
      for (const seconds of [0.1, 0.2, 0.4]) latency.record(seconds);
      await first.provider.shutdown(); // the final snapshot
      const second = realTimeSetUp({ persistence: { path } });
      try {
        await second.reader.whenRestored();
        expect(
          second.reader.query('orders', { attributes: { shop: 'north' } })
        ).to.include({ sum: 7 });
        expect(second.reader.query('checkout')).to.include({ count: 3 });
        await second.reader.forceFlush();
        expect(
          pointWith<{ count: number }>(second.latest(), 'checkout', {
            shop: 'north',
          })!.value.count
        ).to.equal(3);
      } finally {
        await second.provider.shutdown();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

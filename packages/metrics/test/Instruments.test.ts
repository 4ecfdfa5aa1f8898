import { expect } from 'chai';
import * as sinon from 'sinon';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { MetricType, Instruments, RetentionMetricReader } from '../src';
import { pointWith } from './util';

for (const path of ['through the SDK', 'directly into the reader'] as const)
  describe(`Instruments, recording ${path}`, () => {
    let reader: RetentionMetricReader;
    let provider: MeterProvider;
    let metrics: Instruments;
    let clock: sinon.SinonFakeTimers | undefined;

    beforeEach(() => {
      reader = new RetentionMetricReader();
      provider = new MeterProvider({ readers: [reader] });
      metrics = new Instruments(
        provider.getMeter('facade'),
        path === 'through the SDK' ? {} : { reader, meterName: 'facade' }
      );
    });
    afterEach(async () => {
      clock?.restore();
      clock = undefined;
      await provider.shutdown();
    });

    const collect = async () => (await reader.collect()).resourceMetrics;

    it('records all five types', async () => {
      metrics.counter('orders').add(2, { shop: 'a' });
      metrics.gauge('queue.depth').set(-3);
      metrics.histogram('payload.size', { unit: 'By' }).record(512);
      metrics.summary('score').observe(0.75);
      metrics.timer('db.query').record(0.02);
      const rm = await collect();
      expect(pointWith(rm, 'orders', { shop: 'a' })!.value).to.equal(2);
      expect(pointWith(rm, 'queue.depth', {})!.value).to.equal(-3);
      expect(
        pointWith<{ count: number }>(rm, 'payload.size', {})!.value.count
      ).to.equal(1);
      expect(pointWith(rm, 'score.window', { quantile: 0.5 })!.value).to.equal(
        0.75
      );
      const timer = rm.scopeMetrics
        .flatMap(s => s.metrics)
        .find(m => m.descriptor.name === 'db.query')!;
      expect(timer.descriptor.unit).to.equal('s');
      expect(reader.query('db.query')).to.include({ count: 1, sum: 0.02 });
    });

    it('rejects and counts bad values instead of throwing', async () => {
      const counter = metrics.counter('orders');
      counter.add(-1);
      counter.add(NaN);
      counter.add(Infinity);
      counter.add('5' as never);
      metrics.gauge('g').set(-Infinity);
      metrics.histogram('h').record(-0.5);
      metrics.summary('s').observe(NaN);
      metrics.timer('t').record(-1);
      counter.add(1);
      expect(metrics.rejected).to.equal(8);
      const rm = await collect();
      expect(pointWith(rm, 'orders', {})!.value).to.equal(1);
      if (path === 'through the SDK') {
        // The facade counts by metric type and reason.
        const rejected = (reason: string, type: string) =>
          pointWith(rm, 'datapunk.metrics.measurements.rejected', {
            reason,
            'metric.type': type,
          })?.value;
        expect(rejected('negative', 'counter')).to.equal(1);
        expect(rejected('not_finite', 'counter')).to.equal(2);
        expect(rejected('not_a_number', 'counter')).to.equal(1);
        expect(rejected('not_finite', 'gauge')).to.equal(1);
        expect(rejected('negative', 'timer')).to.equal(1);
      } else {
        // The store's instruments count by reason.
        const rejected = (reason: string) =>
          pointWith(rm, 'datapunk.metrics.measurements.rejected', { reason })
            ?.value;
        expect(rejected('negative')).to.equal(3);
        expect(rejected('not_finite')).to.equal(4);
        expect(rejected('not_a_number')).to.equal(1);
      }
    });

    it('times sync and async work on a monotonic clock', async () => {
      clock = sinon.useFakeTimers({ toFake: ['performance', 'setTimeout'] });
      const timer = metrics.timer('work');
      const stop = timer.startTimer({ step: 'a' });
      clock.tick(1500);
      expect(stop()).to.equal(1.5);
      expect(stop()).to.equal(1.5); // stops once
      expect(
        timer.time(() => (clock!.tick(250), 'done'), { step: 'b' })
      ).to.equal('done');
      const pending = timer.time(
        () => new Promise(resolve => setTimeout(() => resolve(42), 2000)),
        { step: 'c' }
      );
      await clock.tickAsync(2000);
      expect(await pending).to.equal(42);
      const failing = timer.time(() => Promise.reject(new Error('boom')), {
        step: 'd',
      });
      let failure: unknown;
      await failing.catch(error => (failure = error));
      expect(String(failure)).to.equal('Error: boom');
      expect(() =>
        timer.time(
          () => {
            clock!.tick(100);
            throw new Error('sync boom');
          },
          { step: 'e' }
        )
      ).to.throw('sync boom');
      clock.restore();
      clock = undefined;
      // Not collected yet: nothing to see.
      expect(
        reader.query('work', { attributes: { step: 'a' } })?.count ?? 0
      ).to.equal(0);
      const rm = await collect();
      const seconds = (step: string) =>
        pointWith<{ sum: number; count: number }>(rm, 'work', { step })!.value;
      expect(seconds('a')).to.include({ count: 1, sum: 1.5 });
      expect(seconds('b')).to.include({ count: 1, sum: 0.25 });
      expect(seconds('c')).to.include({ count: 1, sum: 2 });
      expect(seconds('d').count).to.equal(1);
      expect(seconds('e')).to.include({ count: 1, sum: 0.1 });
    });

    it('records by name and type, rejecting what it cannot take', async () => {
      metrics.record('jobs', 2, MetricType.COUNTER, { queue: 'q' });
      metrics.record('jobs', 3, MetricType.COUNTER, { queue: 'q' });
      metrics.record('jobs', 1, MetricType.GAUGE); // jobs is a counter
      metrics.record('bad name!', 1, MetricType.COUNTER);
      metrics.record('other', 1, 'meter' as MetricType);
      metrics.record('latency', 0.3, MetricType.TIMER);
      expect(metrics.rejected).to.equal(3);
      const rm = await collect();
      expect(pointWith(rm, 'jobs', { queue: 'q' })!.value).to.equal(5);
      expect(
        pointWith(rm, 'datapunk.metrics.measurements.rejected', {
          reason: 'type_conflict',
        })!.value
      ).to.equal(1);
      expect(
        pointWith(rm, 'datapunk.metrics.measurements.rejected', {
          reason: 'invalid_name_or_type',
          'metric.type': 'counter',
        })!.value
      ).to.equal(1);
      expect(
        pointWith(rm, 'datapunk.metrics.measurements.rejected', {
          reason: 'invalid_name_or_type',
          'metric.type': 'unknown',
        })!.value
      ).to.equal(1);
    });

    it('throws when creating an instrument with a bad name or a taken one', () => {
      expect(() => metrics.counter('9lives')).to.throw(
        TypeError,
        /metric name the string "9lives" must start with a letter/
      );
      expect(() => metrics.histogram('a'.repeat(256))).to.throw(
        TypeError,
        /at most 255/
      );
      metrics.counter('taken');
      expect(metrics.counter('taken')).to.equal(metrics.counter('taken'));
      expect(() => metrics.gauge('taken')).to.throw(
        TypeError,
        /Instruments: 'taken' is already a counter; it cannot also be a gauge/
      );
      expect(() => new Instruments({} as never)).to.throw(
        TypeError,
        /Instruments: 'meter' must be an OpenTelemetry Meter, got an object/
      );
    });
  });

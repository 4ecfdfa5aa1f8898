import { expect } from 'chai';
import { metrics, ValueType } from '@opentelemetry/api';
import type {
  Attributes,
  BatchObservableCallback,
  ObservableCallback,
} from '@opentelemetry/api';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import {
  AggregationTemporality,
  ConsoleMetricExporter,
  DataPointType,
  InMemoryMetricExporter,
  InstrumentType,
} from '@opentelemetry/sdk-metrics';
import type {
  ExponentialHistogram,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sinon from 'sinon';
import { RetentionMeterProvider } from '../../src';
import { OTLPSummaryMetricExporter } from '../../src/export/otlp';
import { T0, metric, pointWith, points, selfCount } from '../util';
import {
  expectHistogram,
  lockstepClock,
  providerSetUp,
  withDiag,
} from './harness';
import { seededRandom } from './workload';
import type { ProviderSetup } from './harness';

const { CUMULATIVE, DELTA } = AggregationTemporality;
const REJECTED = 'datapunk.metrics.measurements.rejected';
const CALLBACKS_FAILED = 'datapunk.metrics.callbacks.failed';

/** Instrument names the API's syntax refuses, and odd non-strings (the SDK's test list, and more). */
const INVALID_NAMES: unknown[] = [
  '',
  'a'.repeat(256),
  '1a',
  '-a',
  '.a',
  '_a',
  'a b',
  'tempé',
  undefined,
  null,
  42,
  Symbol('counter'),
  {},
];
const VALID_NAMES = ['a', 'a'.repeat(255), 'a1', 'a-1', 'a.1', 'a_1', 'a/1'];

/** Every way to make an instrument, and how to give it one measurement. */
const KINDS: {
  type: InstrumentType;
  make(
    meter: ReturnType<RetentionMeterProvider['getMeter']>,
    name: string
  ): {
    measure(value: number, attributes?: Attributes): void;
  };
}[] = [
  {
    type: InstrumentType.COUNTER,
    make: (meter, name) => {
      const c = meter.createCounter(name);
      return { measure: (v, a) => c.add(v, a) };
    },
  },
  {
    type: InstrumentType.UP_DOWN_COUNTER,
    make: (meter, name) => {
      const c = meter.createUpDownCounter(name);
      return { measure: (v, a) => c.add(v, a) };
    },
  },
  {
    type: InstrumentType.HISTOGRAM,
    make: (meter, name) => {
      const h = meter.createHistogram(name);
      return { measure: (v, a) => h.record(v, a) };
    },
  },
  {
    type: InstrumentType.GAUGE,
    make: (meter, name) => {
      const g = meter.createGauge(name);
      return { measure: (v, a) => g.record(v, a) };
    },
  },
  ...(
    [
      [InstrumentType.OBSERVABLE_COUNTER, 'createObservableCounter'],
      [
        InstrumentType.OBSERVABLE_UP_DOWN_COUNTER,
        'createObservableUpDownCounter',
      ],
      [InstrumentType.OBSERVABLE_GAUGE, 'createObservableGauge'],
    ] as const
  ).map(([type, method]) => ({
    type,
    make: (
      meter: ReturnType<RetentionMeterProvider['getMeter']>,
      name: string
    ) => {
      const observable = meter[method](name);
      const pending: [number, Attributes | undefined][] = [];
      observable.addCallback(result => {
        for (const [v, a] of pending.splice(0)) result.observe(v, a);
      });
      return {
        measure: (v: number, a?: Attributes) => void pending.push([v, a]),
      };
    },
  })),
];

describe('RetentionMeterProvider: the OpenTelemetry metrics API', () => {
  let setup: ProviderSetup | undefined;
  afterEach(async () => {
    await setup?.provider.shutdown();
    setup = undefined;
  });

  describe('synchronous instruments', () => {
    it('Counter, UpDownCounter, Histogram, Gauge: values per attribute set, and descriptors', async () => {
      setup = providerSetUp();
      const { meter } = setup;
      const orders = meter.createCounter('orders', {
        description: 'Orders taken',
        unit: '{order}',
      });
      const queue = meter.createUpDownCounter('queue.size', {
        description: 'Items queued',
        unit: '{item}',
      });
      const latency = meter.createHistogram('latency', {
        description: 'Time to answer',
        unit: 'ms',
      });
      const temperature = meter.createGauge('temperature', {
        description: 'Room temperature',
        unit: 'Cel',
      });
      const random = seededRandom(22);
      const shops = ['north', 'south', 'east'];
      const expected = new Map(
        shops.map(shop => [
          shop,
          { orders: 0, queue: 0, latencies: [] as number[], temperature: NaN },
        ])
      );
      for (let i = 0; i < 600; i++) {
        const shop = shops[Math.floor(random() * shops.length)];
        const e = expected.get(shop)!;
        const n = random() * 10;
        orders.add(n, { shop });
        e.orders += n;
        const d = random() * 20 - 10;
        queue.add(d, { shop });
        e.queue += d;
        const ms = Math.exp(random() * 8);
        latency.record(ms, { shop });
        e.latencies.push(ms);
        const t = random() * 40 - 10;
        temperature.record(t, { shop });
        e.temperature = t;
      }
      const rm = await setup.collect();

      const head = (
        name: string,
        description: string,
        unit: string,
        dataPointType: DataPointType
      ) => ({
        descriptor: { name, description, unit, valueType: ValueType.DOUBLE },
        dataPointType,
        aggregationTemporality: CUMULATIVE,
      });
      expect(metric(rm, 'orders')).to.deep.include({
        ...head('orders', 'Orders taken', '{order}', DataPointType.SUM),
        isMonotonic: true,
      });
      expect(metric(rm, 'queue.size')).to.deep.include({
        ...head('queue.size', 'Items queued', '{item}', DataPointType.SUM),
        isMonotonic: false,
      });
      expect(metric(rm, 'latency')).to.deep.include(
        head(
          'latency',
          'Time to answer',
          'ms',
          DataPointType.EXPONENTIAL_HISTOGRAM
        )
      );
      expect(metric(rm, 'temperature')).to.deep.include(
        head('temperature', 'Room temperature', 'Cel', DataPointType.GAUGE)
      );
      for (const name of ['orders', 'queue.size', 'latency', 'temperature'])
        expect(
          points(rm, name).map(p => p.attributes),
          `${name}: one point per attribute set`
        ).to.have.deep.members(shops.map(shop => ({ shop })));
      for (const [shop, e] of expected) {
        expect(pointWith(rm, 'orders', { shop })!.value).to.equal(e.orders);
        expect(pointWith(rm, 'queue.size', { shop })!.value).to.equal(e.queue);
        expect(pointWith(rm, 'temperature', { shop })!.value).to.equal(
          e.temperature
        );
        expectHistogram(
          pointWith<ExponentialHistogram>(rm, 'latency', { shop })!.value,
          e.latencies,
          `latency ${shop}`
        );
      }
    });

    it('exports every attribute value type the API allows as it was recorded: strings, numbers, booleans, arrays with nulls', async () => {
      setup = providerSetUp();
      const jobs = setup.meter.createCounter('jobs');
      const sets: Attributes[] = [
        { queue: 'a', tags: ['x', 'y:1;'], retries: [1, 2.5, -0] },
        { queue: 'a', tags: ['x', null], flags: [true, false] },
        { queue: 'b', empty: [], limit: 1e21, ok: false, ünï: 'é\u0100日本' },
        { queue: 'b', nested: [null, null], n: NaN },
      ];
      sets.forEach((attributes, i) => jobs.add(i + 1, attributes));
      const rm = await setup.collect();
      const exported = points(rm, 'jobs').map(p => [p.attributes, p.value]);
      // -0 is keyed as 0, as the SDK's own attribute hashing does.
      const expected = sets.map((attributes, i) => [
        JSON.parse(
          JSON.stringify(attributes, (_, v) => (Object.is(v, -0) ? 0 : v))
        ),
        i + 1,
      ]);
      expected[3][0] = { queue: 'b', nested: [null, null], n: NaN };
      expect(exported).to.have.deep.members(expected);
    });

    it('INT instruments cut fractions toward zero, as the SDK does, and say INT', async () => {
      setup = providerSetUp();
      const { meter } = setup;
      const int = { valueType: ValueType.INT };
      const values = [2.9, 0.5, 7.99, 3.2];
      const signed = [-2.7, 1.2, -0.9, 4.5];
      meter.createCounter('c', int);
      meter.createUpDownCounter('u', int);
      meter.createHistogram('h', int);
      meter.createGauge('g', int);
      for (const v of values) {
        meter.createCounter('c', int).add(v);
        meter.createHistogram('h', int).record(v);
      }
      for (const v of signed) {
        meter.createUpDownCounter('u', int).add(v);
        meter.createGauge('g', int).record(v);
      }
      meter
        .createObservableCounter('oc', int)
        .addCallback(r => r.observe(values[0]));
      meter
        .createObservableGauge('og', int)
        .addCallback(r => r.observe(signed[0]));
      const rm = await setup.collect();
      const sum = (vs: number[]) =>
        vs.map(Math.trunc).reduce((a, b) => a + b, 0);
      expect(points(rm, 'c')[0].value).to.equal(sum(values));
      expect(points(rm, 'u')[0].value).to.equal(sum(signed));
      expect(points(rm, 'g')[0].value).to.equal(
        Math.trunc(signed[signed.length - 1])
      );
      expect(points(rm, 'oc')[0].value).to.equal(Math.trunc(values[0]));
      expect(points(rm, 'og')[0].value).to.equal(Math.trunc(signed[0]));
      const h = points<ExponentialHistogram>(rm, 'h')[0].value;
      expect([h.count, h.sum, h.min, h.max]).to.deep.equal([
        values.length,
        sum(values),
        Math.min(...values.map(Math.trunc)),
        Math.max(...values.map(Math.trunc)),
      ]);
      for (const name of ['c', 'u', 'h', 'g', 'oc', 'og'])
        expect(metric(rm, name)!.descriptor.valueType, name).to.equal(
          ValueType.INT
        );
    });
  });

  describe('temporality', () => {
    for (const temporality of [CUMULATIVE, DELTA])
      it(`${AggregationTemporality[temporality]} from the exporter: every export carries it, with values to match`, async () => {
        setup = providerSetUp({}, temporality);
        const { meter, provider } = setup;
        const counter = meter.createCounter('requests');
        const upDown = meter.createUpDownCounter('connections');
        const histogram = meter.createHistogram('duration');
        let total = 0;
        let level = 0;
        meter
          .createObservableCounter('cpu.time')
          .addCallback(r => r.observe(total));
        meter
          .createObservableUpDownCounter('heap.size')
          .addCallback(r => r.observe(level));
        const random = seededRandom(7 + temporality);
        const rounds: {
          requests: number;
          connections: number;
          durations: number[];
          cpu: number;
          heap: number;
        }[] = [];
        for (let round = 0; round < 4; round++) {
          const r = {
            requests: 0,
            connections: 0,
            durations: [] as number[],
            cpu: 0,
            heap: 0,
          };
          for (let i = 0; i < 50; i++) {
            const n = Math.ceil(random() * 5);
            counter.add(n);
            r.requests += n;
            const c = Math.round(random() * 10) - 5;
            upDown.add(c);
            r.connections += c;
            const d = 1 + random() * 100;
            histogram.record(d);
            r.durations.push(d);
          }
          total += Math.ceil(random() * 1000);
          level = Math.round(random() * 2000) - 1000;
          r.cpu = total;
          r.heap = level;
          rounds.push(r);
          await provider.forceFlush();
        }
        const exports = setup.exports();
        expect(exports).to.have.length(rounds.length);
        rounds.forEach((r, round) => {
          const rm = exports[round];
          const before = rounds.slice(0, round);
          const upTo = rounds.slice(0, round + 1);
          const sumOf = (rs: typeof rounds, f: (x: typeof r) => number) =>
            rs.reduce((a, x) => a + f(x), 0);
          const expected =
            temporality === CUMULATIVE
              ? {
                  requests: sumOf(upTo, x => x.requests),
                  connections: sumOf(upTo, x => x.connections),
                  durations: upTo.flatMap(x => x.durations),
                  cpu: r.cpu,
                  heap: r.heap,
                }
              : {
                  requests: r.requests,
                  connections: r.connections,
                  durations: r.durations,
                  cpu: r.cpu - (before.at(-1)?.cpu ?? 0),
                  heap: r.heap - (before.at(-1)?.heap ?? 0),
                };
          for (const name of [
            'requests',
            'connections',
            'duration',
            'cpu.time',
            'heap.size',
          ])
            expect(
              metric(rm, name)!.aggregationTemporality,
              `${name}, export ${round}`
            ).to.equal(temporality);
          expect(points(rm, 'requests')[0].value).to.equal(expected.requests);
          expect(points(rm, 'connections')[0].value).to.equal(
            expected.connections
          );
          expect(points(rm, 'cpu.time')[0].value).to.equal(expected.cpu);
          expect(points(rm, 'heap.size')[0].value).to.equal(expected.heap);
          expectHistogram(
            points<ExponentialHistogram>(rm, 'duration')[0].value,
            expected.durations,
            `duration, export ${round}`
          );
        });
      });

    it("is asked per instrument type (the OTLP exporter's low-memory preference)", async () => {
      // The real OTLP exporter's selector, in front of an in-memory exporter.
      const otlp = new OTLPSummaryMetricExporter({
        url: 'http://127.0.0.1:9/v1/metrics',
        temporalityPreference: AggregationTemporalityPreference.LOWMEMORY,
      });
      const exporter = new InMemoryMetricExporter(CUMULATIVE);
      exporter.selectAggregationTemporality = type =>
        otlp.selectAggregationTemporality(type);
      const provider = new RetentionMeterProvider({ exporter });
      try {
        const meter = provider.getMeter('test');
        const names = new Map<InstrumentType, string>();
        for (const kind of KINDS) {
          const name = kind.type.toLowerCase();
          names.set(kind.type, name);
          kind.make(meter, name).measure(1);
        }
        // Low memory: delta for counters, cumulative for observable counters.
        expect(
          otlp.selectAggregationTemporality(InstrumentType.COUNTER)
        ).to.not.equal(
          otlp.selectAggregationTemporality(InstrumentType.OBSERVABLE_COUNTER)
        );
        const { resourceMetrics } = await provider.collect();
        for (const [type, name] of names)
          expect(
            metric(resourceMetrics, name)!.aggregationTemporality,
            type
          ).to.equal(otlp.selectAggregationTemporality(type));
      } finally {
        await provider.shutdown();
        await otlp.shutdown();
      }
    });
  });

  describe('observable instruments', () => {
    it('report through their callbacks; a removed callback no longer does, and its series leave', async () => {
      setup = providerSetUp();
      const { meter } = setup;
      const counter = meter.createObservableCounter('page.faults', {
        unit: '{fault}',
      });
      const upDown = meter.createObservableUpDownCounter('threads');
      const gauge = meter.createObservableGauge('cpu.utilization', {
        unit: '1',
      });
      let round = 0;
      const faults: ObservableCallback = r =>
        r.observe(100 * round, { kind: 'minor' });
      const majorFaults: ObservableCallback = r =>
        r.observe(3 * round, { kind: 'major' });
      const threads: ObservableCallback = r => r.observe(10 - round);
      const utilization: ObservableCallback = r => {
        r.observe(0.25 * round, { cpu: 0 });
        r.observe(0.5, { cpu: 1 });
      };
      counter.addCallback(faults);
      counter.addCallback(majorFaults);
      counter.addCallback(faults); // the same callback again: called once
      upDown.addCallback(threads);
      gauge.addCallback(utilization);

      round = 1;
      let rm = await setup.collect();
      expect(metric(rm, 'page.faults')).to.deep.include({
        dataPointType: DataPointType.SUM,
        isMonotonic: true,
      });
      expect(metric(rm, 'page.faults')!.descriptor.unit).to.equal('{fault}');
      expect(pointWith(rm, 'page.faults', { kind: 'minor' })!.value).to.equal(
        100
      );
      expect(pointWith(rm, 'page.faults', { kind: 'major' })!.value).to.equal(
        3
      );
      expect(metric(rm, 'threads')).to.deep.include({
        dataPointType: DataPointType.SUM,
        isMonotonic: false,
      });
      expect(points(rm, 'threads')[0].value).to.equal(9);
      expect(metric(rm, 'cpu.utilization')!.dataPointType).to.equal(
        DataPointType.GAUGE
      );
      expect(
        points(rm, 'cpu.utilization').map(p => [p.attributes.cpu, p.value])
      ).to.have.deep.members([
        [0, 0.25],
        [1, 0.5],
      ]);

      counter.removeCallback(majorFaults);
      gauge.removeCallback(utilization);
      upDown.removeCallback(() => undefined); // never added: nothing happens
      round = 2;
      rm = await setup.collect();
      expect(points(rm, 'page.faults').map(p => p.attributes)).to.deep.equal([
        { kind: 'minor' },
      ]);
      expect(pointWith(rm, 'page.faults', { kind: 'minor' })!.value).to.equal(
        200
      );
      expect(points(rm, 'threads')[0].value).to.equal(8);
      expect(metric(rm, 'cpu.utilization'), 'no callback left').to.equal(
        undefined
      );
    });

    it('batch callbacks observe the instruments they were registered for; any other is ignored and reported', async () => {
      await withDiag(async messages => {
        setup = providerSetUp();
        const { meter, provider } = setup;
        const hits = meter.createObservableCounter('cache.hits');
        const misses = meter.createObservableCounter('cache.misses');
        const size = meter.createObservableGauge('cache.size');
        const foreign = provider
          .getMeter('another')
          .createObservableGauge('foreign.gauge');
        let round = 1;
        const batch: BatchObservableCallback = r => {
          r.observe(hits, 10 * round);
          r.observe(misses, 2 * round);
          r.observe(size, 7); // not registered with this callback
          r.observe(foreign, 1); // another meter's
        };
        meter.addBatchObservableCallback(batch, [hits, misses, foreign]);

        let rm = await setup.collect();
        expect(points(rm, 'cache.hits')[0].value).to.equal(10);
        expect(points(rm, 'cache.misses')[0].value).to.equal(2);
        expect(metric(rm, 'cache.size'), 'not registered').to.equal(undefined);
        expect(metric(rm, 'foreign.gauge'), "another meter's").to.equal(
          undefined
        );
        expect(messages.join('\n')).to.match(
          /batch callback observed an instrument it was not registered for/
        );

        meter.removeBatchObservableCallback(batch, [misses]);
        round = 2;
        rm = await setup.collect();
        expect(points(rm, 'cache.hits')[0].value).to.equal(20);
        expect(metric(rm, 'cache.misses'), 'removed').to.equal(undefined);

        meter.removeBatchObservableCallback(batch, [hits]);
        round = 3;
        rm = await setup.collect();
        expect(metric(rm, 'cache.hits'), 'removed').to.equal(undefined);
      });
    });

    it('awaits async callbacks; one that throws, rejects or never settles is counted, and the others are still observed', async () => {
      setup = providerSetUp({ exportTimeoutMillis: 100 });
      const { meter } = setup;
      const thrown = new Error('sync failure');
      const rejected = new Error('async failure');
      meter.createObservableGauge('sync.ok').addCallback(r => r.observe(1));
      meter.createObservableGauge('async.ok').addCallback(async r => {
        await new Promise(resolve => setImmediate(resolve));
        r.observe(2);
      });
      meter.createObservableGauge('throws').addCallback(() => {
        throw thrown;
      });
      meter.createObservableGauge('rejects').addCallback(async r => {
        r.observe(3); // observed before it failed: kept
        throw rejected;
      });
      meter
        .createObservableGauge('never.settles')
        .addCallback(() => new Promise<void>(() => undefined));
      const ok = meter.createObservableGauge('after.failures');
      ok.addCallback(r => r.observe(4));

      const { resourceMetrics: rm, errors } = await setup.provider.collect();
      expect(points(rm, 'sync.ok')[0].value).to.equal(1);
      expect(points(rm, 'async.ok')[0].value).to.equal(2);
      expect(points(rm, 'rejects')[0].value).to.equal(3);
      expect(points(rm, 'after.failures')[0].value).to.equal(4);
      expect(metric(rm, 'throws')).to.equal(undefined);
      expect(metric(rm, 'never.settles')).to.equal(undefined);
      expect(errors).to.include(thrown).and.include(rejected);
      expect(errors).to.have.length(3);
      expect(selfCount(rm, CALLBACKS_FAILED, 'error')).to.equal(2);
      expect(selfCount(rm, CALLBACKS_FAILED, 'timeout')).to.equal(1);
    });

    for (const temporality of [CUMULATIVE, DELTA])
      it(`counters observe totals: ${AggregationTemporality[temporality]} exports the change, a total that drops is a restart`, async () => {
        setup = providerSetUp({}, temporality);
        const { meter, provider } = setup;
        const observed = [10, 25, 25, 5, 8, 30, 2];
        const upDownObserved = [10, -5, -5, 3, 40, 1, -20];
        let i = 0;
        meter
          .createObservableCounter('restarts.total')
          .addCallback(r => r.observe(observed[i]));
        meter
          .createObservableUpDownCounter('level.total')
          .addCallback(r => r.observe(upDownObserved[i]));
        // A monotonic total that falls restarted: all of it is new.
        const increments = observed.map((t, k) =>
          k > 0 && t >= observed[k - 1] ? t - observed[k - 1] : t
        );
        const upDownIncrements = upDownObserved.map(
          (t, k) => t - (upDownObserved[k - 1] ?? 0)
        );
        for (i = 0; i < observed.length; i++) await provider.forceFlush();
        const exports = setup.exports();
        expect(exports).to.have.length(observed.length);
        exports.forEach((rm, k) => {
          const upTo = (xs: number[]) =>
            xs.slice(0, k + 1).reduce((a, b) => a + b, 0);
          expect(points(rm, 'restarts.total')[0].value, `export ${k}`).to.equal(
            temporality === CUMULATIVE ? upTo(increments) : increments[k]
          );
          expect(points(rm, 'level.total')[0].value, `export ${k}`).to.equal(
            temporality === CUMULATIVE ? upDownObserved[k] : upDownIncrements[k]
          );
        });
      });

    it('exports only the series observed in the latest collection', async () => {
      setup = providerSetUp();
      const { meter } = setup;
      let observing: { pool: string; total: number }[] = [];
      meter.createObservableCounter('pool.requests').addCallback(r => {
        for (const { pool, total } of observing) r.observe(total, { pool });
      });
      meter.createObservableGauge('pool.size').addCallback(r => {
        for (const { pool, total } of observing)
          r.observe(total / 10, { pool });
      });
      const exported = async () => {
        const rm = await setup!.collect();
        return ['pool.requests', 'pool.size'].map(name =>
          points(rm, name).map(p => [p.attributes.pool, p.value])
        );
      };
      observing = [
        { pool: 'a', total: 5 },
        { pool: 'b', total: 7 },
      ];
      expect(await exported()).to.deep.equal([
        [
          ['a', 5],
          ['b', 7],
        ],
        [
          ['a', 0.5],
          ['b', 0.7],
        ],
      ]);
      observing = [{ pool: 'b', total: 9 }];
      expect(await exported()).to.deep.equal([[['b', 9]], [['b', 0.9]]]);
      observing = [{ pool: 'a', total: 12 }];
      expect(await exported()).to.deep.equal([[['a', 12]], [['a', 1.2]]]);
    });

    it('after a restart from a snapshot too: a restored series the callbacks no longer observe is not exported', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'datapunk-provider-'));
      const persistence = { path: join(dir, 'metrics.snapshot') };
      try {
        let pools = ['a', 'b'];
        const observe = (
          meter: ReturnType<RetentionMeterProvider['getMeter']>
        ) =>
          meter
            .createObservableGauge('pool.size')
            .addCallback(r => pools.forEach(pool => r.observe(1, { pool })));
        const before = new RetentionMeterProvider({ persistence });
        observe(before.getMeter('test'));
        await before.collect();
        await before.shutdown();

        const after = new RetentionMeterProvider({ persistence });
        try {
          await after.whenRestored();
          pools = ['a'];
          observe(after.getMeter('test'));
          const { resourceMetrics } = await after.collect();
          expect(
            points(resourceMetrics, 'pool.size').map(p => p.attributes)
          ).to.deep.equal([{ pool: 'a' }]);
        } finally {
          await after.shutdown();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('names', () => {
    for (const name of INVALID_NAMES)
      it(`an invalid instrument name (${titleOf(name)}) gets a working no-op instrument, reported, never thrown`, async () => {
        await withDiag(async messages => {
          setup = providerSetUp();
          const { meter } = setup;
          for (const kind of KINDS)
            kind.make(meter, name as string).measure(1, { a: 'b' });
          const batch: BatchObservableCallback = () => undefined;
          const observable = meter.createObservableGauge(name as string);
          meter.addBatchObservableCallback(batch, [observable]);
          meter.removeBatchObservableCallback(batch, [observable]);
          const rm = await setup.collect();
          const own = rm.scopeMetrics
            .filter(s => s.scope.name === 'test')
            .flatMap(s => s.metrics);
          expect(own, 'nothing recorded').to.deep.equal([]);
          expect(messages.join('\n')).to.match(/instrument name .* is invalid/);
          expect(
            selfCount(rm, REJECTED),
            'not a rejected measurement'
          ).to.equal(0);
        });
      });

    it('valid instrument names, up to 255 characters, record', async () => {
      setup = providerSetUp();
      const { meter } = setup;
      VALID_NAMES.forEach((name, i) => meter.createCounter(name).add(i + 1));
      const rm = await setup.collect();
      VALID_NAMES.forEach((name, i) =>
        expect(points(rm, name)[0]?.value, name).to.equal(i + 1)
      );
    });

    it('the same name and type give the same instrument; the first casing of a name wins, reported', async () => {
      await withDiag(async messages => {
        setup = providerSetUp();
        const { meter } = setup;
        expect(meter.createCounter('hits')).to.equal(
          meter.createCounter('hits')
        );
        expect(meter.createHistogram('size')).to.equal(
          meter.createHistogram('size')
        );
        expect(meter.createObservableGauge('load')).to.equal(
          meter.createObservableGauge('load')
        );
        const first = meter.createCounter('requestCount');
        const second = meter.createCounter('RequestCount');
        expect(second, 'names are case-insensitive').to.equal(first);
        first.add(1);
        second.add(2);
        const rm = await setup.collect();
        expect(points(rm, 'requestCount')[0].value).to.equal(3);
        expect(metric(rm, 'RequestCount')).to.equal(undefined);
        expect(messages.join('\n')).to.contain('RequestCount');
      });
    });

    it('the same name as another type is another instrument: each exported apart, reported', async () => {
      await withDiag(async messages => {
        setup = providerSetUp();
        const { meter } = setup;
        meter.createCounter('jobs').add(3);
        meter.createUpDownCounter('jobs').add(-5);
        meter.createHistogram('jobs').record(2);
        const rm = await setup.collect();
        const jobs = rm.scopeMetrics
          .flatMap(s => s.metrics)
          .filter(m => m.descriptor.name === 'jobs')
          .map(m => ({
            type: m.dataPointType,
            monotonic: 'isMonotonic' in m ? m.isMonotonic : undefined,
            values: m.dataPoints.map(p =>
              typeof p.value === 'number'
                ? p.value
                : (p.value as ExponentialHistogram).count
            ),
          }));
        expect(jobs).to.have.deep.members([
          { type: DataPointType.SUM, monotonic: true, values: [3] },
          { type: DataPointType.SUM, monotonic: false, values: [-5] },
          {
            type: DataPointType.EXPONENTIAL_HISTOGRAM,
            monotonic: undefined,
            values: [1],
          },
        ]);
        expect(messages.join('\n')).to.contain('jobs');
      });
    });

    it('getMeter: the same meter for the same name, version and schema URL; empty or odd names work, reported', async () => {
      await withDiag(async messages => {
        setup = providerSetUp();
        const { provider } = setup;
        const schemaUrl = 'https://opentelemetry.io/schemas/1.30.0';
        expect(provider.getMeter('lib')).to.equal(provider.getMeter('lib'));
        expect(provider.getMeter('lib', '1.0', { schemaUrl })).to.equal(
          provider.getMeter('lib', '1.0', { schemaUrl })
        );
        expect(provider.getMeter('lib', '1.0')).to.not.equal(
          provider.getMeter('lib', '2.0')
        );
        provider
          .getMeter('lib', '1.0', { schemaUrl })
          .createCounter('x')
          .add(1);
        provider.getMeter('lib', '2.0').createCounter('x').add(2);
        const odd: unknown[] = [
          '',
          undefined,
          null,
          42,
          Symbol('meter'),
          'with spaces, ünïcode',
          'm'.repeat(10_000),
        ];
        odd.forEach((name, i) =>
          provider
            .getMeter(name as string)
            .createCounter('odd')
            .add(10 ** i)
        );
        const rm = await setup.collect();
        const byScope = (name: string, version?: string) =>
          rm.scopeMetrics.find(
            s => s.scope.name === name && s.scope.version === version
          );
        expect(byScope('lib', '1.0')!.scope.schemaUrl).to.equal(schemaUrl);
        expect(byScope('lib', '1.0')!.metrics[0].dataPoints[0].value).to.equal(
          1
        );
        expect(byScope('lib', '2.0')!.metrics[0].dataPoints[0].value).to.equal(
          2
        );
        // Non-strings and '' are one meter named '': 1 + 10 + 100 + 1000 + 10000.
        expect(byScope('')!.metrics[0].dataPoints[0].value).to.equal(11111);
        expect(
          byScope('with spaces, ünïcode')!.metrics[0].dataPoints[0].value
        ).to.equal(1e5);
        expect(
          byScope('m'.repeat(10_000))!.metrics[0].dataPoints[0].value
        ).to.equal(1e6);
        expect(messages.join('\n')).to.match(
          /getMeter\(\) needs a non-empty string name/
        );
      });
    });
  });

  describe('bad measurements', () => {
    it('invalid values and attributes are rejected and counted by reason, never thrown; the valid ones are kept', async () => {
      setup = providerSetUp();
      const { meter } = setup;
      const badValues: unknown[] = [
        NaN,
        Infinity,
        -Infinity,
        '1',
        null,
        undefined,
        1n,
        {},
        -1,
        -0.5,
      ];
      const reasonOf = (value: unknown, nonNegative: boolean) =>
        typeof value !== 'number'
          ? 'not_a_number'
          : !Number.isFinite(value)
            ? 'not_finite'
            : nonNegative && value < 0
              ? 'negative'
              : undefined;
      const proxy = new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('no keys');
          },
        }
      );
      const badAttributes: unknown[] = ['x', 42, true, ['a'], () => 1, proxy];
      const expected = new Map<string, number>();
      const count = (reason: string | undefined) => {
        if (reason) expected.set(reason, (expected.get(reason) ?? 0) + 1);
      };
      const kept = new Map<string, number>();
      for (const kind of KINDS) {
        const name = kind.type.toLowerCase();
        const instrument = kind.make(meter, name);
        const nonNegative = [
          InstrumentType.COUNTER,
          InstrumentType.HISTOGRAM,
          InstrumentType.OBSERVABLE_COUNTER,
        ].includes(kind.type);
        for (const value of badValues) {
          expect(() =>
            instrument.measure(value as number, { ok: 'yes' })
          ).to.not.throw();
          const reason = reasonOf(value, nonNegative);
          count(reason);
          if (!reason) kept.set(name, (kept.get(name) ?? 0) + 1);
        }
        for (const attributes of badAttributes) {
          expect(() =>
            instrument.measure(1, attributes as Attributes)
          ).to.not.throw();
          count('invalid_attributes');
        }
        instrument.measure(2, { ok: 'yes' });
        kept.set(name, (kept.get(name) ?? 0) + 1);
      }
      const rm = await setup.collect();
      for (const reason of [
        'not_a_number',
        'not_finite',
        'negative',
        'invalid_attributes',
      ])
        expect(selfCount(rm, REJECTED, reason), reason).to.equal(
          expected.get(reason) ?? 0
        );
      for (const kind of KINDS) {
        const name = kind.type.toLowerCase();
        expect(
          points(rm, name).map(p => p.attributes),
          `${name}: only the valid measurements, on their attributes`
        ).to.deep.equal([{ ok: 'yes' }]);
      }
      // Counters and histograms kept only 2; up-down counters also -1 and -0.5.
      expect(points(rm, 'counter')[0].value).to.equal(2);
      expect(points(rm, 'up_down_counter')[0].value).to.equal(2 - 1 - 0.5);
      expect(
        points<ExponentialHistogram>(rm, 'histogram')[0].value.count
      ).to.equal(kept.get('histogram'));
      expect(points(rm, 'gauge')[0].value).to.equal(2);
    });
  });

  describe('lifecycle', () => {
    it('an instrument first used after collections records and exports', async () => {
      setup = providerSetUp();
      const { meter } = setup;
      const counter = meter.createCounter('late.counter');
      const histogram = meter.createHistogram('late.histogram');
      const gauge = meter.createGauge('late.gauge');
      await setup.collect();
      await setup.collect();
      counter.add(3);
      histogram.record(2);
      gauge.record(5);
      const rm = await setup.collect();
      expect(points(rm, 'late.counter')[0]?.value).to.equal(3);
      expect(
        points<ExponentialHistogram>(rm, 'late.histogram')[0]?.value.count
      ).to.equal(1);
      expect(points(rm, 'late.gauge')[0]?.value).to.equal(5);
    });

    it('an instrument whose series expired and whose history aged out records again', async () => {
      const clock = lockstepClock();
      const provider = new RetentionMeterProvider({
        collectionIntervalMillis: 1000,
        exportIntervalMillis: 1000,
        seriesTtlMillis: 1000,
        tiers: [{ resolutionMillis: 1000, durationMillis: 1000 }],
      });
      try {
        const counter = provider.getMeter('test').createCounter('idle');
        counter.add(1);
        const collectAt = async (seconds: number) => {
          clock.setSystemTime(T0 + seconds * 1000);
          return (await provider.collect()).resourceMetrics;
        };
        expect(points(await collectAt(1), 'idle')[0].value).to.equal(1);
        for (let second = 2; second <= 6; second++) await collectAt(second);
        expect(
          provider.query('idle')?.series ?? 0,
          'expired, history gone'
        ).to.equal(0);
        counter.add(2);
        expect(points(await collectAt(7), 'idle')[0]?.value).to.equal(2);
      } finally {
        try {
          await provider.shutdown();
        } finally {
          clock.restore();
        }
      }
    });

    it('forceFlush() exports what was recorded, and flushes the exporter', async () => {
      setup = providerSetUp();
      const flushed = sinon.spy(setup.exporter, 'forceFlush');
      setup.meter.createCounter('flushed').add(4, { a: 'b' });
      await setup.provider.forceFlush();
      expect(setup.exports()).to.have.length(1);
      expect(
        pointWith(setup.exports()[0], 'flushed', { a: 'b' })!.value
      ).to.equal(4);
      expect(flushed.callCount).to.equal(1);
    });

    it("exports to the SDK's ConsoleMetricExporter", async () => {
      const printed: { descriptor: { name: string }; dataPoints: unknown[] }[] =
        [];
      const dir = sinon
        .stub(console, 'dir')
        .callsFake(item => void printed.push(item as (typeof printed)[0]));
      const provider = new RetentionMeterProvider({
        exporter: new ConsoleMetricExporter(),
      });
      try {
        provider
          .getMeter('console')
          .createCounter('printed')
          .add(7, { a: 'b' });
        await provider.forceFlush();
      } finally {
        try {
          await provider.shutdown(); // exports again: printed too
        } finally {
          dir.restore();
        }
      }
      const counter = printed.find(p => p.descriptor.name === 'printed');
      expect(counter?.dataPoints).to.have.length(1);
      expect(counter!.dataPoints[0]).to.deep.include({
        attributes: { a: 'b' },
        value: 7,
      });
    });

    it('shutdown() exports once more and shuts the exporter down once, however often called; later measurements are counted, not kept', async () => {
      setup = providerSetUp();
      const { meter, provider, exporter } = setup;
      const shutDown = sinon.spy(exporter, 'shutdown');
      const counter = meter.createCounter('before');
      const histogram = meter.createHistogram('before.h');
      const gauge = meter.createGauge('before.g');
      const upDown = meter.createUpDownCounter('before.u');
      let observeAfter = false;
      meter.createObservableGauge('observed').addCallback(r => {
        if (observeAfter) r.observe(1);
      });
      counter.add(5);
      await Promise.all([provider.shutdown(), provider.shutdown()]);
      await provider.shutdown();
      expect(shutDown.callCount).to.equal(1);
      expect(setup.exports()).to.have.length(1);
      expect(points(setup.exports()[0], 'before')[0].value).to.equal(5);

      counter.add(1);
      histogram.record(1);
      gauge.record(1);
      upDown.add(1);
      observeAfter = true;
      const rm = await setup.collect();
      expect(selfCount(rm, REJECTED, 'after_shutdown')).to.equal(5);
      expect(points(rm, 'before')[0].value).to.equal(5);
      for (const name of ['before.h', 'before.g', 'before.u', 'observed'])
        expect(metric(rm, name), name).to.equal(undefined);
      expect(setup.exports(), 'no export after shutdown').to.have.length(1);
    });

    it('serves the OpenTelemetry API as the global MeterProvider', async () => {
      setup = providerSetUp();
      try {
        expect(metrics.setGlobalMeterProvider(setup.provider)).to.equal(true);
        const schemaUrl = 'https://opentelemetry.io/schemas/1.30.0';
        const meter = metrics.getMeter('library', '2.0.1', { schemaUrl });
        meter.createCounter('library.calls').add(2, { op: 'get' });
        metrics
          .getMeter('library', '2.0.1', { schemaUrl })
          .createCounter('library.calls')
          .add(3, { op: 'get' });
        meter.createHistogram('library.duration', { unit: 's' }).record(0.5);
        const calls = await setup.provider.collectAndQuery('library.calls');
        expect(calls!.sum).to.equal(5);
        const rm: ResourceMetrics = await setup.collect();
        const scope = rm.scopeMetrics.find(s => s.scope.name === 'library')!;
        expect(scope.scope).to.deep.equal({
          name: 'library',
          version: '2.0.1',
          schemaUrl,
        });
        expect(scope.metrics.map(m => m.descriptor.name)).to.include.members([
          'library.calls',
          'library.duration',
        ]);
      } finally {
        metrics.disable();
      }
    });
  });
});

/** A name for a test title. */
function titleOf(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 12 ? `${value.slice(0, 12)}…` : value);
  return typeof value === 'symbol' ? 'a symbol' : String(value);
}

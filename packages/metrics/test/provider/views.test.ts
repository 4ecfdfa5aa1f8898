import { expect } from 'chai';
import { get } from 'node:http';
import {
  AggregationType,
  createAllowListAttributesProcessor,
  createDenyListAttributesProcessor,
  DataPointType,
  InstrumentType,
} from '@opentelemetry/sdk-metrics';
import type {
  ExponentialHistogram,
  Histogram,
  IAttributesProcessor,
  ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { Instruments, RetentionMeterProvider } from '../../src';
import { PrometheusScrapeServer } from '../../src/export/prometheus';
import { parseText } from '../prometheusTextParser';
import { metric, pointWith, points, selfCount } from '../util';
import { expectHistogram, providerSetUp, relativeErrorAt } from './harness';
import { seededRandom } from './workload';
import type { ProviderSetup } from './harness';

/** The store's sketch defaults (RetentionMetricReader's maxScale and maxBuckets). */
const MAX_SCALE = 5;
const MAX_BUCKETS = 520;

/**
 * The scale a base-2 exponential histogram of positive `values` keeps: the
 * highest ≤ maxScale at which the buckets from the smallest to the largest
 * value number at most maxBuckets (bucket index ⌈log2(v)·2^scale⌉ − 1).
 */
function scaleFor(
  values: readonly number[],
  maxScale: number,
  maxBuckets: number
): number {
  const positive = values.filter(v => v > 0);
  const low = Math.min(...positive);
  const high = Math.max(...positive);
  const index = (v: number, scale: number) =>
    Math.ceil(Math.log2(v) * 2 ** scale) - 1;
  let scale = maxScale;
  while (index(high, scale) - index(low, scale) + 1 > maxBuckets) scale--;
  return scale;
}

/**
 * An explicit-bucket point of `values`: exact count, sum, min and max, and
 * each cumulative bucket count between the values surely at or below its
 * boundary and those possibly so, given that a value is placed by its
 * sketch bucket's midpoint, within `alpha` of it.
 */
function expectExplicitBuckets(
  point: Histogram,
  values: readonly number[],
  boundaries: readonly number[],
  alpha: number
): void {
  expect(point.buckets.boundaries).to.deep.equal(boundaries);
  expect(point.buckets.counts).to.have.length(boundaries.length + 1);
  expect(point.count).to.equal(values.length);
  expect(point.buckets.counts.reduce((a, b) => a + b, 0)).to.equal(
    values.length
  );
  expect(point.min).to.equal(Math.min(...values));
  expect(point.max).to.equal(Math.max(...values));
  const sum = values.reduce((a, b) => a + b, 0);
  expect(point.sum).to.be.closeTo(sum, sum * 1e-12);
  let cumulative = 0;
  boundaries.forEach((boundary, i) => {
    cumulative += point.buckets.counts[i];
    const surely = values.filter(v => v <= boundary / (1 + alpha)).length;
    const possibly = values.filter(v => v <= boundary / (1 - alpha)).length;
    expect(cumulative, `values ≤ ${boundary}`).to.be.within(surely, possibly);
  });
}

/** Lognormal values around `median`, seeded. */
function lognormal(
  random: () => number,
  n: number,
  median: number,
  sigma: number
): number[] {
  return Array.from({ length: n }, () => {
    const u = 1 - random();
    const normal =
      Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    return median * Math.exp(sigma * normal);
  });
}

describe('RetentionMeterProvider views', () => {
  let setup: ProviderSetup | undefined;
  afterEach(async () => {
    await setup?.provider.shutdown();
    setup = undefined;
  });

  describe('options', () => {
    it('name renames the stream, description replaces the description; two views make two streams', async () => {
      setup = providerSetUp({
        views: [
          {
            instrumentName: 'http.server.request.duration',
            name: 'http.duration',
            description: 'Renamed by a view',
          },
          { instrumentName: 'jobs', name: 'jobs.a' },
          { instrumentName: 'jobs', name: 'jobs.b', description: 'Second' },
          { instrumentName: 'kept', description: 'Only the description' },
        ],
      });
      const { meter } = setup;
      meter
        .createHistogram('http.server.request.duration', {
          description: 'Original',
          unit: 's',
        })
        .record(0.25);
      meter.createCounter('jobs', { description: 'Jobs' }).add(3);
      meter.createCounter('kept', { description: 'Kept' }).add(1);
      const rm = await setup.collect();
      expect(metric(rm, 'http.server.request.duration')).to.equal(undefined);
      expect(metric(rm, 'http.duration')!.descriptor).to.deep.include({
        name: 'http.duration',
        description: 'Renamed by a view',
        unit: 's',
      });
      expect(
        points<ExponentialHistogram>(rm, 'http.duration')[0].value.count
      ).to.equal(1);
      expect(metric(rm, 'jobs')).to.equal(undefined);
      expect(metric(rm, 'jobs.a')!.descriptor.description).to.equal('Jobs');
      expect(metric(rm, 'jobs.b')!.descriptor.description).to.equal('Second');
      expect(points(rm, 'jobs.a')[0].value).to.equal(3);
      expect(points(rm, 'jobs.b')[0].value).to.equal(3);
      expect(metric(rm, 'kept')!.descriptor.description).to.equal(
        'Only the description'
      );
    });

    it('a bound handle records into every stream the views make, and counts a rejected value once', async () => {
      setup = providerSetUp({
        views: [
          { instrumentName: 'jobs', name: 'jobs.a' },
          {
            instrumentName: 'jobs',
            name: 'jobs.b',
            attributesProcessors: [createAllowListAttributesProcessor([])],
          },
        ],
      });
      const instruments = new Instruments(setup.meter);
      const bound = instruments.counter('jobs').bind({ queue: 'q1' });
      bound.add(2);
      bound.add(-1);
      bound.add(5);
      const rm = await setup.collect();
      expect(pointWith(rm, 'jobs.a', { queue: 'q1' })!.value).to.equal(7);
      expect(pointWith(rm, 'jobs.b', {})!.value).to.equal(7);
      expect(instruments.rejected).to.equal(1);
      expect(
        selfCount(rm, 'datapunk.metrics.measurements.rejected', 'negative')
      ).to.equal(1);
    });

    it("attributesProcessors: the SDK's allow and deny lists, one after the other, merging the sets they make equal", async () => {
      setup = providerSetUp({
        views: [
          {
            instrumentName: 'requests',
            attributesProcessors: [
              createAllowListAttributesProcessor([
                'route',
                'method',
                'user.id',
              ]),
              createDenyListAttributesProcessor(['user.id']),
            ],
          },
          {
            instrumentName: 'latency',
            attributesProcessors: [
              createDenyListAttributesProcessor(['user.id']),
            ],
          },
        ],
      });
      const { meter } = setup;
      const requests = meter.createCounter('requests');
      const latency = meter.createHistogram('latency');
      const random = seededRandom(3);
      const expected = new Map<string, number>();
      const latencies = new Map<string, number[]>();
      for (let i = 0; i < 400; i++) {
        const route = ['/a', '/b'][Math.floor(random() * 2)];
        const method = ['GET', 'POST'][Math.floor(random() * 2)];
        const attributes = {
          route,
          method,
          'user.id': `u${Math.floor(random() * 50)}`,
          host: `h${i % 3}`,
        };
        const n = 1 + Math.floor(random() * 4);
        requests.add(n, attributes);
        const key = `${route} ${method}`;
        expected.set(key, (expected.get(key) ?? 0) + n);
        const ms = 1 + random() * 99;
        latency.record(ms, attributes);
        const hostKey = `${route} ${method} ${attributes.host}`;
        latencies.set(hostKey, [...(latencies.get(hostKey) ?? []), ms]);
      }
      const rm = await setup.collect();
      expect(
        new Map(
          points(rm, 'requests').map(p => [
            `${p.attributes.route} ${p.attributes.method}`,
            p.value,
          ])
        )
      ).to.deep.equal(expected);
      for (const p of points(rm, 'requests'))
        expect(Object.keys(p.attributes).sort()).to.deep.equal([
          'method',
          'route',
        ]);
      expect(points(rm, 'latency')).to.have.length(latencies.size);
      for (const [key, values] of latencies) {
        const [route, method, host] = key.split(' ');
        const point = pointWith<ExponentialHistogram>(rm, 'latency', {
          route,
          method,
          host,
        })!;
        expect(Object.keys(point.attributes).sort()).to.deep.equal([
          'host',
          'method',
          'route',
        ]);
        expectHistogram(point.value, values, `latency ${key}`);
      }
    });

    it('attributesProcessors: one that throws rejects the measurement, counted, never thrown', async () => {
      const throwing: IAttributesProcessor = {
        process: () => {
          throw new Error('processor failed');
        },
      };
      setup = providerSetUp({
        views: [
          { instrumentName: 'fragile', attributesProcessors: [throwing] },
        ],
      });
      const counter = setup.meter.createCounter('fragile');
      expect(() => counter.add(1, { a: 'b' })).to.not.throw();
      const rm = await setup.collect();
      expect(metric(rm, 'fragile')).to.equal(undefined);
      expect(
        selfCount(
          rm,
          'datapunk.metrics.measurements.rejected',
          'invalid_attributes'
        )
      ).to.equal(1);
    });

    it('aggregation DROP: nothing is kept or exported, nothing is rejected', async () => {
      setup = providerSetUp({
        views: [
          {
            instrumentName: 'noisy',
            aggregation: { type: AggregationType.DROP },
          },
          {
            instrumentType: InstrumentType.OBSERVABLE_GAUGE,
            aggregation: { type: AggregationType.DROP },
          },
        ],
      });
      const { meter, provider } = setup;
      meter.createCounter('noisy').add(5, { a: 'b' });
      meter.createHistogram('noisy').record(5);
      meter.createCounter('quiet').add(2);
      let called = 0;
      meter.createObservableGauge('dropped.gauge').addCallback(r => {
        called++;
        r.observe(1);
      });
      const rm = await setup.collect();
      expect(metric(rm, 'noisy')).to.equal(undefined);
      expect(metric(rm, 'dropped.gauge')).to.equal(undefined);
      expect(points(rm, 'quiet')[0].value).to.equal(2);
      expect(called, 'the callback still runs (as in the SDK)').to.equal(1);
      expect(provider.query('noisy')).to.equal(undefined);
      expect(selfCount(rm, 'datapunk.metrics.measurements.rejected')).to.equal(
        0
      );
    });

    for (const observable of [false, true])
      it(`aggregationCardinalityLimit: ${observable ? 'an observable counter' : 'a counter'} keeps limit − 1 sets and one overflow series with the rest`, async () => {
        const limit = 4;
        setup = providerSetUp({
          views: [
            {
              instrumentName: 'tenant.requests',
              aggregationCardinalityLimit: limit,
            },
          ],
        });
        const { meter } = setup;
        const random = seededRandom(11);
        const totals = new Map<string, number>();
        const order: string[] = [];
        const rounds = [0, 1, 2].map(() =>
          Array.from({ length: 12 }, () => ({
            tenant: `t${Math.floor(random() * 9)}`,
            n: 1 + Math.floor(random() * 10),
          }))
        );
        const add = (tenant: string, n: number) => {
          if (!totals.has(tenant)) order.push(tenant);
          totals.set(tenant, (totals.get(tenant) ?? 0) + n);
        };
        if (observable) {
          let round = 0;
          meter.createObservableCounter('tenant.requests').addCallback(r => {
            for (const { tenant, n } of rounds[round] ?? []) add(tenant, n);
            // Totals, each set once, in the order first seen.
            for (const tenant of order)
              r.observe(totals.get(tenant)!, { tenant });
          });
          for (round = 0; round < rounds.length; round++) await setup.collect();
        } else {
          const counter = meter.createCounter('tenant.requests');
          for (const round of rounds)
            for (const { tenant, n } of round) {
              counter.add(n, { tenant });
              add(tenant, n);
            }
        }
        // Another counter keeps the store's limit.
        for (let i = 0; i < 2 * limit; i++)
          meter.createCounter('other').add(1, { i });
        const rm = await setup.collect();
        const kept = order.slice(0, limit - 1);
        const overflow = [...totals]
          .filter(([tenant]) => !kept.includes(tenant))
          .reduce((a, [, n]) => a + n, 0);
        expect(order.length, 'more sets than the limit').to.be.above(limit);
        expect(
          points(rm, 'tenant.requests').map(p => [p.attributes, p.value])
        ).to.have.deep.members([
          ...kept.map(tenant => [{ tenant }, totals.get(tenant)]),
          [{ 'otel.metric.overflow': true }, overflow],
        ]);
        expect(points(rm, 'other')).to.have.length(2 * limit);
      });

    it('aggregation EXPONENTIAL_HISTOGRAM with maxSize: at most maxSize buckets, the scale that fits, quantiles within its error', async () => {
      const maxSize = 20;
      setup = providerSetUp({
        views: [
          {
            instrumentName: 'wide',
            aggregation: {
              type: AggregationType.EXPONENTIAL_HISTOGRAM,
              options: { maxSize },
            },
          },
        ],
      });
      const values = lognormal(seededRandom(5), 5000, 30, 3);
      const wide = setup.meter.createHistogram('wide');
      const narrow = setup.meter.createHistogram('narrow');
      for (const v of values) {
        wide.record(v);
        narrow.record(v);
      }
      const rm = await setup.collect();
      const point = points<ExponentialHistogram>(rm, 'wide')[0].value;
      expect(point.positive.bucketCounts.length).to.be.at.most(maxSize);
      expect(point.scale).to.equal(scaleFor(values, MAX_SCALE, maxSize));
      expect(point.scale, 'fewer buckets, a coarser scale').to.be.below(
        points<ExponentialHistogram>(rm, 'narrow')[0].value.scale
      );
      expectHistogram(point, values, 'wide');
      expectHistogram(
        points<ExponentialHistogram>(rm, 'narrow')[0].value,
        values,
        'narrow'
      );
    });

    it('aggregation EXPLICIT_BUCKET_HISTOGRAM: explicit histograms, sorted boundaries, counts within the sketch error of the exact ones; over the advice', async () => {
      const boundaries = [500, 1, 5, 10, 50, 100];
      setup = providerSetUp({
        views: [
          {
            instrumentName: 'latency',
            aggregation: {
              type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
              options: { boundaries },
            },
          },
        ],
      });
      const random = seededRandom(9);
      const values = [
        ...lognormal(random, 3000, 20, 1.2),
        0,
        0,
        ...boundaries, // values on the boundaries themselves
      ];
      const latency = setup.meter.createHistogram('latency', {
        advice: { explicitBucketBoundaries: [2, 20] },
      });
      for (const v of values) latency.record(v);
      const rm = await setup.collect();
      const m = metric(rm, 'latency')!;
      expect(m.dataPointType).to.equal(DataPointType.HISTOGRAM);
      const sorted = [...boundaries].sort((a, b) => a - b);
      expectExplicitBuckets(
        m.dataPoints[0].value as Histogram,
        values,
        sorted,
        relativeErrorAt(scaleFor(values, MAX_SCALE, MAX_BUCKETS))
      );
    });

    it('instrument advice: explicitBucketBoundaries give the Prometheus buckets of a histogram', async () => {
      const advice = [0.1, 1, 10];
      setup = providerSetUp();
      const server = new PrometheusScrapeServer(setup.provider, {
        host: '127.0.0.1',
        port: 0,
      });
      try {
        const histogram = setup.meter.createHistogram('wait', {
          unit: 's',
          advice: { explicitBucketBoundaries: advice },
        });
        // Values away from the boundaries (beyond the width of a bucket at
        // the scale they keep): the bucket counts are exact.
        const alpha = relativeErrorAt(MAX_SCALE);
        const values = lognormal(seededRandom(13), 2000, 1, 1).filter(v =>
          advice.every(b => Math.abs(v - b) > 2 * alpha * b)
        );
        expect(scaleFor(values, MAX_SCALE, MAX_BUCKETS)).to.equal(MAX_SCALE);
        for (const v of values) histogram.record(v);
        const text = await scrape((await server.url())!);
        const buckets = parseText(text)
          .samples.filter(s => s.name === 'wait_seconds_bucket')
          .map(s => [s.labels.get('le'), Number(s.value)]);
        expect(buckets).to.deep.equal([
          ...advice.map(b => [b.toFixed(1), values.filter(v => v <= b).length]),
          ['+Inf', values.length],
        ]);
      } finally {
        await server.close();
      }
    });
  });

  describe('selectors', () => {
    const instruments = [
      {
        meter: 'a',
        name: 'http.server.requests',
        type: InstrumentType.COUNTER,
        unit: '{request}',
      },
      {
        meter: 'a',
        name: 'http.server.duration',
        type: InstrumentType.HISTOGRAM,
        unit: 'ms',
      },
      {
        meter: 'a',
        name: 'db.pool.size',
        type: InstrumentType.OBSERVABLE_GAUGE,
        unit: '{connection}',
      },
      {
        meter: 'b',
        name: 'http.client.requests',
        type: InstrumentType.COUNTER,
        unit: '{request}',
      },
      {
        meter: 'b',
        name: 'db.query.duration',
        type: InstrumentType.HISTOGRAM,
        unit: 'ms',
      },
      {
        meter: 'b',
        name: 'db.rows',
        type: InstrumentType.UP_DOWN_COUNTER,
        unit: '{row}',
      },
    ];
    const meters = {
      a: { version: '1.0.0', schemaUrl: 'https://example.com/schemas/a' },
      b: { version: '2.0.0', schemaUrl: 'https://example.com/schemas/b' },
    };
    type Instrument = (typeof instruments)[number];
    const cases: [string, ViewOptions, (i: Instrument) => boolean][] = [
      [
        'instrumentName with *',
        { instrumentName: 'http.*' },
        i => i.name.startsWith('http.'),
      ],
      [
        'instrumentName with * first',
        { instrumentName: '*.duration' },
        i => i.name.endsWith('.duration'),
      ],
      ['instrumentName *', { instrumentName: '*' }, () => true],
      [
        'instrumentName exactly',
        { instrumentName: 'db.rows' },
        i => i.name === 'db.rows',
      ],
      [
        'instrumentType',
        { instrumentType: InstrumentType.HISTOGRAM },
        i => i.type === InstrumentType.HISTOGRAM,
      ],
      ['meterName', { meterName: 'b' }, i => i.meter === 'b'],
      ['meterVersion', { meterVersion: '1.0.0' }, i => i.meter === 'a'],
      [
        'meterSchemaUrl',
        { meterSchemaUrl: meters.b.schemaUrl },
        i => i.meter === 'b',
      ],
      ['instrumentUnit', { instrumentUnit: 'ms' }, i => i.unit === 'ms'],
      [
        'several at once',
        {
          instrumentType: InstrumentType.COUNTER,
          meterName: 'a',
          instrumentName: 'http.*',
        },
        i => i.type === InstrumentType.COUNTER && i.meter === 'a',
      ],
    ];
    for (const [title, selector, selects] of cases)
      it(`${title} selects exactly the instruments it names`, async () => {
        setup = providerSetUp({
          views: [{ ...selector, description: 'selected' }],
        });
        const provider = setup.provider;
        for (const i of instruments) {
          const meter = provider.getMeter(
            i.meter,
            meters[i.meter as 'a' | 'b'].version,
            {
              schemaUrl: meters[i.meter as 'a' | 'b'].schemaUrl,
            }
          );
          const options = { unit: i.unit, description: 'own' };
          if (i.type === InstrumentType.COUNTER)
            meter.createCounter(i.name, options).add(1);
          else if (i.type === InstrumentType.UP_DOWN_COUNTER)
            meter.createUpDownCounter(i.name, options).add(1);
          else if (i.type === InstrumentType.HISTOGRAM)
            meter.createHistogram(i.name, options).record(1);
          else
            meter
              .createObservableGauge(i.name, options)
              .addCallback(r => r.observe(1));
        }
        const rm = await setup.collect();
        const selected = rm.scopeMetrics
          .filter(s => s.scope.name === 'a' || s.scope.name === 'b')
          .flatMap(s => s.metrics)
          .filter(m => m.descriptor.description === 'selected')
          .map(m => m.descriptor.name);
        expect(selected).to.have.members(
          instruments.filter(selects).map(i => i.name)
        );
      });
  });

  describe('refused at construction, naming what', () => {
    const refused: [string, unknown, RegExp][] = [
      [
        'an unknown option',
        [{ instrumentName: 'x', attributeKeys: ['a'] }],
        /views\[0\]\.attributeKeys/,
      ],
      [
        'another unknown option',
        [{ instrumentName: 'x', aggregationTemporality: 1 }],
        /views\[0\]\.aggregationTemporality/,
      ],
      [
        'aggregation SUM',
        [{ instrumentName: 'x', aggregation: { type: AggregationType.SUM } }],
        /views\[0\]\.aggregation\.type.*SUM/,
      ],
      [
        'aggregation LAST_VALUE',
        [
          {
            instrumentName: 'x',
            aggregation: { type: AggregationType.LAST_VALUE },
          },
        ],
        /views\[0\]\.aggregation\.type.*LAST_VALUE/,
      ],
      [
        'a histogram aggregation for counters',
        [
          {
            instrumentType: InstrumentType.COUNTER,
            aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
          },
        ],
        /views\[0\]\.aggregation\.type.*COUNTER/,
      ],
      [
        'an unknown aggregation option',
        [
          {
            instrumentName: 'x',
            aggregation: {
              type: AggregationType.EXPONENTIAL_HISTOGRAM,
              options: { maxScale: 3 },
            },
          },
        ],
        /views\[0\]\.aggregation\.options\.maxScale/,
      ],
      [
        'recordMinMax: false (min and max are always kept)',
        [
          {
            instrumentName: 'x',
            aggregation: {
              type: AggregationType.EXPONENTIAL_HISTOGRAM,
              options: { recordMinMax: false },
            },
          },
        ],
        /views\[0\]\.aggregation\.options\.recordMinMax/,
      ],
      [
        'maxSize below 2',
        [
          {
            instrumentName: 'x',
            aggregation: {
              type: AggregationType.EXPONENTIAL_HISTOGRAM,
              options: { maxSize: 1 },
            },
          },
        ],
        /views\[0\]\.aggregation\.options\.maxSize/,
      ],
      [
        'a boundary that is not a finite number',
        [
          {
            instrumentName: 'x',
            aggregation: {
              type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
              options: { boundaries: [1, NaN] },
            },
          },
        ],
        /views\[0\]\.aggregation\.options\.boundaries/,
      ],
      [
        'an infinite boundary',
        [
          {
            instrumentName: 'x',
            aggregation: {
              type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
              options: { boundaries: [1, Infinity] },
            },
          },
        ],
        /views\[0\]\.aggregation\.options\.boundaries/,
      ],
      [
        'no selector',
        [{ description: 'd' }],
        /views\[0\]\.instrumentName.*selector/,
      ],
      [
        'a name for a wildcard',
        [{ instrumentName: 'x*', name: 'y' }],
        /views\[0\]\.name/,
      ],
      [
        'a cardinality limit below 2',
        [{ instrumentName: 'x', aggregationCardinalityLimit: 1 }],
        /views\[0\]\.aggregationCardinalityLimit/,
      ],
      [
        'an unknown instrument type',
        [{ instrumentType: 'COUNTERS' }],
        /views\[0\]\.instrumentType/,
      ],
      [
        'a processor without process()',
        [{ instrumentName: 'x', attributesProcessors: [{}] }],
        /views\[0\]\.attributesProcessors/,
      ],
      ['views that are no array', { instrumentName: 'x' }, /'views'/],
    ];
    for (const [title, views, message] of refused)
      it(title, () => {
        expect(
          () => new RetentionMeterProvider({ views: views as ViewOptions[] })
        )
          .to.throw(/RetentionMeterProvider/)
          .with.property('message')
          .that.matches(message);
      });

    it('the second view of several is named by its index', () => {
      expect(
        () =>
          new RetentionMeterProvider({
            views: [
              { instrumentName: 'a' },
              { instrumentName: 'b', exemplarFilter: 'x' } as ViewOptions,
            ],
          })
      ).to.throw(/views\[1\]\.exemplarFilter/);
    });
  });
});

/** GET a scrape in the text format. */
function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { accept: 'text/plain; version=0.0.4' } }, response => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', chunk => (body += chunk));
      response.on('end', () => resolve(body));
      response.on('error', reject);
    }).on('error', reject);
  });
}

import { expect } from 'chai';
import {
  ROOT_CONTEXT,
  ValueType,
  context,
  diag,
  trace,
} from '@opentelemetry/api';
import type {
  Attributes,
  ContextManager,
  DiagLogger,
  SpanContext,
} from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  createAllowListAttributesProcessor,
} from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  PushMetricExporter,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import * as sinon from 'sinon';
import {
  Instruments,
  RetentionMeterProvider,
  RetentionMetricReader,
  setupMetrics,
} from '../src';
import type { RetentionMeterProviderOptions } from '../src';
import { PrometheusScrapeServer } from '../src/export/prometheus';
import type { Exemplar, ExemplarCarrier } from '../src/export/prometheus';
import { decodeFamilies } from './prometheusDecoder';
import type { DecodedExemplar } from './prometheusDecoder';
import { Tracing, seededRandom } from './tracing';

const IDLE = 3_600_000;

function provider(
  options: RetentionMeterProviderOptions = {}
): RetentionMeterProvider {
  return new RetentionMeterProvider({
    collectionIntervalMillis: IDLE,
    exportIntervalMillis: IDLE,
    ...options,
  });
}

type Point = DataPoint<unknown> & ExemplarCarrier;

/** The points of metric `name` in a collection. */
function pointsOf(metrics: ResourceMetrics, name: string): Point[] {
  for (const scope of metrics.scopeMetrics)
    for (const metric of scope.metrics)
      if (metric.descriptor.name === name) return metric.dataPoints as Point[];
  return [];
}

/** The exemplars of the one point of `name` (whose attributes include `attributes`). */
async function exemplarsOf(
  source: RetentionMeterProvider | ResourceMetrics,
  name: string,
  attributes: Attributes = {}
): Promise<readonly Exemplar[] | undefined> {
  const metrics =
    source instanceof RetentionMeterProvider
      ? (await source.collect()).resourceMetrics
      : source;
  const points = pointsOf(metrics, name).filter(p =>
    Object.entries(attributes).every(([k, v]) => p.attributes[k] === v)
  );
  expect(points, `points of ${name}`).to.have.length(1);
  return points[0].exemplars;
}

/** What the store's own counter says, by reason. */
async function dropped(
  meterProvider: RetentionMeterProvider,
  reason: string
): Promise<number> {
  const { resourceMetrics } = await meterProvider.collect();
  const point = pointsOf(resourceMetrics, 'datapunk.metrics.exemplars.dropped')
    .filter(p => p.attributes.reason === reason)
    .at(0);
  return point?.value as number;
}

function millisOf(exemplar: Exemplar): number {
  return exemplar.hrTime![0] * 1000 + exemplar.hrTime![1] / 1e6;
}

/** An exemplar's fields a test compares (time apart). */
function shape(exemplar: Exemplar) {
  return {
    value: exemplar.value,
    traceId: exemplar.traceId,
    spanId: exemplar.spanId,
    filteredAttributes: exemplar.filteredAttributes,
  };
}

function fromSpan(value: number, span: SpanContext, filtered: Attributes = {}) {
  return {
    value,
    traceId: span.traceId,
    spanId: span.spanId,
    filteredAttributes: filtered,
  };
}

/**
 * The specification's SimpleFixedSizeExemplarReservoir, written out:
 * the values each cell holds after offering `values` in one cycle,
 * starting from `cells`.
 */
function simpleReservoir(
  size: number,
  values: readonly number[],
  random: () => number,
  cells: (number | undefined)[] = []
): (number | undefined)[] {
  let seen = 0;
  for (const value of values) {
    const cell = seen < size ? seen : Math.floor(random() * (seen + 1));
    if (cell < size) cells[cell] = value;
    seen++;
  }
  return cells;
}

/**
 * The specification's AlignedHistogramBucketExemplarReservoir, written
 * out: per bucket (the first boundary ≥ the value, else the last), a
 * measurement is kept if random_integer(0, seen in the bucket) is 0.
 */
function alignedReservoir(
  boundaries: readonly number[],
  values: readonly number[],
  random: () => number
): (number | undefined)[] {
  const cells: (number | undefined)[] = [];
  const seen: number[] = new Array(boundaries.length + 1).fill(0);
  for (const value of values) {
    let bucket = boundaries.findIndex(boundary => value <= boundary);
    if (bucket < 0) bucket = boundaries.length;
    if (seen[bucket] === 0 || Math.floor(random() * (seen[bucket] + 1)) === 0)
      cells[bucket] = value;
    seen[bucket]++;
  }
  return cells;
}

/** Values in the order cells hold them, empty cells left out. */
function held(cells: (number | undefined)[]): number[] {
  return cells.filter((v): v is number => v !== undefined);
}

/**
 * Runs `fn` with Math.random drawn from `seed`: the reservoirs' only
 * source while recording (spans are made outside: their ids use it too).
 */
function withSeed<T>(seed: number, fn: () => T): T {
  const stub = sinon.stub(Math, 'random').callsFake(seededRandom(seed));
  try {
    return fn();
  } finally {
    stub.restore();
  }
}

describe('exemplars (issue 24)', () => {
  let tracing: Tracing;
  let providers: RetentionMeterProvider[];
  const make = (options?: RetentionMeterProviderOptions) => {
    const made = provider(options);
    providers.push(made);
    return made;
  };

  beforeEach(() => {
    tracing = new Tracing();
    providers = [];
  });
  afterEach(async () => {
    tracing.dispose();
    sinon.restore();
    await Promise.all(providers.map(p => p.shutdown()));
  });

  describe('the trace_based filter (the default)', () => {
    it('keeps a measurement made in a sampled span: value, time, trace and span id, on every sync instrument', async () => {
      const meterProvider = make();
      const meter = meterProvider.getMeter('shop');
      const counter = meter.createCounter('orders', {
        valueType: ValueType.INT,
      });
      const upDown = meter.createUpDownCounter('queue.depth');
      const histogram = meter.createHistogram('latency');
      const gauge = meter.createGauge('temperature');
      const attributes = { route: '/a' };
      const before = Date.now();
      const { span } = tracing.inSpan(tracing.sampled, () => {
        counter.add(3, attributes);
        upDown.add(-2, attributes);
        histogram.record(12.5, attributes);
        gauge.record(-4.25, attributes);
      });
      const after = Date.now();
      const { resourceMetrics } = await meterProvider.collect();
      for (const [name, value] of [
        ['orders', 3],
        ['queue.depth', -2],
        ['latency', 12.5],
        ['temperature', -4.25],
      ] as const) {
        const exemplars = await exemplarsOf(resourceMetrics, name);
        expect(exemplars?.map(shape), name).to.deep.equal([
          fromSpan(value, span),
        ]);
        const time = millisOf(exemplars![0]);
        expect(time, name).to.be.within(before, after);
      }
    });

    it('keeps none outside a span or in an unsampled one, and counts the measurements all the same', async () => {
      const meterProvider = make();
      const histogram = meterProvider
        .getMeter('shop')
        .createHistogram('latency');
      histogram.record(1, { route: '/a' });
      const { span } = tracing.inSpan(tracing.unsampled, () =>
        histogram.record(2, { route: '/a' })
      );
      expect(span.traceFlags & 1, 'the span is unsampled').to.equal(0);
      expect(trace.isSpanContextValid(span)).to.equal(true);
      const { resourceMetrics } = await meterProvider.collect();
      const [point] = pointsOf(resourceMetrics, 'latency');
      expect(point.exemplars).to.equal(undefined);
      expect((point.value as { count: number }).count).to.equal(2);
    });

    it('samples the context passed to record() instead of the active one', async () => {
      const meterProvider = make();
      const histogram = meterProvider
        .getMeter('shop')
        .createHistogram('latency');
      const sampledSpan = tracing.sampled.startSpan('passed');
      const passed = trace.setSpan(ROOT_CONTEXT, sampledSpan);
      tracing.inSpan(tracing.unsampled, () =>
        histogram.record(5, { route: '/a' }, passed)
      );
      tracing.inSpan(tracing.sampled, () =>
        histogram.record(6, { route: '/b' }, ROOT_CONTEXT)
      );
      sampledSpan.end();
      const { resourceMetrics } = await meterProvider.collect();
      expect(
        (await exemplarsOf(resourceMetrics, 'latency', { route: '/a' }))?.map(
          shape
        )
      ).to.deep.equal([fromSpan(5, sampledSpan.spanContext())]);
      expect(
        await exemplarsOf(resourceMetrics, 'latency', { route: '/b' })
      ).to.equal(undefined);
    });

    it('with no context manager registered, reads a context passed to record(); once one is registered, the active span within 1024 records', async () => {
      tracing.dispose();
      const meterProvider = make();
      const histogram = meterProvider
        .getMeter('shop')
        .createHistogram('latency');
      const sampledSpan = tracing.sampled.startSpan('passed');
      histogram.record(
        5,
        { route: '/a' },
        trace.setSpan(ROOT_CONTEXT, sampledSpan)
      );
      sampledSpan.end();
      // Recorded with no manager: the provider has seen that contexts do not propagate.
      for (let i = 0; i < 10; i++) histogram.record(1, { route: '/b' });
      expect(
        (await exemplarsOf(meterProvider, 'latency', { route: '/a' }))?.map(
          shape
        )
      ).to.deep.equal([fromSpan(5, sampledSpan.spanContext())]);
      expect(
        await exemplarsOf(meterProvider, 'latency', { route: '/b' })
      ).to.equal(undefined);
      tracing = new Tracing();
      const spans = new Map<number, SpanContext>();
      for (let value = 1; value <= 1024; value++)
        spans.set(
          value,
          tracing.inSpan(tracing.sampled, () =>
            histogram.record(value, { route: '/b' })
          ).span
        );
      const kept = await exemplarsOf(meterProvider, 'latency', {
        route: '/b',
      });
      expect(
        kept,
        'exemplars of the active sampled spans'
      ).to.have.length.above(0);
      for (const exemplar of kept!)
        expect(shape(exemplar)).to.deep.equal(
          fromSpan(exemplar.value, spans.get(exemplar.value)!)
        );
    });

    it('keeps exemplars of bound handles and of the Instruments facade (its handles and timers too)', async () => {
      const meterProvider = make();
      const meter = meterProvider.getMeter('shop');
      const bound = (
        meter.createHistogram('api.latency') as unknown as {
          bind(a: Attributes): { record(v: number): boolean };
        }
      ).bind({ route: '/bound' });
      const instruments = new Instruments(meter);
      const facadeCounter = instruments.counter('jobs');
      const facadeBound = instruments.histogram('sizes').bind({ kind: 'x' });
      const timer = instruments.timer('job.duration');
      bound.record(1); // no span: no exemplar
      const { span } = tracing.inSpan(tracing.sampled, () => {
        bound.record(7);
        facadeCounter.add(2, { kind: 'y' });
        facadeBound.record(40);
        timer.record(0.25, { kind: 'z' });
      });
      const { resourceMetrics } = await meterProvider.collect();
      expect(
        (await exemplarsOf(resourceMetrics, 'api.latency'))?.map(shape)
      ).to.deep.equal([fromSpan(7, span)]);
      expect(
        (await exemplarsOf(resourceMetrics, 'jobs'))?.map(shape)
      ).to.deep.equal([fromSpan(2, span)]);
      expect(
        (await exemplarsOf(resourceMetrics, 'sizes'))?.map(shape)
      ).to.deep.equal([fromSpan(40, span)]);
      expect(
        (await exemplarsOf(resourceMetrics, 'job.duration'))?.map(shape)
      ).to.deep.equal([fromSpan(0.25, span)]);
    });

    it('a context that is no Context: the measurement is kept, the exemplar dropped and counted, nothing thrown', async () => {
      const meterProvider = make();
      const histogram = meterProvider
        .getMeter('shop')
        .createHistogram('latency');
      const notAContext = {
        getValue() {
          throw new Error('hostile');
        },
      };
      expect(() =>
        histogram.record(3, {}, notAContext as never)
      ).not.to.throw();
      expect(() => histogram.record(4, {}, 'context' as never)).not.to.throw();
      const { resourceMetrics } = await meterProvider.collect();
      const [point] = pointsOf(resourceMetrics, 'latency');
      expect((point.value as { count: number }).count).to.equal(2);
      expect(point.exemplars).to.equal(undefined);
      expect(await dropped(meterProvider, 'invalid_context')).to.equal(2);
    });

    it('a context manager that throws: the measurement is kept, the exemplar dropped and counted, nothing thrown', async () => {
      tracing.dispose();
      const hostile = () => {
        throw new Error('hostile context manager');
      };
      context.setGlobalContextManager({
        active: hostile,
        with: hostile,
        bind: hostile,
        enable() {
          return this;
        },
        disable() {
          return this;
        },
      } as unknown as ContextManager);
      try {
        const meterProvider = make();
        const histogram = meterProvider
          .getMeter('shop')
          .createHistogram('latency');
        expect(() => histogram.record(3, {})).not.to.throw();
        expect(() => histogram.record(4, {})).not.to.throw();
        const { resourceMetrics } = await meterProvider.collect();
        const [point] = pointsOf(resourceMetrics, 'latency');
        expect((point.value as { count: number }).count).to.equal(2);
        expect(point.exemplars).to.equal(undefined);
        expect(await dropped(meterProvider, 'invalid_context')).to.equal(2);
      } finally {
        context.disable();
      }
    });

    it('observable instruments keep none (their callbacks have no measurement context)', async () => {
      const meterProvider = make({ exemplarFilter: 'always_on' });
      const observable = meterProvider
        .getMeter('shop')
        .createObservableGauge('pool.size');
      observable.addCallback(result => result.observe(5));
      const exemplars = await exemplarsOf(meterProvider, 'pool.size');
      expect(exemplars).to.equal(undefined);
    });
  });

  describe('always_on and always_off', () => {
    it('always_on keeps measurements without a span (no ids) and with an unsampled one (its ids)', async () => {
      const meterProvider = make({ exemplarFilter: 'always_on' });
      const counter = meterProvider.getMeter('shop').createCounter('orders');
      counter.add(1, { route: '/none' });
      const { span } = tracing.inSpan(tracing.unsampled, () =>
        counter.add(2, { route: '/unsampled' })
      );
      const { resourceMetrics } = await meterProvider.collect();
      expect(
        (await exemplarsOf(resourceMetrics, 'orders', { route: '/none' }))?.map(
          shape
        )
      ).to.deep.equal([
        {
          value: 1,
          traceId: undefined,
          spanId: undefined,
          filteredAttributes: {},
        },
      ]);
      expect(
        (
          await exemplarsOf(resourceMetrics, 'orders', { route: '/unsampled' })
        )?.map(shape)
      ).to.deep.equal([fromSpan(2, span)]);
    });

    it('always_off keeps none, even in a sampled span, and takes no exemplar memory', async () => {
      const meterProvider = make({ exemplarFilter: 'always_off' });
      const histogram = meterProvider
        .getMeter('shop')
        .createHistogram('latency');
      tracing.inSpan(tracing.sampled, () => histogram.record(5));
      const { resourceMetrics } = await meterProvider.collect();
      expect(await exemplarsOf(resourceMetrics, 'latency')).to.equal(undefined);
      const bytes = pointsOf(
        resourceMetrics,
        'datapunk.metrics.retained.bytes'
      ).find(p => p.attributes.part === 'exemplars');
      expect(bytes?.value).to.equal(0);
    });
  });

  describe('OTEL_METRICS_EXEMPLAR_FILTER and the exemplarFilter option', () => {
    let saved: string | undefined;
    let warnings: string[];
    beforeEach(() => {
      saved = process.env.OTEL_METRICS_EXEMPLAR_FILTER;
      warnings = [];
      const logger: DiagLogger = {
        error: () => {},
        warn: (message: string) => warnings.push(message),
        info: () => {},
        debug: () => {},
        verbose: () => {},
      };
      diag.setLogger(logger);
    });
    afterEach(() => {
      if (saved === undefined) delete process.env.OTEL_METRICS_EXEMPLAR_FILTER;
      else process.env.OTEL_METRICS_EXEMPLAR_FILTER = saved;
      diag.disable();
    });

    /** Whether a measurement outside any span becomes an exemplar, and whether one in a sampled span does. */
    async function behaviour(
      options: RetentionMeterProviderOptions = {}
    ): Promise<[boolean, boolean]> {
      const meterProvider = make(options);
      const counter = meterProvider.getMeter('shop').createCounter('orders');
      counter.add(1, { where: 'outside' });
      tracing.inSpan(tracing.sampled, () => counter.add(1, { where: 'span' }));
      const { resourceMetrics } = await meterProvider.collect();
      return [
        (await exemplarsOf(resourceMetrics, 'orders', { where: 'outside' })) !==
          undefined,
        (await exemplarsOf(resourceMetrics, 'orders', { where: 'span' })) !==
          undefined,
      ];
    }

    it('reads the variable, whatever its case and surrounding spaces', async () => {
      process.env.OTEL_METRICS_EXEMPLAR_FILTER = ' ALWAYS_ON ';
      expect(await behaviour()).to.deep.equal([true, true]);
      process.env.OTEL_METRICS_EXEMPLAR_FILTER = 'always_off';
      expect(await behaviour()).to.deep.equal([false, false]);
      process.env.OTEL_METRICS_EXEMPLAR_FILTER = 'Trace_Based';
      expect(await behaviour()).to.deep.equal([false, true]);
      delete process.env.OTEL_METRICS_EXEMPLAR_FILTER;
      expect(await behaviour()).to.deep.equal([false, true]);
      expect(warnings).to.deep.equal([]);
    });

    it('warns about a value it does not know and uses trace_based', async () => {
      process.env.OTEL_METRICS_EXEMPLAR_FILTER = 'sometimes';
      expect(await behaviour()).to.deep.equal([false, true]);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include(
        "OTEL_METRICS_EXEMPLAR_FILTER='sometimes' is not one of always_on, always_off, trace_based; using 'trace_based'"
      );
    });

    it('the option wins over the variable', async () => {
      process.env.OTEL_METRICS_EXEMPLAR_FILTER = 'always_off';
      expect(await behaviour({ exemplarFilter: 'always_on' })).to.deep.equal([
        true,
        true,
      ]);
    });

    it('setupMetrics takes the option too, for its provider and instruments', async () => {
      const setup = setupMetrics({
        global: false,
        exporter: 'none',
        exemplarFilter: 'always_on',
      });
      try {
        setup.instruments.counter('jobs').add(4);
        expect(
          (await exemplarsOf(setup.meterProvider, 'jobs'))?.map(shape)
        ).to.deep.equal([
          {
            value: 4,
            traceId: undefined,
            spanId: undefined,
            filteredAttributes: {},
          },
        ]);
      } finally {
        await setup.shutdown();
      }
    });

    it('refuses an option value it does not know at construction, naming the option and its values', () => {
      for (const bad of ['on', 'ALWAYS_ON', 1, true])
        expect(
          () => new RetentionMeterProvider({ exemplarFilter: bad as never })
        ).to.throw(
          RangeError,
          /RetentionMeterProvider: option 'exemplarFilter' must be one of 'always_on', 'always_off', 'trace_based'/
        );
    });
  });

  describe('the reservoirs (seeded: the expected exemplars come from the rules written above)', () => {
    it('sums and gauges: SimpleFixedSize of 1, uniform over the cycle', async () => {
      for (const seed of [1, 2, 3, 42]) {
        const meterProvider = make();
        const meter = meterProvider.getMeter('shop');
        const counter = meter.createCounter('orders');
        const gauge = meter.createGauge('level');
        const values = Array.from({ length: 50 }, (_, i) => i + 1);
        const { span } = tracing.inSpan(tracing.sampled, () =>
          withSeed(seed, () => {
            for (const value of values) counter.add(value);
          })
        );
        tracing.inSpan(tracing.sampled, () =>
          withSeed(seed + 1000, () => {
            for (const value of values) gauge.record(-value);
          })
        );
        const { resourceMetrics } = await meterProvider.collect();
        const expected = held(simpleReservoir(1, values, seededRandom(seed)));
        const got = await exemplarsOf(resourceMetrics, 'orders');
        expect(
          got?.map(e => e.value),
          `seed ${seed}`
        ).to.deep.equal(expected);
        expect(got?.[0].traceId).to.equal(span.traceId);
        const expectedGauge = held(
          simpleReservoir(
            1,
            values.map(v => -v),
            seededRandom(seed + 1000)
          )
        );
        expect(
          (await exemplarsOf(resourceMetrics, 'level'))?.map(e => e.value)
        ).to.deep.equal(expectedGauge);
      }
    });

    it('exponential histograms: SimpleFixedSize of min(20, maxBuckets), and sampling starts over at each collection', async () => {
      const meterProvider = make({
        views: [
          {
            instrumentName: 'narrow',
            aggregation: {
              type: AggregationType.EXPONENTIAL_HISTOGRAM,
              options: { maxSize: 4 },
            },
          },
        ],
      });
      const meter = meterProvider.getMeter('shop');
      const histogram = meter.createHistogram('latency');
      const narrow = meter.createHistogram('narrow');
      const first = Array.from({ length: 300 }, (_, i) => i + 0.5);
      tracing.inSpan(tracing.sampled, () =>
        withSeed(7, () => {
          for (const value of first) histogram.record(value);
        })
      );
      tracing.inSpan(tracing.sampled, () =>
        withSeed(8, () => {
          for (const value of first) narrow.record(value);
        })
      );
      let { resourceMetrics } = await meterProvider.collect();
      const cells = simpleReservoir(20, first, seededRandom(7));
      expect(held(cells)).to.have.length(20);
      expect(
        (await exemplarsOf(resourceMetrics, 'latency'))?.map(e => e.value)
      ).to.deep.equal(held(cells));
      expect(
        (await exemplarsOf(resourceMetrics, 'narrow'))?.map(e => e.value)
      ).to.deep.equal(held(simpleReservoir(4, first, seededRandom(8))));

      // The next cycle starts counting again: its first measurements take
      // the first cells; the others keep the last cycle's (cumulative).
      const second = [1000.5, 2000.5, 3000.5];
      tracing.inSpan(tracing.sampled, () =>
        withSeed(9, () => {
          for (const value of second) histogram.record(value);
        })
      );
      ({ resourceMetrics } = await meterProvider.collect());
      expect(
        (await exemplarsOf(resourceMetrics, 'latency'))?.map(e => e.value)
      ).to.deep.equal(
        held(simpleReservoir(20, second, seededRandom(9), [...cells]))
      );
    });

    it('explicit-bucket histograms: AlignedHistogramBucket, one per bucket, uniform within it', async () => {
      const boundaries = [10, 100, 1000];
      const meterProvider = make({
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
      const histogram = meterProvider
        .getMeter('shop')
        .createHistogram('latency');
      // Values on boundaries too (10 belongs to the first bucket), and past the last.
      const values = [
        ...Array.from({ length: 40 }, (_, i) => (i % 11) + 1),
        10,
        100,
        1000,
        ...Array.from({ length: 30 }, (_, i) => 101 + i * 29),
        5000,
        7000,
      ];
      for (const seed of [11, 12]) {
        tracing.inSpan(tracing.sampled, () =>
          withSeed(seed, () => {
            for (const value of values) histogram.record(value);
          })
        );
        const { resourceMetrics } = await meterProvider.collect();
        const expected = held(
          alignedReservoir(boundaries, values, seededRandom(seed))
        );
        const exemplars = await exemplarsOf(resourceMetrics, 'latency');
        expect(
          exemplars?.map(e => e.value),
          `seed ${seed}`
        ).to.deep.equal(expected);
        expect(exemplars).to.have.length(4);
      }
    });
  });

  describe('filtered attributes', () => {
    const views = [
      {
        instrumentName: 'requests',
        attributesProcessors: [createAllowListAttributesProcessor(['route'])],
      },
    ];

    it('an exemplar keeps the attributes a View took off its series, and only those', async () => {
      const meterProvider = make({ views });
      const meter = meterProvider.getMeter('shop');
      const counter = meter.createCounter('requests');
      const other = meter.createCounter('other');
      const bound = (
        counter as unknown as {
          bind(a: Attributes): { record(v: number): boolean };
        }
      ).bind({ route: '/b', user: 'bea' });
      const { span } = tracing.inSpan(tracing.sampled, () => {
        counter.add(1, {
          route: '/a',
          user: 'ann',
          retry: 2,
          tags: ['x', 'y'],
        });
        bound.record(4);
        other.add(1, { route: '/a', user: 'ann' });
      });
      const { resourceMetrics } = await meterProvider.collect();
      const points = pointsOf(resourceMetrics, 'requests');
      expect(points.map(p => p.attributes)).to.have.deep.members([
        { route: '/a' },
        { route: '/b' },
      ]);
      expect(
        (await exemplarsOf(resourceMetrics, 'requests', { route: '/a' }))?.map(
          shape
        )
      ).to.deep.equal([
        fromSpan(1, span, { retry: 2, tags: ['x', 'y'], user: 'ann' }),
      ]);
      expect(
        (await exemplarsOf(resourceMetrics, 'requests', { route: '/b' }))?.map(
          shape
        )
      ).to.deep.equal([fromSpan(4, span, { user: 'bea' })]);
      expect(
        (await exemplarsOf(resourceMetrics, 'other'))?.map(shape)
      ).to.deep.equal([fromSpan(1, span)]);
    });

    it('filtered attributes past their limit drop the exemplar, counted; the measurement stays', async () => {
      const meterProvider = make({ views });
      const counter = meterProvider.getMeter('shop').createCounter('requests');
      tracing.inSpan(tracing.sampled, () =>
        counter.add(1, { route: '/a', note: 'x'.repeat(2000) })
      );
      const { resourceMetrics } = await meterProvider.collect();
      const [point] = pointsOf(resourceMetrics, 'requests');
      expect(point.value).to.equal(1);
      expect(point.exemplars).to.equal(undefined);
      expect(await dropped(meterProvider, 'filtered_attributes')).to.equal(1);
    });
  });

  describe('limits.maxExemplarBytes', () => {
    it('past it, exemplars of further series are dropped and counted; the memory is reported', async () => {
      // A counter's reservoir is one 48-byte slot: room for three series.
      const meterProvider = make({ limits: { maxExemplarBytes: 3 * 48 } });
      const counter = meterProvider.getMeter('shop').createCounter('orders');
      const histogram = meterProvider
        .getMeter('shop')
        .createHistogram('latency');
      tracing.inSpan(tracing.sampled, () => {
        for (let i = 0; i < 5; i++) counter.add(1, { shop: i });
        // 20 slots: more than is left.
        histogram.record(1);
      });
      const { resourceMetrics } = await meterProvider.collect();
      const withExemplars = pointsOf(resourceMetrics, 'orders').filter(
        p => p.exemplars !== undefined
      );
      expect(withExemplars.map(p => p.attributes.shop)).to.deep.equal([
        0, 1, 2,
      ]);
      expect(await exemplarsOf(resourceMetrics, 'latency')).to.equal(undefined);
      expect(await dropped(meterProvider, 'memory_limit')).to.equal(3);
      const bytes = pointsOf(
        resourceMetrics,
        'datapunk.metrics.retained.bytes'
      ).find(p => p.attributes.part === 'exemplars');
      // The three slots kept, and the reservoirs' few bytes per series of
      // indexes (typed arrays grown by doubling): nowhere near the 20 slots
      // the histogram was refused.
      expect(bytes?.value).to.be.at.least(3 * 48);
      expect(bytes?.value).to.be.below(3 * 48 + 2 * 1024);
    });

    it('refuses a negative or fractional limit at construction', () => {
      expect(
        () => new RetentionMeterProvider({ limits: { maxExemplarBytes: -1 } })
      ).to.throw(RangeError, /option 'limits.maxExemplarBytes'/);
      expect(
        () => new RetentionMeterProvider({ limits: { maxExemplarBytes: 1.5 } })
      ).to.throw(RangeError, /option 'limits.maxExemplarBytes'/);
    });
  });

  describe('delta temporality', () => {
    /**
     * An exporter asking for delta that keeps what it is given; it fails
     * while `failing`, and its `failCall`-th request (1 for the first).
     */
    class DeltaExporter implements PushMetricExporter {
      readonly exported: ResourceMetrics[] = [];
      failing = false;
      failCall = 0;
      private _calls = 0;
      export(
        metrics: ResourceMetrics,
        done: (result: ExportResult) => void
      ): void {
        if (this.failing || ++this._calls === this.failCall) {
          done({ code: ExportResultCode.FAILED, error: new Error('down') });
          return;
        }
        this.exported.push(metrics);
        done({ code: ExportResultCode.SUCCESS });
      }
      selectAggregationTemporality(): AggregationTemporality {
        return AggregationTemporality.DELTA;
      }
      async forceFlush(): Promise<void> {}
      async shutdown(): Promise<void> {}
    }

    it('an exemplar goes out once, with the export that carries its measurement; a failed export keeps it', async () => {
      const exporter = new DeltaExporter();
      const meterProvider = make({ exporter });
      const histogram = meterProvider
        .getMeter('shop')
        .createHistogram('latency');
      const { span } = tracing.inSpan(tracing.sampled, () =>
        histogram.record(5)
      );
      exporter.failing = true;
      await meterProvider.forceFlush();
      exporter.failing = false;
      histogram.record(6); // no span: counted, no exemplar
      await meterProvider.forceFlush();
      expect(
        (await exemplarsOf(exporter.exported[0], 'latency'))?.map(shape)
      ).to.deep.equal([fromSpan(5, span)]);
      histogram.record(7);
      await meterProvider.forceFlush();
      const [point] = pointsOf(exporter.exported[1], 'latency');
      expect((point.value as { count: number }).count).to.equal(1);
      expect(point.exemplars).to.equal(undefined);
    });
    it('exports in batches: each series’ point carries its own exemplar, once, in whichever request it goes; a failed request keeps them for the next export', async () => {
      const exporter = new DeltaExporter();
      exporter.failCall = 2;
      const meterProvider = make({ exporter, maxExportBatchSize: 2 });
      const orders = meterProvider.getMeter('shop').createCounter('orders');
      const routes = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
      const spans = new Map(
        routes.map(route => [
          route,
          tracing.inSpan(tracing.sampled, () => orders.add(1, { route })).span,
        ])
      );
      await meterProvider.forceFlush();
      const afterFailure = exporter.exported.length;
      await meterProvider.forceFlush();
      expect(exporter.exported.length).to.be.greaterThan(afterFailure);
      const seen = exporter.exported.flatMap(metrics =>
        pointsOf(metrics, 'orders').map(point => ({
          route: point.attributes.route,
          value: point.value,
          exemplars: point.exemplars?.map(shape),
        }))
      );
      expect(
        seen.sort((a, b) => String(a.route).localeCompare(String(b.route)))
      ).to.deep.equal(
        routes.map(route => ({
          route,
          value: 1,
          exemplars: [fromSpan(1, spans.get(route)!)],
        }))
      );
    });
  });

  describe('RetentionMetricReader under the SDK’s MeterProvider', () => {
    it('the Instruments facade given the reader records exemplars; the SDK’s own instruments bring none (its points have no exemplars)', async () => {
      const reader = new RetentionMetricReader({
        collectionIntervalMillis: IDLE,
        exportIntervalMillis: IDLE,
      });
      const sdk = new MeterProvider({ readers: [reader] });
      try {
        const direct = new Instruments(sdk.getMeter('app'), {
          reader,
          meterName: 'facade',
        });
        const facadeCounter = direct.counter('jobs');
        const facadeHistogram = direct.histogram('sizes').bind({ kind: 'x' });
        const sdkCounter = sdk.getMeter('app').createCounter('sdk.jobs');
        const { span } = tracing.inSpan(tracing.sampled, () => {
          facadeCounter.add(2, { kind: 'y' });
          facadeHistogram.record(40);
          sdkCounter.add(5, { kind: 'y' });
        });
        const { resourceMetrics } = await reader.collect();
        expect(
          (await exemplarsOf(resourceMetrics, 'jobs'))?.map(shape)
        ).to.deep.equal([fromSpan(2, span)]);
        expect(
          (await exemplarsOf(resourceMetrics, 'sizes'))?.map(shape)
        ).to.deep.equal([fromSpan(40, span)]);
        const [sdkPoint] = pointsOf(resourceMetrics, 'sdk.jobs');
        expect(sdkPoint.value).to.equal(5);
        expect(sdkPoint.exemplars).to.equal(undefined);
      } finally {
        await sdk.shutdown();
      }
    });

    it('the reader takes exemplarFilter as the provider does', async () => {
      const reader = new RetentionMetricReader({
        collectionIntervalMillis: IDLE,
        exportIntervalMillis: IDLE,
        exemplarFilter: 'always_on',
      });
      const sdk = new MeterProvider({ readers: [reader] });
      try {
        new Instruments(sdk.getMeter('app'), { reader, meterName: 'facade' })
          .counter('jobs')
          .add(1);
        const { resourceMetrics } = await reader.collect();
        expect(
          (await exemplarsOf(resourceMetrics, 'jobs'))?.map(shape)
        ).to.deep.equal([
          {
            value: 1,
            traceId: undefined,
            spanId: undefined,
            filteredAttributes: {},
          },
        ]);
        expect(
          () =>
            new RetentionMetricReader({
              exemplarFilter: 'sometimes' as 'always_on',
            })
        ).to.throw(/exemplarFilter/);
      } finally {
        await sdk.shutdown();
      }
    });
  });

  describe('the Prometheus scrape', () => {
    const OPENMETRICS = 'application/openmetrics-text;version=1.0.0';
    const PROTOBUF =
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

    /**
     * A scrape server on a provider where, in one sampled span, a counter
     * (a View keeps `route` only), a gauge, an exponential histogram and
     * an explicit one ([10, 100]) recorded; `check` gets its URL, the
     * span and the seconds around the recording. Batches of 2 points, so
     * the scrape is built from several.
     */
    async function withScrape(
      check: (
        url: string,
        span: SpanContext,
        seconds: [number, number]
      ) => Promise<void>
    ): Promise<void> {
      const meterProvider = make({
        maxExportBatchSize: 2,
        views: [
          {
            instrumentName: 'requests',
            attributesProcessors: [
              createAllowListAttributesProcessor(['route']),
            ],
          },
          {
            instrumentName: 'sizes',
            aggregation: {
              type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
              options: { boundaries: [10, 100] },
            },
          },
        ],
      });
      const server = new PrometheusScrapeServer(meterProvider, {
        host: '127.0.0.1',
        port: 0,
      });
      try {
        const meter = meterProvider.getMeter('shop');
        const counter = meter.createCounter('requests');
        const gauge = meter.createGauge('temperature');
        const latency = meter.createHistogram('latency');
        const sizes = meter.createHistogram('sizes');
        const before = Date.now() / 1000;
        const { span } = tracing.inSpan(tracing.sampled, () => {
          counter.add(3, { route: '/a', user: 'ann' });
          gauge.record(21.5);
          for (const value of [5, 50, 500]) {
            latency.record(value);
            sizes.record(value);
          }
        });
        const after = Date.now() / 1000;
        await check((await server.url())!, span, [before, after]);
      } finally {
        await server.close();
      }
    }

    async function scrape(url: string, accept: string): Promise<Response> {
      const response = await fetch(url, { headers: { accept } });
      expect(response.status).to.equal(200);
      return response;
    }

    it('OpenMetrics carries them on counter _total and histogram _bucket lines (each in its bucket), not on gauges; text 0.0.4 has none', async () => {
      await withScrape(async (url, span, [before, after]) => {
        const text = await (await scrape(url, OPENMETRICS)).text();
        const ids = `span_id="${span.spanId}",trace_id="${span.traceId}"`;
        const withExemplar = text
          .split('\n')
          .filter(line => line.includes(' # {'));
        const counterLine = withExemplar.find(l =>
          l.startsWith('requests_total{')
        );
        const match = / # \{(.*)\} (\S+) (\S+)$/.exec(counterLine ?? '');
        expect(match, text).not.to.equal(null);
        expect(match![1]).to.equal(`${ids},user="ann"`);
        expect(Number(match![2])).to.equal(3);
        expect(Number(match![3])).to.be.within(before - 0.001, after + 0.001);
        const buckets = (name: string) =>
          withExemplar
            .filter(l => l.startsWith(`${name}_bucket{`))
            .map(line => {
              const [, le, value] = /le="([^"]+)".* # \{[^}]*\} (\S+) /.exec(
                line
              )!;
              expect(line).to.include(ids);
              return [le, Number(value)];
            });
        // Explicit buckets: the View's; exponential: powers of two.
        expect(buckets('sizes')).to.deep.equal([
          ['10.0', 5],
          ['100.0', 50],
          ['+Inf', 500],
        ]);
        expect(buckets('latency')).to.deep.equal([
          ['8.0', 5],
          ['64.0', 50],
          ['512.0', 500],
        ]);
        expect(
          withExemplar.filter(l => l.startsWith('temperature'))
        ).to.deep.equal([]);
        const plain = await (
          await scrape(url, 'text/plain;version=0.0.4')
        ).text();
        expect(plain).to.include('requests_total');
        expect(plain).not.to.include(' # {');
      });
    });

    it('protobuf carries them on the counter, the classic buckets (each in its bucket) and, for a native histogram, in its exemplars field', async () => {
      await withScrape(async (url, span, [before, after]) => {
        const response = await scrape(url, PROTOBUF);
        expect(response.headers.get('content-type')).to.match(
          /^application\/vnd\.google\.protobuf/
        );
        const families = decodeFamilies(
          new Uint8Array(await response.arrayBuffer())
        );
        const metricOf = (name: string) => {
          const found = families.find(f => f.name === name)?.metric;
          expect(found, name).to.have.length(1);
          return found![0];
        };
        const ids = [
          { name: 'span_id', value: span.spanId },
          { name: 'trace_id', value: span.traceId },
        ];
        const seconds = (e: DecodedExemplar) =>
          e.timestamp!.seconds! + (e.timestamp!.nanos ?? 0) / 1e9;
        const { exemplar } = metricOf('requests_total').counter!;
        expect(exemplar!.label).to.deep.equal([
          ...ids,
          { name: 'user', value: 'ann' },
        ]);
        expect(exemplar!.value).to.equal(3);
        expect(seconds(exemplar!)).to.be.within(before - 0.001, after + 0.001);
        const bucketExemplars = (name: string) =>
          metricOf(name)
            .histogram!.bucket!.filter(b => b.exemplar !== undefined)
            .map(b => {
              expect(b.exemplar!.label).to.deep.equal(ids);
              return [b.upperBound, b.exemplar!.value];
            });
        expect(bucketExemplars('sizes')).to.deep.equal([
          [10, 5],
          [100, 50],
          [Infinity, 500],
        ]);
        expect(bucketExemplars('latency')).to.deep.equal([
          [8, 5],
          [64, 50],
          [512, 500],
        ]);
        const native = metricOf('latency').histogram!;
        expect(native.schema, 'a native histogram').not.to.equal(undefined);
        expect(
          native.exemplars!.map(e => e.value).sort((a, b) => a - b)
        ).to.deep.equal([5, 50, 500]);
        expect(metricOf('sizes').histogram!.exemplars).to.equal(undefined);
      });
    });
  });
});

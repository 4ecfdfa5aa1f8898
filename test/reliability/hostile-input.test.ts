import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import * as fc from 'fast-check';
import * as sinon from 'sinon';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';
import {
  CallOutcome,
  CircuitBreakerMetrics,
  instrumentCockatiel,
  instrumentOpossum,
} from '@datapunk/otel-circuit-breaker';
import type { OpossumLike } from '@datapunk/otel-circuit-breaker';
import { RetentionMetricReader, setupMetrics } from '@datapunk/otel-metrics';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import { CollectingReader, countDiag, prototypeKeys } from './util';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- opossum ships no types
const Opossum = require('opossum') as new (
  action: (ok: boolean) => Promise<unknown>,
  options: object
) => OpossumLike & {
  fire(ok: boolean): Promise<unknown>;
  open(): void;
  close(): void;
  disable(): void;
  enable(): void;
  shutdown(): void;
  emit(event: string, ...args: unknown[]): boolean;
};

const RUNS = 500;
const PROTOTYPE = prototypeKeys();

/** Anything a caller might pass where a number belongs. */
const anyValue = fc.oneof(
  fc.double(),
  fc.constantFrom(
    NaN,
    Infinity,
    -Infinity,
    -0,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    -Number.MAX_VALUE,
    1e300,
    5e-324
  ),
  fc.integer(),
  fc.string(),
  fc.constantFrom(null, undefined, true, [], {}, () => 1),
  fc.bigInt().map(b => b as unknown)
);

/** What forged breaker events carry (opossum itself sorts latencies, so no BigInt). */
const eventArgument = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.string(),
  fc.constantFrom(null, undefined, NaN, -1, {}, new Error('forged'))
);

const hostileKey = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'k'.repeat(100_000)
  )
);

/** Anything an attribute value may be: valid, too long, or nothing the API allows. */
const hostileAttributeValue = fc.oneof(
  fc.string(),
  fc.constant('v'.repeat(200_000)),
  fc.double(),
  fc.boolean(),
  fc.array(fc.oneof(fc.string(), fc.constant(null), fc.integer())),
  fc.constantFrom(null, undefined, { polluted: true }, [{ nested: 1 }]),
  fc.bigInt().map(b => b as unknown),
  fc.constant(Symbol('s') as unknown),
  fc.constant({
    toJSON() {
      throw new Error('toJSON');
    },
  } as unknown)
);

/**
 * Attribute sets, tagged with whether their keys can be listed at all (then
 * the measurement is kept, whatever their values): own properties,
 * `__proto__` included (fromEntries defines, never sets), sometimes a
 * throwing getter or a Proxy whose `get` throws; and sets that are no
 * attributes object (a string, a number, an array, a Proxy whose `ownKeys`
 * throws), which reject the measurement.
 */
const hostileAttributes = fc.oneof(
  fc
    .tuple(
      fc.array(fc.tuple(hostileKey, hostileAttributeValue), { maxLength: 40 }),
      fc.constantFrom('plain', 'getter', 'proxy')
    )
    .map(([entries, form]) => {
      const object = Object.fromEntries(entries) as Record<string, unknown>;
      if (form === 'getter')
        Object.defineProperty(object, 'throws', {
          enumerable: true,
          get() {
            throw new Error('getter');
          },
        });
      const attributes =
        form === 'proxy'
          ? new Proxy(object, {
              get() {
                throw new Error('get');
              },
            })
          : object;
      return { attributes: attributes as unknown, readable: true };
    }),
  fc.constantFrom(undefined, null).map(attributes => ({
    attributes: attributes as unknown,
    readable: true,
  })),
  fc
    .constantFrom<unknown>(
      'attributes',
      42,
      [1, 2],
      new Proxy(
        {},
        {
          ownKeys() {
            throw new Error('ownKeys');
          },
        }
      )
    )
    .map(attributes => ({ attributes, readable: false }))
);

const isNonNegative = (v: unknown) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isFiniteNumber = (v: unknown) =>
  typeof v === 'number' && Number.isFinite(v);

describe('reliability: hostile input (fast-check)', function () {
  this.timeout(120_000);
  let diagLog: ReturnType<typeof countDiag>;
  beforeEach(() => (diagLog = countDiag()));
  afterEach(() => {
    diagLog.stop();
    expect(prototypeKeys(), 'Object.prototype').to.deep.equal(PROTOTYPE);
  });

  describe('configurations', () => {
    /** An option: values it accepts and values it must refuse. */
    interface Option {
      path: string[];
      valid: fc.Arbitrary<unknown>;
      invalid: fc.Arbitrary<unknown>;
    }
    // null counts as absent, as in JSON configuration.
    const notANumber = fc.constantFrom(NaN, Infinity, '10', {}, true);
    const integerOption = (path: string[], min: number, max = 1e9): Option => ({
      path,
      valid: fc.integer({ min, max }),
      invalid: fc.oneof(
        notANumber,
        fc.integer({ min: -1e9, max: min - 1 }),
        fc
          .double({ min: min + 0.01, max: min + 10, noNaN: true })
          .filter(v => !Number.isInteger(v))
      ),
    });

    /**
     * Random option objects, each option absent, valid or invalid: valid
     * ones construct; any invalid one throws a TypeError or RangeError
     * naming an invalid option.
     */
    function checkOptions(
      options: Option[],
      construct: (config: Record<string, unknown>) => { dispose(): void }
    ): void {
      const choice = fc.tuple(
        ...options.map(o =>
          fc.oneof(
            fc.constant({ kind: 'absent' as const }),
            o.valid.map(value => ({ kind: 'valid' as const, value })),
            o.invalid.map(value => ({ kind: 'invalid' as const, value }))
          )
        ),
        fc.option(fc.constantFrom('colectionIntervalMillis', 'maxBucket'))
      );
      fc.assert(
        fc.property(choice, picks => {
          const unknownKey = picks.pop() as string | null;
          const config: Record<string, unknown> = {};
          const invalid: string[] = [];
          (picks as { kind: string; value?: unknown }[]).forEach((pick, i) => {
            if (pick.kind === 'absent') return;
            const { path } = options[i];
            let target = config;
            for (const part of path.slice(0, -1))
              target = (target[part] ??= {}) as Record<string, unknown>;
            target[path[path.length - 1]] = pick.value;
            if (pick.kind === 'invalid') invalid.push(path.join('.'));
          });
          if (unknownKey !== null) {
            config[unknownKey] = 1;
            invalid.push(unknownKey);
          }
          let constructed: { dispose(): void } | undefined;
          try {
            constructed = construct(config);
          } catch (error) {
            expect(invalid, `threw for a valid config: ${String(error)}`).to.not
              .be.empty;
            expect(error).to.satisfy(
              (e: unknown) => e instanceof TypeError || e instanceof RangeError
            );
            const message = (error as Error).message;
            expect(
              invalid.some(name => message.includes(`'${name}'`)),
              `${message} names none of ${invalid.join(', ')}`
            ).to.equal(true);
            return;
          }
          constructed.dispose();
          expect(invalid, 'constructed despite invalid options').to.be.empty;
        }),
        { numRuns: RUNS }
      );
    }

    it('RetentionMetricReader', () => {
      checkOptions(
        [
          integerOption(['limits', 'maxMetrics'], 1),
          integerOption(['limits', 'maxSeriesPerMetric'], 2),
          integerOption(['limits', 'maxAttributesPerSeries'], 1),
          integerOption(['limits', 'maxAttributeValueLength'], 1),
          integerOption(['limits', 'maxRetainedBytes'], 1),
          integerOption(['maxBuckets'], 2, 16384),
          {
            path: ['maxScale'],
            valid: fc.integer({ min: -10, max: 20 }),
            invalid: fc.oneof(notANumber, fc.integer({ min: 21 })),
          },
          {
            path: ['summary', 'quantiles'],
            valid: fc.array(
              fc.double({ min: 0.001, max: 0.999, noNaN: true }),
              { maxLength: 32 }
            ),
            invalid: fc.oneof(
              fc.constantFrom([0], [1], [1.5], [NaN], 'p99', [0.5, '0.9']),
              fc.array(fc.constant(0.5), { minLength: 33, maxLength: 40 })
            ),
          },
          {
            path: ['summary', 'export'],
            valid: fc.constantFrom('auto', 'summary', 'gauges', 'none'),
            invalid: fc.constantFrom('prometheus', '', 1),
          },
        ],
        config => {
          const reader = new RetentionMetricReader(config);
          return { dispose: () => void reader.shutdown() };
        }
      );
    });

    it('CircuitBreakerMetrics', () => {
      checkOptions(
        [
          {
            path: ['anomalyThreshold'],
            valid: fc.double({ min: 0.01, max: 100, noNaN: true }),
            invalid: fc.oneof(notANumber, fc.constantFrom(0, -1, 100.5, 1e9)),
          },
          integerOption(['minCallsPerBucket'], 1),
          integerOption(['periodicMinIntervals'], 2, 100),
          {
            path: ['durationHistogram'],
            valid: fc.boolean(),
            invalid: fc.constantFrom('yes', 1, {}),
          },
          {
            path: ['errorRateSlo'],
            valid: fc.double({ min: 0.001, max: 1, noNaN: true }),
            invalid: fc.constantFrom(0, -0.5, 1.5, NaN, '0.1'),
          },
        ],
        config =>
          new CircuitBreakerMetrics({
            ...config,
            meterProvider: new MeterProvider(),
          })
      );
    });

    it('ExponentialSketch', () => {
      checkOptions(
        [
          integerOption(['maxBuckets'], 2, 16384),
          {
            path: ['maxScale'],
            valid: fc.integer({ min: -10, max: 20 }),
            invalid: fc.oneof(notANumber, fc.integer({ min: 21 })),
          },
        ],
        config => {
          new ExponentialSketch(config);
          return { dispose: () => {} };
        }
      );
    });
  });

  describe('measurements', () => {
    it('the five metric types: nothing thrown, bad values counted, totals and counts exact', async () => {
      const kinds = ['counter', 'histogram', 'summary', 'timer', 'gauge'];
      const op = fc.record({
        kind: fc.constantFrom(...kinds),
        value: anyValue,
        set: hostileAttributes,
      });
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 60 }), async ops => {
          const setup = setupMetrics({
            global: false,
            exporter: 'none',
            limits: { maxAttributeValueLength: 64 },
          });
          const m = setup.instruments;
          const instruments = {
            counter: (v: number, a: never) => m.counter('c').add(v, a),
            histogram: (v: number, a: never) => m.histogram('h').record(v, a),
            summary: (v: number, a: never) => m.summary('s').observe(v, a),
            timer: (v: number, a: never) => m.timer('t').record(v, a),
            gauge: (v: number, a: never) => m.gauge('g').set(v, a),
          } as Record<string, (v: number, a: never) => void>;
          let rejected = 0;
          let counterTotal = 0;
          const accepted: Record<string, number> = {};
          for (const { kind, value, set } of ops) {
            instruments[kind](value as number, set.attributes as never);
            const ok =
              (kind === 'gauge'
                ? isFiniteNumber(value)
                : isNonNegative(value)) && set.readable;
            if (!ok) rejected++;
            else {
              accepted[kind] = (accepted[kind] ?? 0) + 1;
              if (kind === 'counter') counterTotal += value as number;
            }
          }
          expect(m.rejected, 'rejected values').to.equal(rejected);
          await setup.meterProvider.collect();
          for (const kind of ['histogram', 'summary', 'timer']) {
            const name = kind[0];
            expect(
              setup.meterProvider.query(name)?.count ?? 0,
              `${kind} count`
            ).to.equal(accepted[kind] ?? 0);
          }
          const sum = setup.meterProvider.query('c')?.sum ?? 0;
          if (Number.isFinite(counterTotal))
            expect(sum).to.be.closeTo(
              counterTotal,
              Math.abs(counterTotal) * 1e-9
            );
          await setup.shutdown();
        }),
        { numRuns: RUNS }
      );
    });

    it('ExponentialSketch: count = accepted values, the rest counted as rejected', () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(anyValue, anyValue), { maxLength: 200 }),
          pairs => {
            const sketch = new ExponentialSketch();
            let count = 0;
            let rejected = 0;
            for (const [value, times] of pairs) {
              const weight = typeof times === 'number' ? times : 1;
              sketch.record(value as number, weight);
              const ok =
                isFiniteNumber(value) &&
                Number.isInteger(weight) &&
                weight > 0 &&
                Number.isSafeInteger(count + weight);
              if (ok) count += weight;
              else rejected++;
            }
            expect(sketch.count).to.equal(count);
            expect(sketch.rejected).to.equal(rejected);
          }
        ),
        { numRuns: RUNS }
      );
    });
  });

  describe('breaker event sequences', () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock = sinon.useFakeTimers({
        toFake: ['setInterval', 'clearInterval', 'Date'],
      });
    });
    afterEach(() => clock.restore());

    /** Listeners that throw on every event: they must not reach the breaker or the caller. */
    let listenerCalls = 0;
    function throwingListeners(collector: CircuitBreakerMetrics): void {
      const boom = () => {
        listenerCalls++;
        throw new Error('listener failed');
      };
      collector.onAnomaly(boom);
      collector.onHealthChange(boom);
      collector.onPattern(boom);
    }

    /** Closes the open bucket, then: windows and exported totals agree. */
    async function expectConsistent(
      collector: CircuitBreakerMetrics,
      reader: CollectingReader,
      name: string
    ): Promise<void> {
      clock.tick(2000);
      const snapshot = collector.getSnapshot(name);
      // opossum's shutdown() detaches the breaker: nothing left to compare.
      if (snapshot === undefined) return;
      const outcomes = Object.values(snapshot.window.calls);
      for (const n of outcomes)
        expect(Number.isInteger(n) && n >= 0, `count ${n}`).to.equal(true);
      expect(snapshot.window.inFlight).to.be.at.least(0);
      const windowTotal = outcomes.reduce((a, b) => a + b, 0);
      expect(await reader.total('circuit_breaker.calls')).to.equal(windowTotal);
    }

    it('opossum: random calls, state changes, forged and out-of-order events, shutdown', async () => {
      const events = [
        'success',
        'failure',
        'timeout',
        'reject',
        'open',
        'halfOpen',
        'close',
        'fallback',
        'semaphoreLocked',
        'healthCheckFailed',
        'shutdown',
        'fire',
        'cacheHit',
      ];
      const op = fc.oneof(
        fc.record({ fire: fc.boolean() }),
        fc.record({
          method: fc.constantFrom(
            'open',
            'close',
            'disable',
            'enable',
            'shutdown'
          ),
        }),
        fc.record({
          emit: fc.constantFrom(...events),
          args: fc.array(eventArgument, { maxLength: 3 }),
        }),
        fc.record({ tick: fc.integer({ min: 1, max: 3000 }) })
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async ops => {
          const reader = new CollectingReader();
          const collector = new CircuitBreakerMetrics({
            meterProvider: new MeterProvider({ readers: [reader] }),
          });
          throwingListeners(collector);
          const breaker = new Opossum(
            async ok => {
              if (!ok) throw new Error('down');
            },
            { name: 'hostile', resetTimeout: 500 }
          );
          instrumentOpossum(breaker, { collector });
          const calls: Promise<unknown>[] = [];
          for (const o of ops) {
            if ('fire' in o)
              calls.push(
                (breaker.fire(o.fire) as Promise<unknown>).catch(() => 0)
              );
            else if ('method' in o)
              breaker[o.method as 'open' | 'close' | 'shutdown']();
            else if ('emit' in o) breaker.emit(o.emit, ...o.args);
            else clock.tick(o.tick);
          }
          await Promise.all(calls);
          await expectConsistent(collector, reader, 'hostile');
          breaker.shutdown();
          collector.dispose();
        }),
        { numRuns: RUNS }
      );
      expect(listenerCalls, 'throwing listeners called').to.be.above(0);
    });

    it('cockatiel: random calls, isolation, disposal mid-run; counts match what callers saw', async () => {
      const op = fc.oneof(
        fc.record({ call: fc.boolean() }),
        fc.record({ isolate: fc.boolean() }),
        fc.record({ tick: fc.integer({ min: 1, max: 3000 }) }),
        fc.constant({ dispose: true })
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async ops => {
          const reader = new CollectingReader();
          const collector = new CircuitBreakerMetrics({
            meterProvider: new MeterProvider({ readers: [reader] }),
          });
          throwingListeners(collector);
          const policy = circuitBreaker(handleAll, {
            halfOpenAfter: 1000,
            breaker: new ConsecutiveBreaker(2),
          });
          const recorder = instrumentCockatiel(policy, {
            collector,
            name: 'hostile',
            countRejections: true,
          });
          const seen = { success: 0, failure: 0, rejected: 0 };
          let isolation: { dispose(): void } | undefined;
          for (const o of ops) {
            if ('call' in o) {
              const instrumented = !recorder.disposed;
              try {
                await policy.execute(async () => {
                  if (!o.call) throw new Error('down');
                });
                if (instrumented) seen.success++;
              } catch (error) {
                if (!instrumented) continue;
                if ((error as Error).message === 'down') seen.failure++;
                else seen.rejected++;
              }
            } else if ('isolate' in o) {
              if (o.isolate && !isolation) isolation = policy.isolate();
              else {
                isolation?.dispose();
                isolation = undefined;
              }
            } else if ('tick' in o) clock.tick(o.tick);
            else recorder.dispose();
          }
          if (!recorder.disposed) {
            clock.tick(2000);
            const { calls } = collector.getSnapshot('hostile')!.window;
            expect(calls[CallOutcome.SUCCESS]).to.equal(seen.success);
            expect(calls[CallOutcome.FAILURE]).to.equal(seen.failure);
            expect(calls[CallOutcome.REJECTED]).to.equal(seen.rejected);
          }
          collector.dispose();
        }),
        { numRuns: RUNS }
      );
    });
  });

  describe('state files', () => {
    let directory: string;
    before(() => {
      directory = mkdtempSync(join(tmpdir(), 'datapunk-hostile-'));
    });
    after(() => rmSync(directory, { recursive: true }));

    /** A real snapshot of a reader that saw one counter and one histogram. */
    async function realSnapshot(path: string): Promise<string> {
      const setup = setupMetrics({
        global: false,
        exporter: 'none',
        persistence: { path },
      });
      setup.instruments.counter('orders').add(5, { shop: 'north' });
      setup.instruments.histogram('size').record(12.5);
      await setup.shutdown();
      return readFileSync(path, 'utf8');
    }

    it('rejects __proto__ pollution and absurd sizes on load: moved aside, host unharmed', async () => {
      const base = await realSnapshot(join(directory, 'base.json'));
      const pollution = JSON.stringify({ polluted: true });
      const mutations: ((text: string) => string)[] = [
        t => t.replace('{', `{"__proto__":${pollution},`),
        t => t.replace('{"series":{', `{"series":{"__proto__":${pollution},`),
        t =>
          t.replace(
            '"attributes":{',
            `"attributes":{"__proto__":${pollution},`
          ),
        t => t.replace(/"count":\d+/, '"count":1e300'),
        t => t.replace(/"count":\d+/, '"count":-3'),
        t => t.replace(/"scale":-?\d+/, '"scale":1e9'),
        t => t.replace(/"maxBuckets":\d+/, '"maxBuckets":1e12'),
        t => t.replace('\n', `\n${'{}\n'.repeat(5000)}`),
        t => t.replace(/"savedAtMillis":\d+/, '"savedAtMillis":"soon"'),
      ];
      for (const [i, mutate] of mutations.entries()) {
        const path = join(directory, `mutated-${i}.json`);
        const mutated = mutate(base);
        expect(mutated, `mutation ${i} applies`).to.not.equal(base);
        writeFileSync(path, mutated);
        const reader = new RetentionMetricReader({ persistence: { path } });
        await reader.whenRestored();
        const aside = readdirSync(directory).filter(f =>
          f.startsWith(`mutated-${i}.json.corrupt-`)
        );
        expect(aside, `mutation ${i} moved aside`).to.have.length(1);
        expect(reader.query('orders'), `mutation ${i} not loaded`).to.equal(
          undefined
        );
        await reader.shutdown();
      }
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });
  });
});

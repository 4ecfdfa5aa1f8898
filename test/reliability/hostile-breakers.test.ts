import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { IncomingMessage, RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import * as fc from 'fast-check';
import * as sinon from 'sinon';
import { EventEmitter } from 'node:events';
import { chromium } from 'playwright-core';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import * as cockatiel from 'cockatiel';
import {
  BreakerState,
  CallOutcome,
  CircuitBreakerMetrics,
  instrumentCockatiel,
  instrumentOpossum,
} from '@datapunk/otel-circuit-breaker';
import type {
  CockatielLike,
  OpossumLike,
} from '@datapunk/otel-circuit-breaker';
import { createDashboardHandler } from '@datapunk/otel-circuit-breaker/dashboard';
import type { DashboardHandler } from '@datapunk/otel-circuit-breaker/dashboard';
import {
  CockatielInstrumentation,
  OpossumInstrumentation,
} from '@datapunk/otel-circuit-breaker/instrumentation';
import { CHROMIUM, requireChromium } from '../requirements';
import { CollectingReader } from './util';

/*
 * Issue 21 (hostile input) and issue 20 (bad attributes and options), the
 * circuit-breaker package's cases: each test goes through the public API,
 * and each failed before the change it covers (see the package README,
 * "Bad input"); then a fuzz test (fast-check) of every entry point.
 */

const run = promisify(execFile);
const FIXTURE = join(__dirname, 'fixtures', 'breakers-hostile.cjs');
const MODULES = join(__dirname, '..', '..', 'node_modules');

// eslint-disable-next-line @typescript-eslint/no-require-imports -- opossum ships no types
const Opossum = require('opossum') as new (
  action: () => Promise<unknown>,
  options?: object
) => OpossumLike & { fire(): Promise<unknown>; shutdown(): void };

/** How one call settled, as breakers-hostile.cjs reports it. */
interface Outcome {
  settled: 'resolved' | 'rejected' | 'threw' | 'pending';
  returned?: string;
  same?: boolean;
  kind?: string;
  version: string;
  counted?: Record<CallOutcome, number>;
  rejectedInputs?: number;
}

/** A value whose every read, `instanceof` and key listing throws. */
function throwingProxy(): object {
  const trap = () => {
    throw new Error('trap');
  };
  return new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap });
}

/** One more heap reading: heapUsed + arrayBuffers after two full GCs. */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

const sleep = (millis: number) =>
  new Promise(resolve => setTimeout(resolve, millis));

/**
 * What a collector holds with `breakers` registered with `attributes(i)`,
 * each recording one call per 20 ms bucket for `buckets` buckets, its
 * metrics exported by the SDK after each: the heap after GC while it lives,
 * less the heap after GC once it is gone. (Not growth from a baseline:
 * reading the caller's strings may flatten them in place, which the
 * caller's values keep.) `inspect` sees each export and, at the end, the
 * collector.
 */
async function heldByCollector(
  breakers: number,
  attributes: (i: number) => object,
  buckets: number,
  inspect: {
    point?: (attributes: Record<string, unknown>) => void;
    collector?: (collector: CircuitBreakerMetrics) => void;
  } = {}
): Promise<{ bytes: number; points: number }> {
  const alive = await (async () => {
    const reader = new CollectingReader();
    const collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider({ readers: [reader] }),
      bucketMillis: 20,
      windowMillis: 2000,
    });
    const recorders = Array.from({ length: breakers }, (_, i) =>
      collector.register(`service-${i}`, {
        attributes: attributes(i) as never,
      })
    );
    let points = 0;
    for (let bucket = 0; bucket < buckets; bucket++) {
      for (const recorder of recorders)
        recorder.recordCall(CallOutcome.SUCCESS, 5 + bucket);
      await sleep(25);
      const { resourceMetrics } = await reader.collect();
      points = 0;
      for (const scope of resourceMetrics.scopeMetrics)
        for (const metric of scope.metrics)
          for (const point of metric.dataPoints) {
            points++;
            inspect.point?.(point.attributes);
          }
    }
    inspect.collector?.(collector);
    const bytes = heapAfterGc();
    collector.dispose();
    return { bytes, points };
  })();
  return { bytes: alive.bytes - heapAfterGc(), points: alive.points };
}

describe('reliability: hostile input to breakers (issues 20 and 21)', function () {
  this.timeout(60_000);

  describe('breaker libraries in child processes: the call settles as without instrumentation, and the process survives', () => {
    const libraries = [
      { library: 'opossum', major: '10', from: undefined },
      { library: 'opossum', major: '9', from: 'opossum9' },
      { library: 'cockatiel', major: '4', from: undefined },
      { library: 'cockatiel', major: '3', from: 'cockatiel3' },
    ];
    const cwds = new Map<string, string>();
    before(() => {
      // The require hook matches packages by name: another major goes under its real name.
      for (const { library, from } of libraries) {
        if (from === undefined) continue;
        const cwd = mkdtempSync(join(tmpdir(), 'datapunk-hostile-'));
        cpSync(join(MODULES, from), join(cwd, 'node_modules', library), {
          recursive: true,
        });
        cwds.set(from, cwd);
      }
    });
    after(() => {
      for (const cwd of cwds.values())
        rmSync(cwd, { recursive: true, force: true });
    });

    const fixture = async (
      library: string,
      from: string | undefined,
      mode: string,
      name: string
    ): Promise<Outcome> => {
      // Rejects (with stderr) unless the process exits with code 0.
      const { stdout } = await run(
        process.execPath,
        [FIXTURE, library, mode, name],
        {
          cwd: from ? cwds.get(from) : join(__dirname, 'fixtures'),
          timeout: 20_000,
        }
      );
      return JSON.parse(stdout.trim().split('\n').pop()!) as Outcome;
    };

    for (const { library, major, from } of libraries) {
      const cases = JSON.parse(
        execFileSync(process.execPath, [FIXTURE, library, 'list'], {
          encoding: 'utf8',
        })
      ) as string[];
      for (const name of cases) {
        it(`${library} ${major} ${name}`, async () => {
          const [plain, instrumented, auto] = await Promise.all(
            ['plain', 'instrumented', 'auto'].map(mode =>
              fixture(library, from, mode, name)
            )
          );
          expect(plain.version.split('.')[0]).to.equal(major);
          expect(plain.settled).to.be.oneOf(['resolved', 'rejected']);
          const seen = (o: Outcome) => [o.settled, o.returned, o.same, o.kind];
          for (const [mode, outcome] of [
            ['instrumented', instrumented],
            ['auto', auto],
          ] as const) {
            expect(seen(outcome), mode).to.deep.equal(seen(plain));
            // Counted once, as the caller saw it (every error here counts as a failure).
            const calls = Object.values(outcome.counted!).reduce(
              (a, b) => a + b
            );
            expect(calls, `${mode}: calls counted`).to.equal(1);
            expect(
              outcome.counted![
                plain.settled === 'resolved'
                  ? CallOutcome.SUCCESS
                  : CallOutcome.FAILURE
              ],
              mode
            ).to.equal(1);
            // opossum hands over the value itself: the adapter reads it (a
            // code, an Error prototype) and counts what it could not read.
            // cockatiel's events carry nothing of the caller's.
            expect(outcome.rejectedInputs, `${mode}: rejected inputs`).to.equal(
              library === 'opossum' ? 1 : 0
            );
          }
        });
      }
    }
  });

  describe('the generic recorder API', () => {
    it('drops and counts outcomes, latencies, states and resources that are Proxies, Symbols, BigInts or prototype keys; throws nothing', async () => {
      const collector = new CircuitBreakerMetrics({
        meterProvider: new MeterProvider(),
        bucketMillis: 20,
        windowMillis: 2000,
      });
      const recorder = collector.register('generic');
      const throwingToString = {
        toString() {
          throw new Error('toString');
        },
      };
      const attempts: [string, () => void][] = [
        [
          'recordCall(Proxy)',
          () => recorder.recordCall(throwingProxy() as never),
        ],
        [
          "recordCall('constructor')",
          () => recorder.recordCall('constructor' as never, 1),
        ],
        [
          "recordCall('__proto__')",
          () => recorder.recordCall('__proto__' as never, 1),
        ],
        [
          "recordCall('toString')",
          () => recorder.recordCall('toString' as never, 1),
        ],
        [
          'recordCall(Symbol)',
          () => recorder.recordCall(Symbol('x') as never, 1),
        ],
        [
          "recordCall('success', Proxy)",
          () =>
            recorder.recordCall(CallOutcome.SUCCESS, throwingProxy() as never),
        ],
        [
          "recordCall('success', 5n)",
          () => recorder.recordCall(CallOutcome.SUCCESS, 5n as never),
        ],
        [
          'recordStateChange(Proxy)',
          () => recorder.recordStateChange(throwingProxy() as never),
        ],
        [
          'recordStateChange(throwing toString)',
          () => recorder.recordStateChange(throwingToString as never),
        ],
        [
          'recordResource(Proxy, 1)',
          () => recorder.recordResource(throwingProxy() as never, 1),
        ],
        [
          "recordResource('pool', Proxy)",
          () => recorder.recordResource('pool', throwingProxy() as never),
        ],
        [
          "recordResource('pool', 5n)",
          () => recorder.recordResource('pool', 5n as never),
        ],
      ];
      for (const [label, attempt] of attempts) {
        const before = collector.rejectedInputs;
        expect(attempt, label).not.to.throw();
        expect(collector.rejectedInputs - before, label).to.equal(1);
      }
      await sleep(100); // buckets close
      const snapshot = collector.getSnapshot('generic')!;
      // A bad latency drops the latency only: the two 'success' calls count.
      expect(snapshot.window.calls).to.deep.equal({
        success: 2,
        failure: 0,
        timeout: 0,
        rejected: 0,
        capacity: 0,
        ignored: 0,
      });
      expect(snapshot.state).to.equal(BreakerState.CLOSED);
      collector.dispose();
    });
  });

  describe('attributes', () => {
    it('refuses attributes that are no OpenTelemetry attribute values at registration, naming the entry (issue 20)', () => {
      const collector = new CircuitBreakerMetrics({
        meterProvider: new MeterProvider(),
      });
      const getter = {
        get a() {
          throw new Error('getter');
        },
      };
      const refused: [unknown, RegExp][] = [
        [
          { a: { b: 1 } },
          /option 'attributes\.a' must be a string, number or boolean, or an array of one of those types/,
        ],
        [
          { list: [1, 'a'] },
          /option 'attributes\.list' must be a string, number or boolean, or an array of one of those types/,
        ],
        [
          { nested: [{}] },
          /option 'attributes\.nested' must be a string, number or boolean, or an array of one of those types/,
        ],
        [
          { s: Symbol('s') },
          /option 'attributes\.s' must be a string, number or boolean, or an array of one of those types/,
        ],
        [
          { n: 5n },
          /option 'attributes\.n' must be a string, number or boolean, or an array of one of those types/,
        ],
        [
          { f: () => 1 },
          /option 'attributes\.f' must be a string, number or boolean, or an array of one of those types/,
        ],
        [
          { '': 'x' },
          /option 'attributes\.' must be a string, number or boolean, or an array of one of those types/,
        ],
        // A getter that throws is no value: what it stands for is unknown.
        [
          getter,
          /option 'attributes\.a' must be a string, number or boolean, or an array of one of those types, got a symbol/,
        ],
        [
          throwingProxy(),
          /option 'attributes' must be an object of attributes/,
        ],
        ['region=eu', /option 'attributes' must be an object of attributes/],
      ];
      for (const [attributes, message] of refused) {
        expect(() =>
          collector.register('x', { attributes: attributes as never })
        ).to.throw(TypeError, message);
      }
      const breaker = new Opossum(async () => 1, { name: 'o' });
      const policy = cockatiel.circuitBreaker(cockatiel.handleAll, {
        halfOpenAfter: 10,
        breaker: new cockatiel.ConsecutiveBreaker(2),
      });
      const entry =
        /option 'attributes\.a' must be a string, number or boolean, or an array of one of those types/;
      expect(() =>
        instrumentOpossum(breaker, {
          collector,
          attributes: { a: {} } as never,
        })
      )
        .to.throw(TypeError, /^instrumentOpossum: /)
        .and.match(entry);
      expect(() =>
        instrumentCockatiel(policy, {
          collector,
          name: 'c',
          attributes: { a: new Date() } as never,
        })
      )
        .to.throw(TypeError, /^instrumentCockatiel: /)
        .and.match(entry);
      expect(
        () => new CircuitBreakerMetrics({ attributes: { a: [{}] } as never })
      )
        .to.throw(TypeError, /^CircuitBreakerMetrics: /)
        .and.match(entry);
      expect(
        () =>
          new OpossumInstrumentation({
            enabled: false,
            attributes: { a: { b: 1 } } as never,
          })
      )
        .to.throw(TypeError, /^OpossumInstrumentation: /)
        .and.match(entry);
      // What the OpenTelemetry API allows is kept as given.
      const valid = {
        s: 'x',
        n: 1.5,
        b: false,
        strings: ['a', null, 'b'],
        numbers: [1, 2],
      };
      collector.register('valid', { attributes: valid });
      expect(collector.getSnapshot('valid')!.attributes).to.deep.equal(valid);
      expect(collector.breakers).to.deep.equal(['valid']);
      breaker.shutdown();
      collector.dispose();
    });

    it('bounds attribute values before anything keeps them: five breakers with a 1 MB attribute, exported every bucket (issue 21.4)', async () => {
      const LIMIT = 1024; // the documented default of limits.maxAttributeValueLength
      const BYTES = 4096; // of limits.maxAttributeBytesPerSeries
      const BREAKERS = 5;
      const plain = await heldByCollector(BREAKERS, () => ({}), 10);
      let truncated = 0;
      let kept: unknown;
      const big = await heldByCollector(
        BREAKERS,
        i => ({ blob: `${i}`.repeat(1 << 20), region: 'eu' }),
        10,
        {
          point: attributes => {
            for (const value of Object.values(attributes))
              if (typeof value === 'string')
                expect(value.length).to.be.at.most(LIMIT);
          },
          collector: collector => {
            truncated = collector.truncatedAttributes;
            kept = collector.getSnapshot('service-0')!.attributes;
          },
        }
      );
      expect(kept).to.deep.equal({ blob: '0'.repeat(LIMIT), region: 'eu' });
      expect(truncated).to.equal(BREAKERS);
      // Each exported series holds at most one bounded attribute set (the
      // SDK's copy and its key), the breakers one each: a budget of
      // 3 × maxAttributeBytesPerSeries per point, and 1 MiB of slack.
      const bound = big.points * 3 * BYTES + (1 << 20);
      expect(
        big.bytes - plain.bytes,
        `${big.points} points; held ${big.bytes} bytes, ${plain.bytes} without attributes`
      ).to.be.below(bound);
    });
  });

  describe('options', () => {
    it('refuses unknown and wrong options everywhere, naming the field (issue 20)', () => {
      const collector = new CircuitBreakerMetrics({
        meterProvider: new MeterProvider(),
      });
      const breaker = new Opossum(async () => 1, { name: 'o' });
      const policy = cockatiel.circuitBreaker(cockatiel.handleAll, {
        halfOpenAfter: 10,
        breaker: new cockatiel.ConsecutiveBreaker(2),
      });
      const refused: [() => unknown, RegExp][] = [
        [
          () => new OpossumInstrumentation({ metrics: collector } as never),
          /^OpossumInstrumentation: option 'metrics' is now 'collector'/,
        ],
        [
          () =>
            new CockatielInstrumentation({
              enabled: false,
              colector: collector,
            } as never),
          /^CockatielInstrumentation: unknown option 'colector'/,
        ],
        [
          () => new OpossumInstrumentation({ enabled: 'no' } as never),
          /option 'enabled' must be a boolean/,
        ],
        [
          () =>
            new OpossumInstrumentation({
              enabled: false,
              collectorOptions: { windowMillis: 1500 },
            }),
          /option 'collectorOptions\.windowMillis' must be a multiple of 'bucketMillis'/,
        ],
        [
          () =>
            new OpossumInstrumentation({
              enabled: false,
              collector,
              collectorOptions: {},
            }),
          /option 'collectorOptions' is for a collector of the instrumentation's own: not with 'collector'/,
        ],
        [
          () =>
            new CockatielInstrumentation({
              enabled: false,
              nameOf: 'policy',
            } as never),
          /option 'nameOf' must be a function/,
        ],
        [
          () => instrumentOpossum(breaker, { metrics: collector } as never),
          /^instrumentOpossum: option 'metrics' is now 'collector'/,
        ],
        [
          () =>
            instrumentOpossum(breaker, {
              collector,
              group: 'payments',
            } as never),
          /^instrumentOpossum: unknown option 'group'/,
        ],
        [
          () =>
            instrumentCockatiel(policy, {
              collector,
              name: 'c',
              countRejections: 'yes',
            } as never),
          /^instrumentCockatiel: option 'countRejections' must be a boolean/,
        ],
        [
          () => collector.register('x', { attribute: {} } as never),
          /^CircuitBreakerMetrics\.register: unknown option 'attribute'/,
        ],
        [
          () =>
            new CircuitBreakerMetrics({
              limits: { maxAttributeValueLength: 0 },
            }),
          /option 'limits\.maxAttributeValueLength' must be an integer ≥ 1, got 0/,
        ],
        [
          () =>
            new CircuitBreakerMetrics({
              limits: { maxValueLength: 10 } as never,
            }),
          /unknown option 'limits\.maxValueLength'/,
        ],
        [
          () =>
            createDashboardHandler(collector, { onUnhandled: 404 } as never),
          /^createDashboardHandler: option 'onUnhandled' must be a function/,
        ],
        [
          () => new CircuitBreakerMetrics(throwingProxy() as never),
          /^CircuitBreakerMetrics: options could not be read: trap/,
        ],
      ];
      for (const [construct, message] of refused) {
        let thrown: unknown;
        try {
          construct();
        } catch (error) {
          thrown = error;
        }
        expect(thrown, String(message)).to.satisfy(
          (e: unknown) => e instanceof TypeError || e instanceof RangeError
        );
        expect((thrown as Error).message).to.match(message);
      }
      expect(collector.breakers).to.deep.equal([]);
      breaker.shutdown();
      collector.dispose();
    });
  });

  describe('the dashboard', () => {
    let collector: CircuitBreakerMetrics;
    let handler: DashboardHandler;
    let server: Server;
    let base: string;

    const listen = async (listener: RequestListener) => {
      server = createServer(listener);
      await new Promise<void>(done => server.listen(0, '127.0.0.1', done));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    /** Status and headers of a request; the body is read to its end (within 5 s). */
    const send = (path: string, method = 'GET') =>
      new Promise<IncomingMessage>((done, fail) => {
        setTimeout(
          () =>
            fail(new Error(`${method} ${path}: no complete response in 5 s`)),
          5000
        ).unref();
        const req = request(`${base}${path}`, { method }, response => {
          if (
            response.headers['content-type']?.startsWith('text/event-stream') &&
            method === 'GET'
          ) {
            done(response); // a stream: never ends by itself
            return;
          }
          response.resume();
          response.on('end', () => done(response));
        });
        req.on('error', fail);
        req.end();
      });

    beforeEach(() => {
      collector = new CircuitBreakerMetrics({
        meterProvider: new MeterProvider(),
        bucketMillis: 100,
        windowMillis: 2000,
      });
      collector.register('payments');
    });
    afterEach(async () => {
      handler?.close();
      server?.closeAllConnections();
      await new Promise(done =>
        server ? server.close(done) : done(undefined)
      );
      collector.dispose();
    });

    it('answers HEAD of the stream with its headers, taking no client slot (issue 21.6)', async () => {
      handler = createDashboardHandler(collector, { maxClients: 2 });
      await listen(handler);
      for (let i = 0; i < 5; i++) {
        const head = await send('/events', 'HEAD');
        expect(head.statusCode).to.equal(200);
        expect(head.headers['content-type']).to.equal(
          'text/event-stream; charset=utf-8'
        );
      }
      // Both slots are still free.
      const streams = [await send('/events'), await send('/events')];
      expect(streams.map(s => s.statusCode)).to.deep.equal([200, 200]);
      expect((await send('/events')).statusCode).to.equal(503);
      expect((await send('/events', 'HEAD')).statusCode).to.equal(503);
      for (const stream of streams) stream.destroy();
    });

    it('passes requests it does not serve to the host when mounted at the root of a real Express app (issue 21.6)', async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- express ships no types here
      const express = require('express') as () => RequestListener & {
        use(...args: unknown[]): void;
        get(
          path: string,
          handler: (
            req: unknown,
            res: { status(n: number): { send(body: string): void } }
          ) => void
        ): void;
        post(
          path: string,
          handler: (
            req: unknown,
            res: { status(n: number): { send(body: string): void } }
          ) => void
        ): void;
      };
      const app = express();
      handler = createDashboardHandler(collector);
      app.use(handler);
      app.post('/', (_req, res) => res.status(201).send('created at /'));
      app.post('/webhooks/events', (_req, res) =>
        res.status(202).send('webhook')
      );
      app.get('/api/orders/', (_req, res) => res.status(200).send('orders'));
      const mounted = express();
      mounted.use('/breakers', handler);
      await listen((req, res) =>
        (req.url!.startsWith('/breakers') ? mounted : app)(req, res)
      );
      expect((await send('/', 'POST')).statusCode).to.equal(201);
      expect((await send('/webhooks/events', 'POST')).statusCode).to.equal(202);
      const orders = await fetch(`${base}/api/orders/`);
      expect(await orders.text()).to.equal('orders');
      // Its own paths, at the root and below a mount point.
      for (const page of ['/', '/breakers', '/breakers/']) {
        const response = await fetch(`${base}${page}`);
        expect(response.status, page).to.equal(200);
        expect(await response.text(), page).to.include(
          '<title>Circuit breakers</title>'
        );
      }
      for (const path of ['/events', '/breakers/events']) {
        const stream = await send(path);
        expect(stream.statusCode, path).to.equal(200);
        expect(stream.headers['content-type'], path).to.match(
          /^text\/event-stream/
        );
        stream.destroy();
      }
    });

    it('points the page at its stream relative to its own path, never at another host (issue 21.6)', async function () {
      requireChromium(this);
      handler = createDashboardHandler(collector, { intervalMillis: 100 });
      await listen(handler);
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox'],
        headless: true,
      });
      try {
        const page = await browser.newPage();
        const requested: string[] = [];
        const errors: string[] = [];
        page.on('request', r => requested.push(r.url()));
        page.on('console', m => m.type() === 'error' && errors.push(m.text()));
        await page.goto(`${base}//evil.example/`);
        await page
          .locator('#status')
          .filter({ hasText: 'live' })
          .waitFor({ timeout: 5000 });
        await page.locator('section.tile').first().waitFor({ timeout: 5000 });
        expect(requested).to.include(`${base}//evil.example/events`);
        for (const url of requested) expect(new URL(url).origin).to.equal(base);
        expect(errors).to.deep.equal([]);
      } finally {
        await browser.close();
      }
    });
  });

  describe('registration', () => {
    it('costs the same for the 10,000th duplicate of a name as for the 10th: Map lookups counted, not timed (issue 21.7)', () => {
      const collector = new CircuitBreakerMetrics({
        meterProvider: new MeterProvider(),
      });
      /** Map lookups (has, get) one register() makes. */
      const lookups = (): number => {
        let count = 0;
        const originals = (['has', 'get'] as const).map(method => {
          const original = Map.prototype[method];
          Map.prototype[method] = function (
            this: Map<unknown, unknown>,
            key: unknown
          ) {
            count++;
            return original.call(this, key);
          } as never;
          return [method, original] as const;
        });
        try {
          collector.register('per-request');
        } finally {
          for (const [method, original] of originals)
            Map.prototype[method] = original as never;
        }
        return count;
      };
      for (let i = 1; i < 10; i++) collector.register('per-request');
      const at10 = lookups();
      for (let i = 11; i < 10_000; i++) collector.register('per-request');
      const at10000 = lookups();
      expect(at10000).to.equal(at10);
      expect(collector.breakers).to.have.length(10_000);
      expect(collector.breakers[9_999]).to.equal('per-request#10000');
      collector.dispose();
    });
  });

  describe('fuzz (fast-check): arbitrary values through every entry point', () => {
    const RUNS = 300;
    const PROTOTYPES = [Object.prototype, Array.prototype, Function.prototype];
    /** Every own property of the three prototypes, with its value or accessors, and their prototypes. */
    const prototypeShape = () =>
      PROTOTYPES.map(prototype => [
        Object.getPrototypeOf(prototype),
        Reflect.ownKeys(prototype).map(key => {
          const d = Object.getOwnPropertyDescriptor(prototype, key)!;
          return [key, d.value, d.get, d.set, d.enumerable, d.writable];
        }),
      ]);
    let shape: unknown;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    before(() => {
      shape = prototypeShape();
      process.on('unhandledRejection', onUnhandled);
    });
    afterEach(() => {
      expect(prototypeShape(), 'a prototype changed').to.deep.equal(shape);
      expect(unhandled, 'unhandled rejections').to.deep.equal([]);
    });
    after(() => process.off('unhandledRejection', onUnhandled));

    const trap = () => {
      throw new Error('trap');
    };
    /** Values no ordinary generator makes, each made fresh (named for the report of a failure). */
    const HOSTILE: Record<string, () => unknown> = {
      throwingProxy,
      revokedProxy: () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      },
      proxyFunction: () =>
        new Proxy(() => 1, { get: trap, getPrototypeOf: trap, apply: trap }),
      proxyArray: () => new Proxy(['a', 'b'], { get: trap }),
      throwingGetters: () =>
        Object.defineProperties(
          {},
          Object.fromEntries(
            ['code', 'duration', 'handled', 'then', 'a', 'message'].map(k => [
              k,
              { get: trap, enumerable: true },
            ])
          )
        ),
      throwingToJSON: () => ({ toJSON: trap }),
      throwingPrimitive: () => ({
        [Symbol.toPrimitive]: trap,
        toString: trap,
        valueOf: trap,
      }),
      errorWithThrowingCode: () =>
        Object.defineProperty(new Error('x'), 'code', { get: trap }),
      timeoutError: () => Object.assign(new Error('t'), { code: 'ETIMEDOUT' }),
      symbol: () => Symbol('hostile'),
      bigint: () => 2n ** 70n,
      prototypeKey: () => '__proto__',
      constructorKey: () => 'constructor',
      longString: () => 'x'.repeat(100_000),
      nullPrototype: () => Object.create(null) as unknown,
    };
    const value: fc.Arbitrary<() => unknown> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .anything({
            withBigInt: true,
            withBoxedValues: true,
            withDate: true,
            withMap: true,
            withSet: true,
            withNullPrototype: true,
            withObjectString: true,
            withSparseArray: true,
            withTypedArray: true,
          })
          .map(v => () => v),
      },
      { weight: 2, arbitrary: fc.constantFrom(...Object.values(HOSTILE)) }
    );
    /** Attribute sets: any value, or objects of arbitrary keys (prototype keys too) and values. */
    const attributesArb: fc.Arbitrary<() => unknown> = fc.oneof(
      value,
      fc
        .array(
          fc.tuple(
            fc.oneof(
              fc.string(),
              fc.constantFrom('__proto__', 'constructor', '', 'k'.repeat(300))
            ),
            value
          ),
          { maxLength: 8 }
        )
        .map(
          entries => () =>
            Object.fromEntries(entries.map(([k, make]) => [k, make()]))
        )
    );
    const nameArb: fc.Arbitrary<() => unknown> = fc.oneof(
      fc.string({ minLength: 1 }).map(s => () => s),
      value
    );

    /** A construction or registration: it works, or throws our TypeError/RangeError, never the value's own error. */
    const OWNERS =
      /^(CircuitBreakerMetrics(\.register)?|instrumentOpossum|instrumentCockatiel|OpossumInstrumentation|CockatielInstrumentation|createDashboardHandler): /;
    function refusedOrDone(attempt: () => unknown, label: string): unknown {
      try {
        return attempt();
      } catch (error) {
        expect(
          error instanceof TypeError || error instanceof RangeError,
          `${label} threw ${String(error)}`
        ).to.equal(true);
        expect((error as Error).message, label).to.match(OWNERS);
        return undefined;
      }
    }

    it('registration, the recorder API, lookups and library events: nothing thrown into the caller', () => {
      const clock = sinon.useFakeTimers({
        toFake: ['setInterval', 'clearInterval', 'Date'],
      });
      const EVENTS = [
        'fire',
        'success',
        'failure',
        'timeout',
        'reject',
        'semaphoreLocked',
        'open',
        'halfOpen',
        'close',
        'fallback',
        'healthCheckFailed',
        'cacheHit',
        'shutdown',
      ];
      const METHODS = [
        'recordCallStart',
        'recordCall',
        'recordFallback',
        'recordHealthCheckFailure',
        'recordStateChange',
        'recordResource',
        'dispose',
      ] as const;
      const op = fc.oneof(
        fc.record({ register: nameArb, attributes: attributesArb }),
        fc.record({
          method: fc.constantFrom(...METHODS),
          args: fc.array(value, { maxLength: 2 }),
        }),
        fc.record({
          lookup: fc.constantFrom(
            'getSnapshot',
            'getHealth',
            'acceptNewNormal'
          ),
          name: nameArb,
          attributes: fc.option(attributesArb),
        }),
        fc.record({
          instrument: fc.constantFrom('opossum', 'cockatiel'),
          name: fc.option(nameArb),
          attributes: fc.option(attributesArb),
        }),
        fc.record({
          emit: fc.constantFrom(...EVENTS),
          args: fc.array(value, { maxLength: 3 }),
        }),
        fc.record({
          cockatiel: fc.constantFrom('success', 'failure', 'state'),
          payload: value,
        }),
        fc.record({ tick: fc.integer({ min: 1, max: 2500 }) })
      );
      try {
        fc.assert(
          fc.property(fc.array(op, { maxLength: 30 }), ops => {
            const collector = new CircuitBreakerMetrics({
              meterProvider: new MeterProvider(),
            });
            // A breaker-shaped emitter and policy: forged events reach our listeners only.
            const opossum = Object.assign(new EventEmitter(), {
              fire: () => undefined,
              opened: false,
              halfOpen: false,
              enabled: true,
              name: 'forged',
            });
            const listeners: Record<string, (value: unknown) => void> = {};
            const subscribe =
              (name: string) => (listener: (value: unknown) => void) => {
                listeners[name] = listener;
                return { dispose: () => delete listeners[name] };
              };
            const policy = {
              onSuccess: subscribe('success'),
              onFailure: subscribe('failure'),
              onStateChange: subscribe('state'),
              state: 0,
              execute: async () => undefined,
            };
            const recorders = [collector.register('fuzzed')];
            for (const o of ops) {
              if ('register' in o) {
                const recorder = refusedOrDone(
                  () =>
                    collector.register(o.register() as string, {
                      attributes: o.attributes() as never,
                    }),
                  'register()'
                );
                if (recorder) recorders.push(recorder as (typeof recorders)[0]);
              } else if ('method' in o) {
                const recorder = recorders[recorders.length - 1];
                const args = o.args.map(make => make());
                expect(
                  () =>
                    (recorder[o.method] as (...a: unknown[]) => void)(...args),
                  o.method
                ).not.to.throw();
              } else if ('lookup' in o) {
                expect(
                  () =>
                    collector[o.lookup](
                      o.name() as string,
                      o.attributes?.() as never
                    ),
                  o.lookup
                ).not.to.throw();
              } else if ('instrument' in o) {
                const options = {
                  collector,
                  name: o.name?.(),
                  attributes: o.attributes?.(),
                } as never;
                refusedOrDone(
                  () =>
                    o.instrument === 'opossum'
                      ? instrumentOpossum(
                          opossum as unknown as OpossumLike,
                          options
                        )
                      : instrumentCockatiel(
                          policy as unknown as CockatielLike,
                          {
                            ...(options as object),
                            name: (o.name?.() as string) ?? 'policy',
                          } as never
                        ),
                  `instrument ${o.instrument}`
                );
              } else if ('emit' in o) {
                const args = o.args.map(make => make());
                expect(
                  () => opossum.emit(o.emit, ...args),
                  `emit ${o.emit}`
                ).not.to.throw();
              } else if ('cockatiel' in o) {
                const payload = o.payload();
                expect(
                  () => listeners[o.cockatiel]?.(payload),
                  `cockatiel ${o.cockatiel}`
                ).not.to.throw();
              } else {
                expect(() => clock.tick(o.tick)).not.to.throw();
              }
            }
            expect(() => clock.tick(2000)).not.to.throw();
            for (const name of collector.breakers)
              expect(collector.getSnapshot(name), name).not.to.equal(undefined);
            collector.dispose();
          }),
          { numRuns: RUNS }
        );
      } finally {
        clock.restore();
      }
    });

    it('constructions: every options object works or is refused naming the field, never with the value’s own error', () => {
      const collector = new CircuitBreakerMetrics({
        meterProvider: new MeterProvider(),
      });
      const KEYS = [
        'attributes',
        'limits',
        'windowMillis',
        'quantiles',
        'meterProvider',
        'enabled',
        'collector',
        'collectorOptions',
        'nameOf',
        'metrics',
        'title',
        'onUnhandled',
        'maxClients',
        'unknown',
      ];
      const optionsArb = fc.oneof(
        value,
        fc
          .dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 4 })
          .map(
            d => () =>
              Object.fromEntries(
                Object.entries(d).map(([k, make]) => [k, make()])
              )
          )
      );
      fc.assert(
        fc.property(optionsArb, make => {
          const options = make();
          refusedOrDone(
            () => new CircuitBreakerMetrics(options as never).dispose(),
            'CircuitBreakerMetrics'
          );
          refusedOrDone(
            () => createDashboardHandler(collector, options as never).close(),
            'createDashboardHandler'
          );
          for (const Instrumentation of [
            OpossumInstrumentation,
            CockatielInstrumentation,
          ]) {
            // Disabled, so that nothing is patched: the check is the
            // constructor's. A value that cannot be copied is passed as it
            // is: the constructor refuses it before enabling anything.
            let config: unknown = options ?? {};
            if (typeof config === 'object') {
              try {
                config = Object.assign(Object.create(null) as object, config, {
                  enabled: false,
                });
              } catch {
                // unreadable
              }
            }
            refusedOrDone(
              () => new Instrumentation(config as never).disable(),
              Instrumentation.name
            );
          }
        }),
        { numRuns: RUNS }
      );
      collector.dispose();
    });

    it('real opossum and cockatiel: the instrumented call settles as the plain one, with the same value', async () => {
      /** How a call settled, described without reading the value (which may throw). */
      const settle = async (call: () => unknown, given: unknown) => {
        try {
          const result = await call();
          return ['resolved', result === given, describe(result)];
        } catch (error) {
          return ['rejected', error === given, describe(error)];
        }
      };
      const describe = (v: unknown) => {
        try {
          return v instanceof Error
            ? `${v.constructor.name}: ${v.message}`
            : typeof v;
        } catch {
          return 'unreadable';
        }
      };
      const collector = new CircuitBreakerMetrics({
        meterProvider: new MeterProvider(),
      });
      await fc.assert(
        fc.asyncProperty(
          value,
          fc.constantFrom('return', 'throw', 'task'),
          async (make, how) => {
            const given = make();
            const action =
              how === 'return'
                ? async () => given
                : how === 'throw'
                  ? async () => {
                      throw given;
                    }
                  : (given as () => Promise<unknown>);
            if (how !== 'task') {
              const [plain, instrumented] = [0, 1].map(i => {
                const breaker = new Opossum(action, { name: `fuzz-${i}` });
                if (i) instrumentOpossum(breaker, { collector });
                return breaker;
              });
              const expected = await settle(() => plain.fire(), given);
              expect(
                await settle(() => instrumented.fire(), given),
                'opossum'
              ).to.deep.equal(expected);
              plain.shutdown();
              instrumented.shutdown();
            }
            const [plain, instrumented] = [0, 1].map(i => {
              const policy = cockatiel.circuitBreaker(cockatiel.handleAll, {
                halfOpenAfter: 10_000,
                breaker: new cockatiel.ConsecutiveBreaker(1000),
              });
              const recorder = i
                ? instrumentCockatiel(policy, {
                    collector,
                    name: 'fuzz',
                    countRejections: true,
                  })
                : undefined;
              return { policy, recorder };
            });
            const expected = await settle(
              () => plain.policy.execute(action as never),
              given
            );
            expect(
              await settle(
                () => instrumented.policy.execute(action as never),
                given
              ),
              'cockatiel'
            ).to.deep.equal(expected);
            instrumented.recorder!.dispose();
          }
        ),
        { numRuns: RUNS }
      );
      collector.dispose();
    });

    it('memory: a fixed number of breakers with arbitrary attributes (1 MB values, 100 kB keys) stays within the limits', async () => {
      const BREAKERS = 20;
      const bounds = {
        maxAttributesPerSeries: 32,
        maxAttributeValueLength: 1024,
        maxAttributeBytesPerSeries: 4096,
      }; // the defaults
      const big = fc.dictionary(
        fc.string({ minLength: 1, maxLength: 300 }),
        fc.oneof(
          fc.string({ maxLength: 3000 }),
          fc.double(),
          fc.boolean(),
          fc.array(fc.string({ maxLength: 3000 }), { maxLength: 100 })
        ),
        { maxKeys: 60 }
      );
      const sets = fc
        .sample(big, { numRuns: BREAKERS, seed: 21 })
        .map((set, i) => ({
          ...set,
          [`${'k'.repeat(100_000)}${i}`]: 'long key',
          huge: `${i}`.repeat(1 << 20),
          list: Array.from({ length: 10_000 }, (_, j) =>
            `${i}:${j}`.repeat(50)
          ),
        }));
      const plain = await heldByCollector(BREAKERS, () => ({}), 2);
      const hostile = await heldByCollector(BREAKERS, i => sets[i], 2);
      // Per exported point (series), at most one bounded set is held, by
      // the SDK and by our attribute variants; a set is within
      // maxAttributeBytesPerSeries (as estimated, 2 bytes a character),
      // plus up to maxAttributesPerSeries property slots and string headers
      // (64 bytes each), counted three times (set, SDK copy, hash key).
      const perSet =
        bounds.maxAttributeBytesPerSeries + bounds.maxAttributesPerSeries * 64;
      const bound = hostile.points * 3 * perSet + (1 << 20);
      expect(
        hostile.bytes - plain.bytes,
        `${hostile.points} points; held ${hostile.bytes} bytes, ${plain.bytes} without attributes`
      ).to.be.below(bound);
    });
  });
});

import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import * as fc from 'fast-check';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  Instruments,
  RetentionMetricReader,
  setupMetrics,
} from '@datapunk/otel-metrics';
import { countDiag, prototypeKeys, runFixture, totalOf } from './util';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface HostileSnapshotResult {
  constructorMillis: number;
  aside: number;
  maxRssBytes: number;
}

/**
 * Issue 21, the metrics package's cases: each fails on the code before it
 * (a crash, a hang, a write through a link, a blocked constructor, a lost
 * sum, a thrown error, unbounded memory).
 */
describe('reliability: hostile input against @datapunk/otel-metrics', function () {
  this.timeout(60_000);
  let directory: string;
  let path: string;
  let diagLog: ReturnType<typeof countDiag>;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'datapunk-hostile-metrics-'));
    path = join(directory, 'metrics.json');
    diagLog = countDiag();
  });
  afterEach(() => {
    diagLog.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  describe('snapshot files', () => {
    it('never writes through a link planted at a temporary file name', async () => {
      const victim = join(directory, 'victim.txt');
      writeFileSync(victim, 'precious');
      // The name the writer used to choose: path + '.tmp-' + pid.
      symlinkSync(victim, `${path}.tmp-${process.pid}`);
      const setup = setupMetrics({
        global: false,
        exporter: 'none',
        persistence: { path },
      });
      setup.instruments.counter('orders').add(1);
      await setup.shutdown();
      expect(readFileSync(victim, 'utf8')).to.equal('precious');
      expect(
        lstatSync(path).isFile(),
        'the snapshot is a regular file'
      ).to.equal(true);
      expect(lstatSync(path).isSymbolicLink()).to.equal(false);
    });

    it('never follows a link at the snapshot path: it is moved aside, the target untouched', async () => {
      const victim = join(directory, 'victim.txt');
      writeFileSync(victim, 'precious');
      symlinkSync(victim, path);
      const setup = setupMetrics({
        global: false,
        exporter: 'none',
        persistence: { path },
      });
      await setup.meterProvider.whenRestored();
      setup.instruments.counter('orders').add(1);
      await setup.shutdown();
      expect(readFileSync(victim, 'utf8')).to.equal('precious');
      expect(lstatSync(path).isSymbolicLink()).to.equal(false);
      expect(diagLog.lines.join('\n')).to.match(
        /it is a symbolic link \(not followed\)/
      );
    });

    it('does not hang on a FIFO at the snapshot path (child process)', async () => {
      execFileSync('mkfifo', [path]);
      const result = await runFixture<HostileSnapshotResult>(
        'hostile-snapshot',
        [path],
        20_000
      );
      expect(result.aside, 'the FIFO moved aside').to.equal(1);
    });

    it('does not read a link to /dev/zero without end (child process)', async () => {
      symlinkSync('/dev/zero', path);
      const result = await runFixture<HostileSnapshotResult>(
        'hostile-snapshot',
        [path],
        20_000
      );
      expect(result.aside).to.equal(1);
      // A Node process with the packages loaded: far below what reading
      // /dev/zero up to maxFileBytes (256 MiB) would take.
      expect(result.maxRssBytes).to.be.below(200 * 1024 * 1024);
    });

    it('bounds a regular file by the bytes read, not the size reported', async () => {
      writeFileSync(path, 'x'.repeat(8192));
      const reader = new RetentionMetricReader({
        persistence: { path, maxFileBytes: 4096 },
      });
      await reader.whenRestored();
      expect(
        readdirSync(directory).filter(f => f.includes('.corrupt-'))
      ).to.have.length(1);
      await reader.shutdown();
    });

    it('restores a large snapshot in the background, in slices, saying so until done', async () => {
      const SERIES = 20_000;
      const limits = { maxSeriesPerMetric: 2 * SERIES };
      const first = setupMetrics({
        global: false,
        exporter: 'none',
        limits,
        persistence: { path },
      });
      const latency = first.instruments.histogram('latency');
      for (let i = 0; i < SERIES; i++)
        latency.record(1 + (i % 97), { route: `r${i}` });
      await first.shutdown();
      const bytes = lstatSync(path).size;
      expect(bytes).to.be.above(5 * 1024 * 1024);

      const reader = new RetentionMetricReader({
        limits,
        persistence: { path },
      });
      // Nothing restored yet when the constructor returns: it reads no file.
      const early = reader.query('latency');
      expect(early === undefined || early.restoring === true).to.equal(true);
      let turns = 0;
      let counting = true;
      const count = () => {
        if (!counting) return;
        turns++;
        setImmediate(count);
      };
      setImmediate(count);
      await reader.whenRestored();
      counting = false;
      // The host ran many times while a 20,000-series snapshot was restored.
      expect(turns).to.be.above(10);
      const restored = reader.query('latency')!;
      expect(restored.restoring).to.equal(undefined);
      expect(restored.series).to.equal(SERIES);
      expect(restored.count).to.equal(SERIES);
      await reader.shutdown();
    });

    it('drops history dated in the future, counts it, and keeps every other sum', async () => {
      const first = setupMetrics({
        global: false,
        exporter: 'none',
        persistence: { path },
      });
      first.instruments.counter('orders').add(5);
      await first.shutdown();
      // Date the history point a day ahead.
      const lines = readFileSync(path, 'utf8').split('\n');
      const forged = lines.map(line => {
        if (!line.includes('"series"')) return line;
        const entry = JSON.parse(line);
        entry.series.history[0][0][0] += 86_400_000;
        return JSON.stringify(entry);
      });
      writeFileSync(path, forged.join('\n'));
      const second = setupMetrics({
        global: false,
        exporter: 'none',
        persistence: { path },
      });
      await second.meterProvider.whenRestored();
      second.instruments.counter('orders').add(2);
      const { resourceMetrics } = await second.meterProvider.collect();
      // The restored cumulative total goes on; the forged point is not history.
      expect(totalOf(resourceMetrics, 'orders')).to.equal(7);
      expect(second.meterProvider.query('orders')!.sum).to.equal(2);
      const evicted = resourceMetrics.scopeMetrics
        .flatMap(s => s.metrics)
        .find(m => m.descriptor.name === 'datapunk.metrics.history.evicted')!
        .dataPoints.find(p => p.attributes.reason === 'future')!;
      expect(evicted.value).to.equal(1);
      await second.shutdown();
    });
  });

  describe('the Instruments facade', () => {
    it('throws nothing for BigInts, throwing getters or toJSON, and a timed call settles as the plain one', async () => {
      const reader = new RetentionMetricReader();
      const provider = new MeterProvider({ readers: [reader] });
      const instruments = new Instruments(provider.getMeter('app'), {
        reader,
        meterName: 'app',
      });
      const getter = Object.defineProperty({}, 'id', {
        enumerable: true,
        get() {
          throw new Error('getter');
        },
      });
      const toJson = {
        id: {
          toJSON() {
            throw new Error('toJSON');
          },
        },
      };
      expect(() =>
        instruments.counter('orders').add(1, { id: 42n } as never)
      ).not.to.throw();
      expect(() =>
        instruments.counter('orders').add(1, getter as never)
      ).not.to.throw();
      expect(() =>
        instruments.counter('orders').add(1, toJson as never)
      ).not.to.throw();
      const value = await instruments
        .timer('work')
        .time(async () => 'fn succeeded', { id: 7n } as never);
      expect(value).to.equal('fn succeeded');
      const failure = new Error('fn failed');
      const failed = await instruments
        .timer('work')
        .time(
          async () => {
            throw failure;
          },
          { id: 7n } as never
        )
        .catch((error: unknown) => error);
      expect(failed).to.equal(failure);
      expect((await reader.collectAndQuery('orders'))!.sum).to.equal(3);
      await provider.shutdown();
    });

    it('keeps no attribute value longer than the limit: 20 values of 10 MB cost little', async () => {
      const reader = new RetentionMetricReader();
      const provider = new MeterProvider({ readers: [reader] });
      const instruments = new Instruments(provider.getMeter('app'), {
        reader,
        meterName: 'app',
      });
      const counter = instruments.counter('orders');
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 20; i++)
        counter.add(1, { payload: String(i).padEnd(10_000_000, 'x') });
      await reader.collect();
      gc();
      const grown = process.memoryUsage().heapUsed - before;
      // 20 series of one 1024-character value: a few hundred KB at most,
      // against the 200 MB (or 400 MB as UTF-16) the values weigh.
      expect(grown).to.be.below(5 * 1024 * 1024);
      const kept = (await reader.collect()).resourceMetrics.scopeMetrics
        .flatMap(s => s.metrics)
        .find(m => m.descriptor.name === 'orders')!.dataPoints;
      expect(kept).to.have.length(20);
      for (const point of kept)
        expect((point.attributes.payload as string).length).to.equal(1024);
      await provider.shutdown();
    });
  });

  describe('every entry point, fuzzed (fast-check)', () => {
    /** Values that throw when looked at: made inside the property, so fast-check can print a failure. */
    const HOSTILE: (() => unknown)[] = [
      () => Symbol('s'),
      () => () => 1,
      () =>
        new Proxy(
          {},
          {
            ownKeys() {
              throw new Error('ownKeys');
            },
            get() {
              throw new Error('get');
            },
            getPrototypeOf() {
              throw new Error('getPrototypeOf');
            },
          }
        ),
      () =>
        Object.defineProperty({}, 'k', {
          enumerable: true,
          get() {
            throw new Error('getter');
          },
        }),
      () => ({
        toJSON() {
          throw new Error('toJSON');
        },
      }),
      () => ({ big: 'x'.repeat(100_000) }),
    ];
    class Hostile {
      readonly index: number;
      constructor(index: number) {
        this.index = index;
      }
      make(): unknown {
        return HOSTILE[this.index]();
      }
    }
    /** Any JS value a caller might hand over, hostile ones included. */
    const anything = fc.oneof(
      fc.anything(),
      fc.bigInt().map(b => b as unknown),
      fc.constantFrom<unknown>(NaN, -Infinity, -0),
      fc.integer({ min: 0, max: HOSTILE.length - 1 }).map(i => new Hostile(i))
    );
    const real = (value: unknown) =>
      value instanceof Hostile ? value.make() : value;
    /** How a call settled: its value (by identity) or its error's message. */
    async function outcome(
      call: () => Promise<unknown>
    ): Promise<{ resolved: boolean; same: unknown }> {
      try {
        const value = await call();
        return { resolved: true, same: typeof value };
      } catch (error) {
        return { resolved: false, same: (error as Error).message };
      }
    }
    const entry = fc.constantFrom(
      'counter.add',
      'gauge.set',
      'histogram.record',
      'summary.observe',
      'timer.record',
      'timer.time',
      'timer.startTimer',
      'record',
      'bind'
    );
    const PROTOTYPES = () => [
      prototypeKeys(),
      Object.getOwnPropertyNames(Array.prototype).sort(),
      Object.getOwnPropertyNames(Function.prototype).sort(),
    ];

    it('never throws into the caller (but for a bind() or time() it cannot honour), changes no prototype, keeps memory bounded', async () => {
      const before = PROTOTYPES();
      const SERIES = 50;
      const setup = setupMetrics({
        global: false,
        exporter: 'none',
        limits: { maxSeriesPerMetric: SERIES },
      });
      const m = setup.instruments;
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(entry, anything, anything), { maxLength: 30 }),
          async ops => {
            for (const [where, given, givenAttributes] of ops) {
              const value = real(given);
              const v = value as number;
              const a = real(givenAttributes) as never;
              try {
                switch (where) {
                  case 'counter.add':
                    m.counter('c').add(v, a);
                    break;
                  case 'gauge.set':
                    m.gauge('g').set(v, a);
                    break;
                  case 'histogram.record':
                    m.histogram('h').record(v, a);
                    break;
                  case 'summary.observe':
                    m.summary('s').observe(v, a);
                    break;
                  case 'timer.record':
                    m.timer('t').record(v, a);
                    break;
                  case 'timer.time': {
                    // Settles as the plain call does (a Proxy whose `get`
                    // throws makes even the plain async call reject).
                    const plain = await outcome(async () => v);
                    const timed = await outcome(() =>
                      m.timer('t').time(async () => v, a)
                    );
                    expect(timed).to.deep.equal(plain);
                    break;
                  }
                  case 'timer.startTimer':
                    m.timer('t').startTimer(a)();
                    break;
                  case 'record':
                    // A name the facade has (a new one per call would grow the
                    // store by design), a hostile value and attributes.
                    m.record('c', v, 'counter' as never, a);
                    break;
                  case 'bind': {
                    let bound;
                    try {
                      bound = m.counter('c').bind(a);
                    } catch (error) {
                      // Documented: bind() refuses what is no attributes object.
                      expect(error).to.be.instanceOf(TypeError);
                      expect((error as Error).message).to.match(
                        /^Instruments: counter 'c'\.bind\(\): option 'attributes/
                      );
                      break;
                    }
                    bound.add(v);
                    break;
                  }
                }
              } catch (error) {
                expect.fail(`${where} threw ${(error as Error).stack}`);
              }
            }
          }
        ),
        { numRuns: 300 }
      );
      await setup.meterProvider.collect();
      gc();
      const grown = process.memoryUsage().heapUsed - heapBefore;
      // Per metric (6 of them, the facade's own counters included) at most SERIES series, each with at most
      // 16 KiB of attributes and a sketch (~40 KB at most here): the bound.
      const bound = 6 * SERIES * (16 * 1024 + 40 * 1024) + 8 * 1024 * 1024;
      expect(grown, `${grown} bytes retained`).to.be.below(bound);
      await setup.shutdown();
      expect(PROTOTYPES()).to.deep.equal(before);
    });
  });
});

import { expect } from 'chai';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';
import * as sinon from 'sinon';
import type { RetentionMetricReaderOptions } from '../src';
import { pointWith, points, realTimeSetUp, selfCount, until } from './util';
import type { Setup } from './util';

/**
 * Real time and real files throughout: snapshots are written at shutdown
 * (or on a short real interval), exports happen on forceFlush. No fake
 * clock has to guess how long a disk takes.
 */
describe('RetentionMetricReader persistence', () => {
  let directory: string;
  let path: string;
  let running: Setup | undefined;
  let logged: sinon.SinonStub;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'datapunk-snapshot-'));
    path = join(directory, 'metrics.json');
    logged = sinon.stub();
    const logger = {
      error: logged,
      warn: logged,
      info: () => {},
      debug: () => {},
      verbose: () => {},
    } as DiagLogger;
    diag.setLogger(logger, DiagLogLevel.WARN);
  });
  afterEach(async () => {
    try {
      await running?.provider.shutdown();
    } finally {
      running = undefined;
      diag.disable();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  /** Timers that never fire during a test: work happens on flush and shutdown. */
  const options = (
    persistence: RetentionMetricReaderOptions['persistence'] = { path }
  ): RetentionMetricReaderOptions => ({
    collectionIntervalMillis: 3_600_000,
    exportIntervalMillis: 3_600_000,
    persistence,
  });

  function start(given: RetentionMetricReaderOptions = options()): Setup {
    running = realTimeSetUp(given);
    return running;
  }

  /** A reader that records, is shut down (so it writes a snapshot), and is gone. */
  async function runAndStop(record: (setup: Setup) => void): Promise<void> {
    const first = realTimeSetUp(options());
    record(first);
    await first.provider.shutdown();
  }

  it('restores what it had: cumulative totals go on, history stays queryable', async () => {
    await runAndStop(({ meter }) => {
      meter.createCounter('orders').add(7, { shop: 'a' });
      for (let v = 1; v <= 10; v++) meter.createHistogram('latency').record(v);
    });
    expect(existsSync(path)).to.equal(true);

    const h = start();
    h.meter.createCounter('orders').add(3, { shop: 'a' });
    await h.reader.forceFlush();
    const order = pointWith(h.latest(), 'orders', { shop: 'a' })!;
    expect(order.value).to.equal(10);
    expect(
      points<{ count: number }>(h.latest(), 'latency')[0].value.count
    ).to.equal(10);
    expect(h.reader.query('latency')).to.include({
      count: 10,
      min: 1,
      max: 10,
    });
    expect(logged.called).to.equal(false);
  });

  const header = JSON.stringify({
    format: 'datapunk.metrics.snapshot',
    version: 2,
    savedAtMillis: 1,
    tiers: [],
  });
  const unusable: [string, string, RegExp][] = [
    ['garbage', 'definitely not json', /line 1 is not JSON/],
    [
      'a truncated snapshot',
      `${header}\n{"metric":{"scope":{"name":"s"},"descr`,
      /line 2 is not JSON/,
    ],
    [
      'a foreign file',
      JSON.stringify({ format: 'something.else', version: 2 }),
      /'format' is something\.else, not a datapunk\.metrics\.snapshot file/,
    ],
    [
      'a newer version',
      JSON.stringify({ format: 'datapunk.metrics.snapshot', version: 3 }),
      /'version' 3 is not 2/,
    ],
    [
      'an older version (one JSON document)',
      JSON.stringify({ format: 'datapunk.metrics.snapshot', version: 1 }),
      /'version' 1 is not 2/,
    ],
    [
      'a malformed series',
      [
        header,
        JSON.stringify({
          metric: {
            scope: { name: 's' },
            descriptor: { name: 'm', description: '', unit: '', valueType: 1 },
            kind: 'sum',
            monotonic: true,
          },
        }),
        JSON.stringify({
          series: {
            attributes: {},
            startMillis: 1,
            lastUpdateMillis: 1,
            pendingSinceMillis: 1,
            live: 'lots',
            history: [],
          },
        }),
      ].join('\n'),
      /'line 3\.series\.live' must be a finite number or null/,
    ],
  ];
  for (const [name, content, reason] of unusable) {
    it(`moves ${name} aside, reports it and starts clean`, async () => {
      writeFileSync(path, content);
      const h = start();
      h.meter.createCounter('fresh').add(1);
      await h.reader.forceFlush();
      expect(points(h.latest(), 'fresh')[0].value).to.equal(1);
      const aside = readdirSync(directory).filter(f =>
        f.startsWith('metrics.json.corrupt-')
      );
      expect(aside).to.have.length(1);
      expect(readFileSync(join(directory, aside[0]), 'utf8')).to.equal(content);
      expect(logged.calledWithMatch(reason)).to.equal(
        true,
        String(logged.args)
      );
      expect(
        selfCount(h.latest(), 'datapunk.metrics.persistence.errors', 'read')
      ).to.equal(1);
      // A new good snapshot replaces it, never the file moved aside.
      await h.provider.shutdown();
      expect(headerOf(path).format).to.equal('datapunk.metrics.snapshot');
      expect(readFileSync(join(directory, aside[0]), 'utf8')).to.equal(content);
    });
  }

  it('never takes restored data for new traffic: a rate is not computed across the restart', async () => {
    // Points of 50 ms; collections forced by collectAndQuery, 60 ms apart.
    const fine: RetentionMetricReaderOptions = {
      ...options(),
      collectionIntervalMillis: 50,
      tiers: [{ resolutionMillis: 50, durationMillis: 60_000 }],
    };
    const pause = () => new Promise(resolve => setTimeout(resolve, 60));
    const first = realTimeSetUp(fine);
    const orders = first.meter.createCounter('orders');
    for (let i = 0; i < 5; i++) {
      orders.add(10);
      await first.reader.collectAndQuery('orders');
      await pause();
    }
    // Every point is whole now (the last one ended before this collection).
    const before = (await first.reader.collectAndQuery('orders'))!.rate;
    await first.provider.shutdown();
    // The next process starts after the last point's interval (a point
    // holding data of both runs would begin the second run).
    await pause();
    expect(before).to.be.a('number');
    const second = start(fine);
    second.meter.createCounter('orders').add(1000);
    const after = (await second.reader.collectAndQuery('orders'))!;
    expect(after.sum).to.equal(1050);
    // One point since the restart: only the run before it has a rate, and
    // it is the one that run had (the burst and the restored totals are
    // not traffic over the gap).
    expect(after.rate).to.equal(before);
  });

  it('refuses a file larger than maxFileBytes', async () => {
    writeFileSync(path, ' '.repeat(4096));
    await start(options({ path, maxFileBytes: 1024 })).reader.whenRestored();
    expect(
      logged.calledWithMatch(/holds more than maxFileBytes \(1024\) bytes/)
    ).to.equal(true);
  });

  it('loads the last complete snapshot when a write was interrupted, and removes the dead writer’s file', async () => {
    await runAndStop(({ meter }) => meter.createCounter('orders').add(5));
    // A crash between writing the temporary file and renaming it leaves
    // both; pid 2^22 + 1 is above Linux's pid_max, so that writer is dead.
    const dead = `${path}.tmp-${2 ** 22 + 1}`;
    writeFileSync(dead, '{"format":"datapunk.metrics.snap');
    const h = start();
    await h.reader.whenRestored();
    expect(existsSync(dead)).to.equal(false);
    await h.reader.forceFlush();
    expect(points(h.latest(), 'orders')[0].value).to.equal(5);
    expect(logged.called).to.equal(false);
  });

  it('makes the directory of a snapshot path that does not exist yet', async () => {
    const nested = join(directory, 'var', 'lib', 'checkout', 'metrics.json');
    const h = start(options({ path: nested }));
    h.meter.createCounter('orders').add(2);
    await h.provider.shutdown();
    running = undefined;
    expect(headerOf(nested).format).to.equal('datapunk.metrics.snapshot');
    expect(logged.called).to.equal(false);
  });

  it('reports and retries a snapshot it cannot write, without throwing', async () => {
    // A path under a regular file: no directory can be made there.
    writeFileSync(join(directory, 'a-file'), '');
    const missing = join(directory, 'a-file', 'metrics.json');
    const h = start(options({ path: missing, intervalMillis: 20 }));
    h.meter.createCounter('orders').add(1);
    const writeErrors = async () =>
      selfCount(
        (await h.reader.collect()).resourceMetrics,
        'datapunk.metrics.persistence.errors',
        'write'
      );
    await until(async () => (await writeErrors()) >= 3, 'three failed writes');
    expect(
      logged.calledWithMatch(/could not write snapshot .*a-file.*, will retry/)
    ).to.equal(true);
    await h.reader.forceFlush();
    expect(points(h.latest(), 'orders')[0].value).to.equal(1);
    // The last attempt, at shutdown, says it is the last.
    logged.resetHistory();
    await h.provider.shutdown();
    running = undefined;
    expect(
      logged.calledWithMatch(
        /could not write the final snapshot .*a-file.* at shutdown/
      )
    ).to.equal(true);
    expect(logged.calledWithMatch(/will retry/)).to.equal(false);
  });
});

/** The header line of a snapshot file. */
function headerOf(file: string): { format: string } {
  return JSON.parse(readFileSync(file, 'utf8').split('\n')[0]);
}

import { execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { RetentionMetricReader } from '@datapunk/otel-metrics';
import { countDiag, totalOf } from './util';
import { sleep } from '../util';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- shared with the child
const { TIERS } = require('./fixtures/persisting-options.cjs') as {
  TIERS: { resolutionMillis: number; durationMillis: number }[];
};

const KILLS = 50;
const CHILD = resolve(__dirname, 'fixtures/persisting-child.cjs');
const SIZE_LIMIT_CHILD = resolve(__dirname, 'fixtures/file-size-limit.cjs');

/** Starts the persisting child; resolves once it records, with its process. */
function startChild(path: string) {
  // Its stdin is a pipe from this process: when the test dies, the child ends too.
  const child = spawn(process.execPath, [CHILD, path], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise<typeof child>((started, fail) => {
    child.stdout.once('data', () => started(child));
    child.once('exit', code => fail(new Error(`child exited with ${code}`)));
  });
}

/** A reader on a provider (so it can collect), persisting to `path`. */
function readerOn(path: string, intervalMillis = 60_000) {
  const reader = new RetentionMetricReader({
    collectionIntervalMillis: 10,
    tiers: TIERS,
    persistence: { path, intervalMillis },
  });
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider };
}

/**
 * Loads a copy of the snapshot the way a restarting service would, and
 * returns the cumulative `requests` total it restored.
 */
async function load(path: string, copy: string): Promise<number> {
  copyFileSync(path, copy);
  const { reader, provider } = readerOn(copy);
  const { resourceMetrics } = await reader.collect();
  await provider.shutdown();
  return totalOf(resourceMetrics, 'requests');
}

describe('reliability: crash safety of the state file', function () {
  this.timeout(300_000);

  it(`SIGKILL at ${KILLS} random moments: the file on disk always loads`, async () => {
    const directory = mkdtempSync(join(tmpdir(), 'datapunk-crash-'));
    const path = join(directory, 'state.json');
    const checks = mkdtempSync(join(tmpdir(), 'datapunk-crash-check-'));
    let previous = 0;
    let grew = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const child = await startChild(path);
      const exited = new Promise(done => child.once('exit', done));
      await sleep(20 + Math.random() * 600);
      child.kill('SIGKILL');
      await exited;
      expect(existsSync(path), `kill ${kill}: a snapshot exists`).to.equal(
        true
      );
      // Every line of it is JSON (a snapshot is one document per line).
      for (const line of readFileSync(path, 'utf8').split('\n'))
        if (line !== '') JSON.parse(line);
      const requests = await load(path, join(checks, `check-${kill}.json`));
      expect(requests, `kill ${kill}: requests restored`).to.be.above(0);
      // Each child restored its predecessor's totals, so they only grow.
      expect(requests, `kill ${kill}: nothing lost`).to.be.at.least(previous);
      if (requests > previous) grew++;
      previous = requests;
    }
    const leftovers = readdirSync(directory).filter(f => f !== 'state.json');
    expect(
      leftovers.filter(f => f.includes('.corrupt-')),
      'files moved aside'
    ).to.deep.equal([]);
    // Temporary files of killed writers are removed by the next one.
    expect(
      leftovers.length,
      `leftovers: ${leftovers.join(', ')}`
    ).to.be.at.most(1);
    console.log(
      `      ${KILLS} kills survived; ${grew} left a newer snapshot, the rest the previous one`
    );
    // The children do write newer data. How many random kills leave some
    // depends on the machine (a kill before a child's first snapshot after
    // its restore leaves its predecessor's: 9-24 of 50 in CI runs), so one
    // more child runs until a newer snapshot is on disk.
    const last = await startChild(path);
    const lastExited = new Promise(done => last.once('exit', done));
    let newer = previous;
    for (let waited = 0; newer <= previous && waited < 20_000; waited += 100) {
      await sleep(100);
      newer = await load(path, join(checks, 'check-last.json'));
    }
    last.kill('SIGKILL');
    await lastExited;
    expect(newer, 'a running child writes newer data').to.be.above(previous);
    // Kept when an assertion fails above, for a look at what was on disk.
    rmSync(directory, { recursive: true });
    rmSync(checks, { recursive: true });
  });

  describe('a full disk or an unwritable path', () => {
    let directory: string;
    let diagLog: ReturnType<typeof countDiag>;
    const escaped: unknown[] = [];
    const onEscape = (error: unknown) => escaped.push(error);
    beforeEach(() => {
      directory = mkdtempSync(join(tmpdir(), 'datapunk-disk-'));
      diagLog = countDiag();
      process.on('unhandledRejection', onEscape);
    });
    afterEach(() => {
      rmSync(directory, { recursive: true, force: true });
      diagLog.stop();
      process.off('unhandledRejection', onEscape);
      expect(escaped, 'errors that escaped').to.deep.equal([]);
    });

    async function persistenceErrors(reader: RetentionMetricReader) {
      const { resourceMetrics } = await reader.collect();
      return totalOf(resourceMetrics, 'datapunk.metrics.persistence.errors');
    }

    it('writes the kernel refuses (a file-size limit: EFBIG, as a full disk gives ENOSPC): reported and retried, never thrown; data kept', async () => {
      const path = join(directory, 'state.json');
      // `ulimit -f 4`: no file of the child may pass 4 KB; its snapshots do.
      const output = execFileSync(
        'bash',
        [
          '-c',
          'ulimit -f 4; exec "$0" "$1" "$2"',
          process.execPath,
          SIZE_LIMIT_CHILD,
          path,
        ],
        { encoding: 'utf8' }
      );
      const result = JSON.parse(output.trim().split('\n').pop()!) as {
        writeErrors: number;
        sum: number;
        lines: string[];
      };
      expect(result.writeErrors, 'failed writes, retried').to.be.at.least(3);
      expect(result.sum, 'data kept').to.equal(500);
      expect(
        result.lines.some(l => /could not write snapshot .*will retry/.test(l)),
        result.lines.join('\n')
      ).to.equal(true);
      expect(
        result.lines.some(l => /could not write the final snapshot/.test(l)),
        result.lines.join('\n')
      ).to.equal(true);
      // Rate-limited: a line per kind of failure, not per failure.
      expect(result.lines.length).to.be.at.most(5);
    });

    it('an unwritable path: reported (rate-limited) and retried until it works', async () => {
      const blocker = join(directory, 'not-a-directory');
      writeFileSync(blocker, '');
      const path = join(blocker, 'state.json');
      const { reader, provider } = readerOn(path, 5);
      await sleep(300);
      const errors = await persistenceErrors(reader);
      expect(errors, 'failed writes').to.be.at.least(20);
      expect(
        diagLog.lines.length,
        'diag lines for all those failures'
      ).to.be.at.most(5);
      rmSync(blocker);
      mkdirSync(blocker);
      // The next retry writes it: within a second, however loaded the machine.
      for (let waited = 0; !existsSync(path) && waited < 1000; waited += 10)
        await sleep(10);
      expect(existsSync(path), 'written once the path works').to.equal(true);
      await provider.shutdown();
    });
  });
});

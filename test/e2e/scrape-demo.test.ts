import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { freePort } from './Collector';
import { Prometheus, promtool } from './Prometheus';
import { requirePromtool } from '../requirements';
import { sleep } from '../util';

const ROOT = resolve(__dirname, '../..');
const DURATION_SECONDS = 30;

describe('the main job (examples/demo) as a Prometheus scrape target', function () {
  this.timeout(120_000);
  let demo: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let output = '';
  let prometheus: Prometheus | undefined;
  /** A second Prometheus scraping OpenMetrics, keeping exemplars. */
  let withExemplars: Prometheus | undefined;
  let startedSeconds: number;
  let url: string;
  let stateDir: string;

  before(async function () {
    requirePromtool(this);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    stateDir = mkdtempSync(join(tmpdir(), 'datapunk-demo-scrape-'));
    prometheus = await Prometheus.start({ scrapeTarget: `127.0.0.1:${port}` });
    withExemplars = await Prometheus.start({
      scrapeTarget: `127.0.0.1:${port}`,
      features: ['exemplar-storage'],
    });
    startedSeconds = Date.now() / 1000;
    demo = spawn(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        'examples/demo/main.ts',
        '--duration',
        String(DURATION_SECONDS),
        '--seed',
        '3',
        '--no-dashboard',
        '--state',
        join(stateDir, 'state.json'),
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          TS_NODE_PROJECT: 'examples/tsconfig.json',
          OTEL_METRICS_EXPORTER: 'prometheus',
          OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
          OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }
    );
    demo.stdout!.on('data', chunk => (output += chunk));
    demo.stderr!.on('data', chunk => (output += chunk));
    exited = new Promise(done => demo!.once('exit', done));
  });
  after(async () => {
    if (demo && demo.exitCode === null) demo.kill('SIGTERM');
    await exited;
    await prometheus?.dispose();
    await withExemplars?.dispose();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('serves a scrape that promtool check metrics passes without a warning, breakers, summaries and histograms included', async () => {
    // Once the breakers have histograms and their window summaries.
    let text = '';
    const deadline = Date.now() + 60_000;
    while (
      !/^# TYPE circuit_breaker_call_duration_window_seconds summary$/m.test(
        text
      ) ||
      !/^demo_downstream_duration_seconds_bucket/m.test(text)
    ) {
      if (Date.now() > deadline || demo!.exitCode !== null)
        throw new Error(`no full scrape from the demo:\n${text}\n${output}`);
      await sleep(1000);
      text = await fetch(url).then(
        response => response.text(),
        () => ''
      );
    }
    const { code, output: problems } = await promtool(text);
    expect(problems, text).to.equal('');
    expect(code).to.equal(0);
  });

  it('is scraped by a real Prometheus for the whole run: target up, native histograms, summaries typed summary', async () => {
    expect(await exited, output).to.equal(0);
    await sleep(2000);
    // Down before the demo listens and after it ends, up in between without a gap.
    expect(await prometheus!.value('changes(up[5m])')).to.be.at.most(2);
    expect(await prometheus!.value('sum_over_time(up[5m])')).to.be.at.least(
      DURATION_SECONDS - 10
    );
    expect(
      await prometheus!.value(
        'sum(max_over_time(histogram_count(circuit_breaker_call_duration_seconds)[5m:]))'
      )
    ).to.be.above(0);
    expect(
      (
        await prometheus!.metadata('demo_downstream_duration_window_seconds')
      ).map(m => m.type)
    ).to.deep.equal(['summary']);
  });

  it("leads from the injected slowdown to the slow calls' traces: exemplars in a real Prometheus (exemplar-storage, OpenMetrics)", async () => {
    expect(await exited, output).to.equal(0);
    const found = await withExemplars!.exemplars(
      'demo_downstream_duration_seconds_bucket{route="payments"}',
      startedSeconds,
      Date.now() / 1000
    );
    const exemplars = found.flatMap(series => series.exemplars);
    // examples/demo: payments answers in 20 ms × e^(0.5·u), u in [-1.5, 1.5]
    // (9.4–42.3 ms), 5× that in the slowdown (47.2–211.7 ms): any exemplar
    // over 45 ms is a call made during the slowdown, and only those are.
    const slow = exemplars.filter(e => Number(e.value) > 0.045);
    const fast = exemplars.filter(e => Number(e.value) <= 0.045);
    expect(slow.length, JSON.stringify(found)).to.be.at.least(3);
    expect(fast.length, JSON.stringify(found)).to.be.at.least(3);
    for (const { labels } of slow) {
      expect(labels.trace_id).to.match(/^[0-9a-f]{32}$/);
      expect(labels.trace_id).to.not.match(/^0+$/);
      expect(labels.span_id).to.match(/^[0-9a-f]{16}$/);
    }
    // Each a call of its own (a trace per call), all within the slowdown:
    // its length (a quarter of the faults' time, 3.75 s here) and a
    // collection interval.
    expect(new Set(slow.map(e => e.labels.trace_id)).size).to.equal(
      new Set(slow.map(e => `${e.timestamp}:${e.value}`)).size
    );
    const times = slow.map(e => e.timestamp);
    expect(Math.max(...times) - Math.min(...times)).to.be.at.most(3.75 + 1.5);
    // The breaker in front of the downstream replays its buckets' example
    // calls into circuit_breaker.call.duration, in their spans: exemplars.
    const breakerExemplars = (
      await withExemplars!.exemplars(
        'circuit_breaker_call_duration_seconds_bucket{circuit_breaker_name="payments"}',
        startedSeconds,
        Date.now() / 1000
      )
    ).flatMap(series => series.exemplars);
    expect(breakerExemplars.length, output).to.be.at.least(1);
    for (const { labels } of breakerExemplars)
      expect(labels.trace_id).to.match(/^[0-9a-f]{32}$/);
  });
});

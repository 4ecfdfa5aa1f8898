import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import { Collector } from './Collector';
import { Prometheus } from './Prometheus';
import { requirePrometheus } from '../requirements';
import { relativeErrorAt, sleep } from '../util';

const ROOT = resolve(__dirname, '../..');
const run = promisify(execFile);

/** Three instances of one service, each with different traffic. */
const INSTANCES = [
  { id: 'instance-a', count: 6000, medianSeconds: 0.02, seed: 11 },
  { id: 'instance-b', count: 3000, medianSeconds: 0.05, seed: 23 },
  { id: 'instance-c', count: 900, medianSeconds: 0.3, seed: 37 },
];
const QUANTILES = [0.5, 0.9, 0.99];

interface InstanceRun {
  instance: string;
  /** The values recorded between exports: three phases. */
  phases: number[][];
}

/** The exact value at rank ⌊q·(n − 1)⌋ of `values`. */
function exactQuantile(values: number[], q: number): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))];
}

/** How far `value` is from `exact`, in percent, for the log. */
function percentOff(value: number, exact: number): string {
  return `${((Math.abs(value - exact) / exact) * 100).toFixed(3)}% off`;
}

/** The quantile of a sketch at the reader's scale (5) holding `values`. */
function sketchQuantile(values: number[], q: number): number {
  const sketch = new ExponentialSketch({ maxScale: 5 });
  for (const v of values) sketch.record(v);
  return sketch.quantile(q);
}

describe('end to end: through a Collector into a real Prometheus', function () {
  this.timeout(180_000);
  let prometheus: Prometheus | undefined;
  let collector: Collector | undefined;
  let runs: InstanceRun[];

  before(async function () {
    requirePrometheus(this);
    prometheus = await Prometheus.start();
    collector = await Collector.start({
      remoteWriteUrl: prometheus.remoteWriteUrl,
    });
    runs = await Promise.all(
      INSTANCES.map(async ({ id, count, medianSeconds, seed }) => {
        const { stdout } = await run(
          process.execPath,
          [
            '-r',
            'ts-node/register/transpile-only',
            join(__dirname, 'fixtures', 'instance.ts'),
            collector!.metricsUrl,
            id,
            String(count),
            String(medianSeconds),
            String(seed),
          ],
          {
            cwd: ROOT,
            env: { ...process.env, TS_NODE_PROJECT: 'test/tsconfig.json' },
          }
        );
        return JSON.parse(stdout.trim().split('\n').pop()!) as InstanceRun;
      })
    );
    // Remote write is asynchronous: wait until every value has arrived.
    const total = INSTANCES.reduce((n, i) => n + i.count, 0);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const samples = await prometheus.query(
        'sum(histogram_count(cross_latency_seconds))'
      );
      if (Number(samples[0]?.value?.[1]) === total) break;
      if (Date.now() > deadline)
        throw new Error(
          `not all values reached Prometheus: ${JSON.stringify(samples)}\n${collector.log}`
        );
      await sleep(250);
    }
  });
  after(async () => {
    await collector?.dispose();
    await prometheus?.dispose();
  });

  const all = () => runs.flatMap(r => r.phases.flat());

  it('counts every request: counter totals summed in PromQL equal what was recorded', async () => {
    expect(await prometheus!.value('sum(cross_requests_total)')).to.equal(
      all().length
    );
    expect(
      await prometheus!.value('count(cross_requests_total)'),
      'one series per instance'
    ).to.equal(INSTANCES.length);
  });

  it('gives exact percentiles across instances from native histograms: histogram_quantile(q, sum(...)) within the sketch bound', async () => {
    const bound = relativeErrorAt(5);
    for (const q of QUANTILES) {
      const promql = await prometheus!.value(
        `histogram_quantile(${q}, sum(cross_latency_seconds))`
      );
      const exact = exactQuantile(all(), q);
      const sketch = sketchQuantile(all(), q);
      expect(Math.abs(sketch - exact), `sketch p${q * 100}`).to.be.at.most(
        exact * bound
      );
      expect(Math.abs(promql - exact), `PromQL p${q * 100}`).to.be.at.most(
        exact * bound
      );
      console.log(
        `      p${q * 100}: exact ${(exact * 1000).toFixed(2)} ms, PromQL ${percentOff(promql, exact)}, merged sketch ${percentOff(sketch, exact)}`
      );
    }
  });

  it('and over a rate: histogram_quantile(q, sum(rate(...[5m]))) covers what came after each first export', async () => {
    // rate() subtracts each instance's first sample bucket by bucket. Every
    // instance exported the same number of times, and seen from 10 s after
    // the last sample (farther than 1.1 sample intervals from both ends of
    // every series), each rate is extrapolated by the same factor, so the
    // mixture is exact.
    const samples = await prometheus!.query(
      'count_over_time(cross_requests_total[5m])'
    );
    expect(
      new Set(samples.map(s => s.value![1])).size,
      'samples per instance'
    ).to.equal(1);
    const at =
      (await prometheus!.value('max(timestamp(cross_requests_total))')) + 10;
    const after = runs.flatMap(r => r.phases.slice(1).flat());
    const bound = relativeErrorAt(5);
    for (const q of QUANTILES) {
      const promql = await prometheus!.value(
        `histogram_quantile(${q}, sum(rate(cross_latency_seconds[5m])))`,
        at
      );
      const exact = exactQuantile(after, q);
      expect(Math.abs(promql - exact), `PromQL p${q * 100}`).to.be.at.most(
        exact * bound
      );
      console.log(
        `      p${q * 100} over rate(): PromQL ${percentOff(promql, exact)}`
      );
    }
  });

  it("cannot combine per-instance Summary quantiles: their sum or mean misses the union's p99", async () => {
    const exact = exactQuantile(all(), 0.99);
    const summed = await prometheus!.value(
      'sum(cross_latency_window_seconds{quantile="0.99"})'
    );
    const mean = await prometheus!.value(
      'avg(cross_latency_window_seconds{quantile="0.99"})'
    );
    // Each instance's own p99 is right (within the bound) …
    for (const { instance, phases } of runs) {
      const own = await prometheus!.value(
        `cross_latency_window_seconds{quantile="0.99", instance="${instance}"}`
      );
      expect(Math.abs(own - exactQuantile(phases.flat(), 0.99))).to.be.at.most(
        exactQuantile(phases.flat(), 0.99) * relativeErrorAt(5)
      );
    }
    // … but no arithmetic on them gives the p99 of all requests.
    console.log(
      `      p99 of all requests ${(exact * 1000).toFixed(1)} ms; summed per-instance p99s ${(summed * 1000).toFixed(1)} ms, their mean ${(mean * 1000).toFixed(1)} ms`
    );
    expect(Math.abs(summed - exact) / exact).to.be.above(0.2);
    expect(Math.abs(mean - exact) / exact).to.be.above(0.2);
  });
});

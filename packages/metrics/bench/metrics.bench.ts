/**
 * The reader against the SDK's PeriodicExportingMetricReader, in one run:
 * record cost; at 2k, 10k and 100k histogram series (each reader in its own
 * process) the longest event-loop stall and mean loop delay while a workload
 * records, CPU per collect+export and heap per series; and heap per
 * histogram series under default retention after 70 simulated minutes.
 *
 *   npm run bench:metrics         (from the repository root)
 *
 * A script, not a test: compare the ratios. Writes bench-results/metrics.json.
 */
import { execFileSync } from 'node:child_process';
import type { Attributes } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  median,
  printTable,
  retainedBytes,
  writeResults,
} from '@datapunk/bench-kit';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import { Instruments, RetentionMetricReader } from '../src';
import { fakeClock } from '../test/util';
import type { ScaleResult } from './scale';
import { SETUPS } from './setups';

const RECORDS = 1_000_000;
const ROUNDS = 7;
const SERIES_COUNTS = [2_000, 10_000, 100_000];
const RETENTION_SERIES = 1_000;
const RETENTION_MINUTES = 70;

/** Runs bench/scale.js for one setup and size in a fresh process. */
function scale(setup: string, series: number): ScaleResult {
  const output = execFileSync(
    process.execPath,
    ['--expose-gc', `${__dirname}/scale.js`, setup, String(series)],
    { encoding: 'utf8', maxBuffer: 1 << 20 }
  );
  return JSON.parse(output.trim().split('\n').pop()!) as ScaleResult;
}

/**
 * Heap per histogram series after 70 minutes (fake time) of 20 values per
 * series per 10-s collection: with the reader's default retention (10 s for
 * 10 min, 1 min for 1 h, 5-minute summary window), and with the SDK's
 * collection alone (what the SDK itself holds per series on this workload);
 * and the reader's own estimate.
 */
async function retentionHeap(setup: 'ours' | 'floor'): Promise<{
  measuredBytesPerSeries: number;
  estimatedBytesPerSeries: number;
}> {
  const clock = fakeClock();
  try {
    const attributes = Array.from({ length: RETENTION_SERIES }, (_, i) => ({
      'customer.id': `c-${i}`,
    }));
    const before = retainedBytes();
    const reader =
      setup === 'ours'
        ? new RetentionMetricReader({
            limits: { maxSeriesPerMetric: RETENTION_SERIES + 1 },
          })
        : SETUPS.find(s => s.name.startsWith('SDK'))!.reader({
            seriesLimit: RETENTION_SERIES + 1,
            collectMillis: 10_000,
            exportMillis: 60_000,
          });
    const provider = new MeterProvider({ readers: [reader] });
    const histogram = provider
      .getMeter('bench')
      .createHistogram('latency', { unit: 'ms' });
    let seed = 1;
    for (let collection = 0; collection < RETENTION_MINUTES * 6; collection++) {
      for (let i = 0; i < RETENTION_SERIES; i++) {
        for (let v = 0; v < 20; v++) {
          seed = (seed * 48271) % 2147483647;
          histogram.record(
            20 * Math.exp(2 * (seed / 2147483647) - 1),
            attributes[i]
          );
        }
      }
      await clock.tickAsync(10_000);
      // The collection runs in real-time slices: let it end before time moves.
      for (let turn = 0; turn < 50; turn++)
        await new Promise(resolve => setImmediate(resolve));
    }
    const measured = (retainedBytes() - before) / RETENTION_SERIES;
    const { resourceMetrics } = await reader.collect();
    const estimate = resourceMetrics.scopeMetrics
      .flatMap(s => s.metrics)
      .filter(m => m.descriptor.name === 'datapunk.metrics.retained.bytes')
      .flatMap(m => m.dataPoints as { value: number }[])
      .reduce((total, p) => total + p.value, 0);
    await provider.shutdown();
    return {
      measuredBytesPerSeries: measured,
      estimatedBytesPerSeries: estimate / RETENTION_SERIES,
    };
  } finally {
    clock.restore();
  }
}

/**
 * ns per record on every path, in one process, rounds interleaved: the
 * SDK's Histogram.record with 4 attributes (the plain SDK, and under this
 * reader), the Instruments facade recording directly (unbound, with a reused
 * and with a fresh attributes object; bound handles), and the sketch's own
 * record as the floor.
 */
async function recordPaths(): Promise<[string, number][]> {
  const attributes = (): Attributes => ({
    'http.route': '/api/orders',
    'http.method': 'GET',
    'http.status_code': 200,
    region: 'eu-west-1',
  });
  const shared = attributes();
  const values = Float64Array.from(
    { length: RECORDS },
    (_, i) => 1 + ((i * 7919) % 1000) / 10
  );
  const timing = {
    seriesLimit: 2000,
    collectMillis: 600_000,
    exportMillis: 600_000,
  };
  const plain = new MeterProvider({ readers: [SETUPS[1].reader(timing)] });
  const reader = SETUPS[0].reader(timing) as RetentionMetricReader;
  const ours = new MeterProvider({ readers: [reader] });
  const facade = new Instruments(ours.getMeter('bench'), {
    reader,
    meterName: 'bench',
  });
  const sdkPlain = plain.getMeter('bench').createHistogram('latency');
  const sdkOurs = ours.getMeter('bench').createHistogram('sdk.latency');
  const histogram = facade.histogram('latency');
  const boundHistogram = histogram.bind(shared);
  const boundCounter = facade.counter('requests').bind(shared);
  const boundGauge = facade.gauge('depth').bind(shared);
  const counter = facade.counter('requests');
  const sketch = new ExponentialSketch({ maxScale: 5 });
  const paths: [string, (j: number) => void][] = [
    [
      'SDK Histogram.record(v, 4 attributes), plain SDK',
      j => sdkPlain.record(values[j], shared),
    ],
    [
      'SDK Histogram.record(v, 4 attributes), this reader',
      j => sdkOurs.record(values[j], shared),
    ],
    [
      'facade histogram.record(v, same attributes object)',
      j => histogram.record(values[j], shared),
    ],
    [
      'facade histogram.record(v, new attributes object)',
      j => histogram.record(values[j], attributes()),
    ],
    [
      'facade counter.add(1, same attributes object)',
      () => counter.add(1, shared),
    ],
    [
      'bound histogram handle .record(v)',
      j => boundHistogram.record(values[j]),
    ],
    ['bound counter handle .add(1)', () => boundCounter.add(1)],
    ['bound gauge handle .set(v)', j => boundGauge.set(values[j])],
    ['ExponentialSketch.record(v) (the floor)', j => sketch.record(values[j])],
  ];
  const times = paths.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < paths.length; k++) {
      const i = (k + round) % paths.length;
      const record = paths[i][1];
      const start = process.hrtime.bigint();
      for (let j = 0; j < RECORDS; j++) record(j);
      times[i].push(Number(process.hrtime.bigint() - start) / RECORDS);
    }
    // Between rounds, as in a service: the reader collects what was recorded.
    await reader.collect();
  }
  await Promise.all([plain.shutdown(), ours.shutdown()]);
  return paths.map(([name], i) => [name, median(times[i])]);
}

async function main(): Promise<void> {
  console.log(
    `Node ${process.version}; ${RECORDS.toLocaleString('en')} records per round, median of ${ROUNDS}\n`
  );
  const paths = await recordPaths();
  const sdkNanos = paths[0][1];
  printTable(
    ['record path', 'ns per record', '× the plain SDK'],
    paths.map(([name, ns]) => [
      name,
      ns.toFixed(1),
      `${(ns / sdkNanos).toFixed(3)}×`,
    ])
  );
  if (process.env.BENCH_ONLY === 'record') {
    writeResults('metrics-record', { recordPaths: Object.fromEntries(paths) });
    return;
  }
  console.log(
    '\nAt scale: one histogram, 4 attributes per series, 20,000 records/s spread over all series for 13 s,' +
      '\ncollection every 2 s (ours), export every 4 s; then CPU of forceFlush() after one value per series' +
      ' (median of 3), heap after GC per series\n'
  );
  const rows: ScaleResult[] = [];
  for (const series of SERIES_COUNTS) {
    for (const setup of SETUPS) rows.push(scale(setup.name, series));
  }
  printTable(
    [
      'series',
      'reader',
      'longest stall ms',
      'mean delay ms',
      'CPU ms per collect+export',
      'heap B/series',
    ],
    rows.map(r => [
      String(r.series),
      r.setup,
      r.maxStallMillis.toFixed(1),
      r.meanDelayMillis.toFixed(2),
      r.cpuMillisPerFlush.toFixed(1),
      r.heapBytesPerSeries.toFixed(0),
    ])
  );
  console.log(
    '\nRetentionMetricReader / PeriodicExportingMetricReader with explicit buckets | with exponential buckets:'
  );
  printTable(
    ['series', 'longest stall', 'CPU per collect+export', 'heap per series'],
    SERIES_COUNTS.map(series => {
      const row = (name: string) =>
        rows.find(r => r.series === series && r.setup.startsWith(name))!;
      const ours = row('RetentionMetricReader');
      const explicit = row('PeriodicExportingMetricReader (explicit');
      const exponential = row('PeriodicExportingMetricReader (exponential');
      const ratio = (f: (r: ScaleResult) => number) =>
        `${(f(ours) / f(explicit)).toFixed(2)}× | ${(f(ours) / f(exponential)).toFixed(2)}×`;
      return [
        String(series),
        ratio(r => r.maxStallMillis),
        ratio(r => r.cpuMillisPerFlush),
        ratio(r => r.heapBytesPerSeries),
      ];
    })
  );

  const retention = await retentionHeap('ours');
  const sdk = await retentionHeap('floor');
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log(
    `\nheap per histogram series, default retention, ${RETENTION_MINUTES} min of 2 values/s:`
  );
  console.log(
    `  measured ${kb(retention.measuredBytesPerSeries)}, of which the SDK's own collection ${kb(sdk.measuredBytesPerSeries)} ` +
      `and the reader ${kb(retention.measuredBytesPerSeries - sdk.measuredBytesPerSeries)}; the reader's estimate ${kb(retention.estimatedBytesPerSeries)}`
  );

  writeResults('metrics', {
    recordPaths: Object.fromEntries(paths),
    scale: rows,
    retention,
    retentionSdkOnly: sdk,
  });
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});

/**
 * Issue 22's benchmark, in one run: at 2k / 20k / 100k histogram series,
 * the SDK with explicit buckets, the SDK with exponential histograms,
 * RetentionMetricReader under the SDK, our RetentionMeterProvider, and the
 * Instruments facade on it (unbound, and bound handles), each path and
 * size in a process of its own (scale/measureScale.ts); then the record
 * path (scale/recordPaths.ts) and the memory retained per series after
 * 70 simulated minutes (scale/retention.ts); then the issue's targets,
 * met or missed.
 *
 *   npm run bench:scale       (from the repository root; about 10 minutes)
 *
 * BENCH_ONLY=scale, record or retention runs one part. A script, not a
 * test: compare the ratios, and the load average beside them (the VM is
 * shared). Writes bench-results/scale.json.
 */
import { loadavg } from 'node:os';
import { writeResults } from '@datapunk/bench-kit';
import type { ScaleResult } from './scale/measureScale';
import { SCALE_PATHS } from './scale/paths';
import { RECORD_PATHS_NOTE, printRecordPaths } from './scale/recordPaths';
import type { RecordPathResult } from './scale/recordPaths';
import {
  RETENTION_NOTE,
  RETENTION_SETUPS,
  printRetention,
} from './scale/retention';
import type { RetentionResult } from './scale/retention';
import { runChild } from './scale/runChild';
import { printScaleTable } from './scale/scaleTable';
import { printTargets } from './scale/targets';
import {
  COLLECTION_INTERVAL_MILLIS,
  EXPORT_INTERVAL_MILLIS,
  MEASURED_MILLIS,
  RECORDS_PER_TICK,
  SERIES_COUNTS,
  TICK_MILLIS,
  WARMUP_MILLIS,
} from './scale/workload';

const only = process.env.BENCH_ONLY;
const runs = (part: string) => only === undefined || only === part;
const load = () =>
  loadavg()
    .map(l => l.toFixed(2))
    .join(' / ');
const progress = (line: string) => process.stderr.write(`${line}\n`);

function main(): void {
  console.log(
    `Node ${process.version}, ${new Date().toISOString()}; load average (1/5/15 min) at the start ${load()}\n`
  );
  const scale: (ScaleResult & { loadAverage: number })[] = [];
  if (runs('scale')) {
    for (const series of SERIES_COUNTS)
      for (const path of SCALE_PATHS) {
        progress(`scale: ${path.name}, ${series} series`);
        const loadAverage = loadavg()[0];
        const result = runChild<ScaleResult>(
          'measureScale.js',
          [path.name, String(series)],
          true
        );
        scale.push({ ...result, loadAverage });
      }
    console.log(
      `Scale: one histogram, N series of 4 attributes, ${RECORDS_PER_TICK} records every ${TICK_MILLIS} ms ` +
        `(${(RECORDS_PER_TICK * 1000) / TICK_MILLIS} records/s over all series, seeded, lognormal values), ` +
        `our collection every ${COLLECTION_INTERVAL_MILLIS / 1000} s, export every ${EXPORT_INTERVAL_MILLIS / 1000} s ` +
        `to a null exporter (cumulative), series limit N + 1 everywhere (the overflow series counts in it); ` +
        `${WARMUP_MILLIS / 1000} s warm-up, then ${MEASURED_MILLIS / 1000} s measured, each row in a process of its own. ` +
        `Stall: monitorEventLoopDelay max; GC: gc performance entries in the window (none forced); ` +
        `memory: heapUsed + arrayBuffers after the run minus before the series were made, both after a forced GC; ` +
        `CPU: process.cpuUsage user + system over the window; max RSS: the process's peak; ` +
        `exported: histogram points in the latest export (N: every series kept; ours export 9 more points per series ` +
        `at the defaults, the window's .values/.mean/.stddev gauges and 6 quantile gauges, since a plain exporter takes no Summary); ` +
        `load: 1-min load average when the row started. ` +
        `Ratios: our provider, facade and bound handles vs the SDK with explicit buckets; the reader vs the SDK with exponential histograms; CPU per record made.\n`
    );
    printScaleTable(scale);
  }
  let record: RecordPathResult[] = [];
  if (runs('record')) {
    progress('record paths');
    record = runChild<RecordPathResult[]>('recordPaths.js', [], false);
    console.log(`\nRecord path: ${RECORD_PATHS_NOTE}\n`);
    printRecordPaths(record);
  }
  let retention: RetentionResult[] = [];
  if (runs('retention')) {
    retention = RETENTION_SETUPS.map(setup => {
      progress(`retention: ${setup}`);
      return runChild<RetentionResult>('retention.js', [setup], true);
    });
    console.log(`\nRetained memory: ${RETENTION_NOTE}\n`);
    printRetention(retention);
  }
  console.log('\nTargets:\n');
  printTargets(scale, record, retention);
  console.log(`\nload average (1/5/15 min) at the end ${load()}`);
  writeResults(only === undefined ? 'scale' : `scale-${only}`, {
    loadAverageAtEnd: loadavg(),
    scale,
    recordPaths: record,
    retention,
  });
}

main();

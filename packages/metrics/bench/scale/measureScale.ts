/**
 * One path at one size, in a process of its own (so heaps and GC do not
 * mix): `node --expose-gc measureScale.js <path> <series>` prints one JSON
 * line. The workload (workload.ts) runs through a warm-up, then 14 s are
 * measured: the longest event-loop stall (monitorEventLoopDelay), GC
 * pauses (gc performance entries; nothing forced in the window), CPU
 * (process.cpuUsage, user + system, every thread) and records made. Then
 * memory: heapUsed + arrayBuffers after a forced GC, minus the same before
 * the path and its series were made (the attribute objects, the
 * application's, exist before).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { retainedBytes } from '@datapunk/bench-kit';
import { GcPauses } from './GcPauses';
import type { GcReading } from './GcPauses';
import { SCALE_PATHS } from './paths';
import { RecordLoad } from './RecordLoad';
import {
  MEASURED_MILLIS,
  WARMUP_MILLIS,
  latencies,
  seriesAttributes,
} from './workload';

export interface ScaleResult {
  path: string;
  series: number;
  longestStallMillis: number;
  meanDelayMillis: number;
  gc: GcReading;
  /** heapUsed + arrayBuffers after the run, minus before the series, after a forced GC. */
  memoryBytes: number;
  cpuMillis: number;
  /** The process's peak resident set, transient garbage and all. */
  maxRssBytes: number;
  records: number;
  /** Histogram points in the latest export: N when every series was kept. */
  exportedPoints: number;
  /** Our store's self-metrics after the run (ours only). */
  selfMetrics?: Record<string, number>;
}

const sleep = (millis: number) =>
  new Promise(resolve => setTimeout(resolve, millis));

async function measure(pathName: string, series: number): Promise<ScaleResult> {
  const path = SCALE_PATHS.find(p => p.name === pathName);
  if (path === undefined) throw new Error(`no path '${pathName}'`);
  const gc = new GcPauses();
  const attributes = seriesAttributes(series);
  const values = latencies();
  const before = retainedBytes();

  const instance = path.create(attributes);
  // Every series exists before the clock starts.
  for (let i = 0; i < series; i++)
    instance.record(i, values[i & (values.length - 1)]);
  const load = new RecordLoad(instance.record, series, values);
  load.start();
  await sleep(WARMUP_MILLIS);

  const delay = monitorEventLoopDelay({ resolution: 1 });
  const madeBefore = load.made;
  const cpuBefore = process.cpuUsage();
  delay.enable();
  gc.start();
  await sleep(MEASURED_MILLIS);
  gc.stop();
  delay.disable();
  const cpu = process.cpuUsage(cpuBefore);
  const records = load.made - madeBefore;
  load.stop();

  const pauses = await gc.read();
  const self = await instance.selfMetrics?.();
  // Shut down first (timers stopped, the last export done) so that no
  // collection or export is under way when memory is read; the state stays.
  await instance.shutdown();
  const memoryBytes = retainedBytes(attributes, values) - before;
  // Read after the memory, which keeps the path alive until then.
  const exportedPoints = instance.exporter.latestPoints;
  return {
    path: path.name,
    series,
    longestStallMillis: delay.max / 1e6,
    meanDelayMillis: delay.mean / 1e6,
    gc: pauses,
    memoryBytes,
    cpuMillis: (cpu.user + cpu.system) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    records,
    exportedPoints,
    selfMetrics: self,
  };
}

const [pathName, series] = process.argv.slice(2);
measure(pathName, Number(series)).then(
  result => console.log(JSON.stringify(result)),
  error => {
    console.error(error);
    process.exitCode = 1;
  }
);

/**
 * One reader at one size, in a process of its own (so heaps and GC do not
 * mix): the longest event-loop stall and mean loop delay while a workload
 * records, CPU per collect+export, and heap per series. Run by
 * metrics.bench.ts as `node --expose-gc scale.js <setup> <series>`; prints
 * one JSON line.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Attributes } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import { median, retainedBytes } from '@datapunk/bench-kit';
import { SETUPS } from './setups';

/** Collection every 2 s and export every 4 s, as in the measurement. */
const COLLECT_MILLIS = 2_000;
const EXPORT_MILLIS = 4_000;
const WORKLOAD_MILLIS = 13_000;
/** 100 records every 5 ms: 20,000 records/s spread over every series. */
const BATCH = 100;
const BATCH_EVERY_MILLIS = 5;
const CPU_ROUNDS = 3;

export interface ScaleResult {
  setup: string;
  series: number;
  maxStallMillis: number;
  meanDelayMillis: number;
  cpuMillisPerFlush: number;
  heapBytesPerSeries: number;
}

async function run(setupName: string, series: number): Promise<ScaleResult> {
  const setup = SETUPS.find(s => s.name === setupName);
  if (!setup) throw new Error(`no setup '${setupName}'`);
  const attributes: Attributes[] = Array.from({ length: series }, (_, i) => ({
    'http.route': `/api/items/${i % 97}`,
    'http.method': i % 2 ? 'GET' : 'POST',
    'customer.id': `c-${i}`,
    region: `r-${i % 5}`,
  }));
  const before = retainedBytes();
  const reader: MetricReader = setup.reader({
    seriesLimit: series + 1,
    collectMillis: COLLECT_MILLIS,
    exportMillis: EXPORT_MILLIS,
  });
  const provider = new MeterProvider({ readers: [reader] });
  const histogram = provider
    .getMeter('bench')
    .createHistogram('latency', { unit: 'ms' });
  // Every series exists before the clock starts.
  for (let i = 0; i < series; i++)
    histogram.record(1 + (i % 100), attributes[i]);

  const delay = monitorEventLoopDelay({ resolution: 1 });
  let next = 0;
  let seed = 7;
  const workload = setInterval(() => {
    for (let j = 0; j < BATCH; j++) {
      seed = (seed * 48271) % 2147483647;
      histogram.record(1 + (seed % 1000) / 10, attributes[next]);
      next = (next + 1) % series;
    }
  }, BATCH_EVERY_MILLIS);
  delay.enable();
  await new Promise(resolve => setTimeout(resolve, WORKLOAD_MILLIS));
  delay.disable();
  clearInterval(workload);

  const cpu: number[] = [];
  for (let round = 0; round < CPU_ROUNDS; round++) {
    for (let i = 0; i < series; i++)
      histogram.record(2 + (i % 100), attributes[i]);
    const start = process.cpuUsage();
    await reader.forceFlush();
    const used = process.cpuUsage(start);
    cpu.push((used.user + used.system) / 1000);
  }
  const heap = retainedBytes() - before;
  await provider.shutdown();
  return {
    setup: setup.name,
    series,
    maxStallMillis: delay.max / 1e6,
    meanDelayMillis: delay.mean / 1e6,
    cpuMillisPerFlush: median(cpu),
    heapBytesPerSeries: heap / series,
  };
}

const [setupName, series] = process.argv.slice(2);
run(setupName, Number(series)).then(
  result => console.log(JSON.stringify(result)),
  error => {
    console.error(error);
    process.exitCode = 1;
  }
);

/**
 * What hostile input used to cost, measured through the public API (the
 * cases of issue 21 that are about cost rather than correctness):
 *
 * 1. Five breakers with one 1 MB attribute each, their metrics collected
 *    by the SDK every second, then also with the dashboard and 4 clients:
 *    heap after GC (heapUsed + arrayBuffers) and RSS at the end against the
 *    start, and the longest event-loop stall meanwhile; the same without
 *    the attribute beside it.
 * 2. Registering one name many times (a breaker made per request): the
 *    time of the 10th, 100th, 1,000th and 10,000th duplicate's register().
 *
 *   node --expose-gc build/bench/hostile.bench.js   (in packages/circuit-breaker)
 *
 * A script, not a test. BENCH_SECONDS (default 10) per row of part 1.
 * Writes bench-results/hostile.json.
 */
import { createServer, get } from 'node:http';
import type { ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { median, printTable, writeResults } from '@datapunk/bench-kit';
import { CallOutcome, CircuitBreakerMetrics } from '../src';
import { createDashboardHandler } from '../src/dashboard';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BREAKERS = 5;

const sleep = (millis: number) =>
  new Promise(resolve => setTimeout(resolve, millis));

/** A reader collected by hand, as a periodic exporter would each second. */
class Reader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

function memory(): { heap: number; rss: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const { heapUsed, arrayBuffers, rss } = process.memoryUsage();
  return { heap: heapUsed + arrayBuffers, rss };
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** Rows of one shape as a Markdown table. */
function table(rows: readonly Record<string, string>[]): void {
  printTable(Object.keys(rows[0]), rows.map(Object.values));
}

/**
 * The time (µs) of a duplicate's register() around each count: the median
 * of the 50 up to it (of the first 10 for the 10th), so that a GC pause
 * on one call does not move it.
 */
function duplicates(): Record<string, string>[] {
  const collector = new CircuitBreakerMetrics({
    meterProvider: new MeterProvider(),
  });
  const micros: number[] = [];
  for (let n = 1; n <= 10_000; n++) {
    const start = process.hrtime.bigint();
    collector.register('per-request');
    micros.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  collector.dispose();
  return [10, 100, 1_000, 10_000].map(n => ({
    duplicate: String(n),
    'register() µs': median(micros.slice(Math.max(0, n - 50), n)).toFixed(1),
  }));
}

async function attributes(
  value: string,
  clients: number
): Promise<Record<string, string>> {
  const before = memory();
  const reader = new Reader();
  const collector = new CircuitBreakerMetrics({
    meterProvider: new MeterProvider({ readers: [reader] }),
  });
  const recorders = Array.from({ length: BREAKERS }, (_, i) =>
    collector.register(`service-${i}`, {
      attributes: value ? { blob: `${i}${value}` } : {},
    })
  );
  const load = setInterval(() => {
    for (const recorder of recorders)
      recorder.recordCall(CallOutcome.SUCCESS, 20);
  }, 10);
  const exports = setInterval(() => void reader.collect(), 1000);
  const handler = createDashboardHandler(collector);
  const server = createServer(handler);
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  const streams: ClientRequest[] = Array.from({ length: clients }, () =>
    get(`http://127.0.0.1:${port}/events`, response => response.resume())
  );
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  await sleep(SECONDS * 1000);
  delay.disable();
  const rssDuring = process.memoryUsage().rss;
  for (const stream of streams) stream.destroy();
  clearInterval(load);
  clearInterval(exports);
  handler.close();
  server.closeAllConnections();
  await new Promise(done => server.close(done));
  const after = memory(); // while the collector still holds its breakers
  collector.dispose();
  return {
    attribute: value ? `${(value.length / 2 ** 20).toFixed(0)} MiB` : 'none',
    'dashboard clients': String(clients),
    'heap after GC, MB': `${mb(before.heap)} → ${mb(after.heap)}`,
    'RSS, MB': `${mb(before.rss)} → ${mb(rssDuring)}`,
    'longest stall, ms': (delay.max / 1e6).toFixed(1),
  };
}

async function main(): Promise<void> {
  const rows: Record<string, string>[] = [];
  for (const clients of [0, 4])
    for (const value of ['', 'v'.repeat(2 ** 20)])
      rows.push(await attributes(value, clients));
  table(rows);
  const registration = duplicates(); // last: 10,000 breakers leave the RSS high
  table(registration);
  writeResults('hostile', { seconds: SECONDS, registration, attributes: rows });
}

void main();

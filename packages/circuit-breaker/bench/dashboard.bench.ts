/**
 * What the live dashboard's stream costs: 30 breakers with traffic, one
 * collector, the dashboard handler on a local server, then 0, 1 and 5
 * clients reading the Server-Sent Events for a while each. Reports bytes
 * per second per client, the process's CPU per second beside the same
 * workload without clients, and the longest event-loop delay meanwhile
 * (frames are built a few breakers at a time).
 *
 *   npm run bench:dashboard        (from the repository root)
 *
 * A script, not a test. Writes bench-results/dashboard.json.
 */
import { createServer, get } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { printTable, writeResults } from '@datapunk/bench-kit';
import { CallOutcome, CircuitBreakerMetrics } from '../src';
import { createDashboardHandler } from '../src/dashboard';
import { seededRandom } from '../test/util';

const BREAKERS = 30;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);

const sleep = (millis: number) =>
  new Promise(resolve => setTimeout(resolve, millis));

async function main(): Promise<void> {
  const collector = new CircuitBreakerMetrics({
    meterProvider: new MeterProvider(),
  });
  const recorders = Array.from({ length: BREAKERS }, (_, i) =>
    collector.register(`service-${i + 1}`)
  );
  const random = seededRandom(9);
  const load = setInterval(() => {
    for (const recorder of recorders)
      recorder.recordCall(
        random() < 0.02 ? CallOutcome.FAILURE : CallOutcome.SUCCESS,
        10 + 40 * random()
      );
  }, 10); // ~100 calls/s per breaker
  const handler = createDashboardHandler(collector);
  const server = createServer(handler);
  await new Promise<void>(done => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;

  const rows: Record<string, string | number>[] = [];
  let baseline = 0;
  for (const clients of [0, 1, 5]) {
    const received = new Array<number>(clients).fill(0);
    const requests = received.map((_, i) =>
      get(`http://127.0.0.1:${port}/events`, response =>
        response.on('data', (chunk: Buffer) => (received[i] += chunk.length))
      )
    );
    await sleep(3000); // connected, first history sent
    received.fill(0);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const cpu = process.cpuUsage();
    await sleep(SECONDS * 1000);
    const used = process.cpuUsage(cpu);
    delay.disable();
    for (const request of requests) request.destroy();
    const cpuMillisPerSecond = (used.user + used.system) / 1000 / SECONDS;
    if (clients === 0) baseline = cpuMillisPerSecond;
    const bytesPerSecond =
      clients === 0
        ? 0
        : received.reduce((a, b) => a + b, 0) / clients / SECONDS;
    rows.push({
      clients,
      'bytes/s per client': Math.round(bytesPerSecond),
      'process CPU ms/s': +cpuMillisPerSecond.toFixed(1),
      'CPU ms/s over 0 clients': +(cpuMillisPerSecond - baseline).toFixed(1),
      'longest loop delay ms': +(delay.max / 1e6).toFixed(1),
    });
  }
  clearInterval(load);
  handler.close();
  server.close();
  collector.dispose();
  console.log(`dashboard stream, ${BREAKERS} breakers, ${SECONDS} s per row\n`);
  printTable(
    Object.keys(rows[0]),
    rows.map(row => Object.values(row).map(String))
  );
  writeResults('dashboard', { breakers: BREAKERS, seconds: SECONDS, rows });
}

void main();

/**
 * The cost of instrumenting breakers, in one process: opossum fire() and
 * cockatiel execute() with and without this package, and the bucket-close
 * cost (analysis and instruments) for 10 / 100 / 1000 breakers.
 *
 *   npm run bench:breaker         (from the repository root)
 *
 * A script, not a test: compare the ratios. Writes bench-results/breaker.json.
 */
import { context, metrics as metricsApi } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AlwaysOnSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import type { MeterProvider as MeterProviderApi } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import * as cockatiel from 'cockatiel';
import {
  median,
  printTable,
  retainedBytes,
  writeResults,
} from '@datapunk/bench-kit';
import {
  CallOutcome,
  CircuitBreakerMetrics,
  instrumentCockatiel,
  instrumentOpossum,
} from '../src';
import type { OpossumLike } from '../src';
import { fakeTime } from '../test/util';

const ROUND_MILLIS = 2100;
const ROUNDS = 7;
const BREAKER_COUNTS = [10, 100, 1000];
const CALLS_PER_BUCKET = 50;
const SECONDS = 90;

class SilentReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/* eslint-disable @typescript-eslint/no-require-imports -- opossum ships no types */
const Opossum = require('opossum') as new (
  action: (...args: unknown[]) => Promise<unknown>,
  options?: Record<string, unknown>
) => OpossumLike & { fire(): Promise<unknown>; shutdown(): void };
/* eslint-enable @typescript-eslint/no-require-imports */

/** What the protected call does: nothing, or one turn of the event loop (a stand-in for I/O). */
const ACTIONS: Record<string, () => Promise<unknown>> = {
  'empty action': async () => 1,
  'one event-loop hop': () => new Promise(resolve => setImmediate(resolve)),
};

interface Contender {
  name: string;
  run(): Promise<number>;
  close(): void;
}

/**
 * ns per call of `call`, awaited one after another for at least ROUND_MILLIS
 * so that each round takes its share of the collector's 1 s ticks (where the
 * duration histogram, if on, is fed).
 */
async function time(call: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  const end = start + BigInt(ROUND_MILLIS) * 1_000_000n;
  let calls = 0;
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 1000; i++) await call();
    calls += 1000;
  }
  return Number(process.hrtime.bigint() - start) / calls;
}

function opossum(
  action: () => Promise<unknown>,
  collector?: CircuitBreakerMetrics
): Contender {
  const breaker = new Opossum(action, { name: 'bench' });
  if (collector) instrumentOpossum(breaker, { collector });
  return {
    name: '',
    run: () => time(() => breaker.fire() as Promise<unknown>),
    close: () => breaker.shutdown(),
  };
}

/** With `listen` alone, no-op listeners: cockatiel times calls only when someone listens. */
function cockatielPolicy(
  action: () => Promise<unknown>,
  collector?: CircuitBreakerMetrics,
  countRejections = false,
  listen = false
): Contender {
  const policy = cockatiel.circuitBreaker(cockatiel.handleAll, {
    halfOpenAfter: 10_000,
    breaker: new cockatiel.ConsecutiveBreaker(5),
  });
  if (listen) {
    policy.onSuccess(() => undefined);
    policy.onFailure(() => undefined);
  }
  const recorder = collector
    ? instrumentCockatiel(policy, {
        collector,
        name: 'bench',
        countRejections,
      })
    : undefined;
  return {
    name: '',
    run: () => time(() => policy.execute(action)),
    close: () => recorder?.dispose(),
  };
}

interface OverheadRow {
  library: string;
  action: string;
  variant: string;
  nsPerCall: number;
  overhead: number;
  /** (slowest − fastest round) / median: how far apart rounds of the same variant land. */
  spread: number;
}

/** Plain and instrumented side by side, rounds interleaved, each its own breaker. */
async function overhead(): Promise<OverheadRow[]> {
  const provider = new MeterProvider({ readers: [new SilentReader()] });
  const collector = new CircuitBreakerMetrics({ meterProvider: provider });
  const withDurations = new CircuitBreakerMetrics({
    meterProvider: provider,
    durationHistogram: true,
  });
  const rows: OverheadRow[] = [];
  for (const [action, fn] of Object.entries(ACTIONS)) {
    const groups: [string, [string, Contender][]][] = [
      [
        'opossum 10 fire()',
        [
          ['plain', opossum(fn)],
          ['instrumented', opossum(fn, collector)],
          ['instrumented + duration histogram', opossum(fn, withDurations)],
        ],
      ],
      [
        'cockatiel 4 execute()',
        [
          ['plain', cockatielPolicy(fn)],
          [
            "no-op listeners (cockatiel's own timing)",
            cockatielPolicy(fn, undefined, false, true),
          ],
          ['instrumented', cockatielPolicy(fn, collector)],
          [
            'instrumented + countRejections',
            cockatielPolicy(fn, collector, true),
          ],
        ],
      ],
    ];
    for (const [library, contenders] of groups) {
      const times = contenders.map(() => [] as number[]);
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < contenders.length; k++) {
          const i = (k + round) % contenders.length;
          times[i].push(await contenders[i][1].run());
        }
      }
      const plain = median(times[0]);
      contenders.forEach(([variant, contender], i) => {
        const ns = median(times[i]);
        rows.push({
          library,
          action,
          variant,
          nsPerCall: ns,
          overhead: ns / plain - 1,
          spread: (Math.max(...times[i]) - Math.min(...times[i])) / ns,
        });
        contender.close();
      });
    }
  }
  collector.dispose();
  withDurations.dispose();
  await provider.shutdown();
  return rows;
}

/**
 * ns per call of our own work, without a breaker library: what an adapter's
 * listeners do for one call through the generic API (call start, outcome
 * with latency). Synchronous, so no bucket closes in between. `latency`
 * gives call i's; `around` runs the loop (e.g. inside a span).
 */
function recordPath(
  latency: (i: number) => number = i => 10 + (i & 31),
  around: (loop: () => void) => void = loop => loop()
): { ns: number; heapBytesPerCall: number } {
  const collector = new CircuitBreakerMetrics({
    meterProvider: metricsApi.getMeterProvider(),
  });
  const breaker = collector.register('bench');
  const calls = 5_000_000;
  const rounds: number[] = [];
  const heap: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    around(() => {
      for (let i = 0; i < calls; i++) {
        breaker.recordCallStart();
        breaker.recordCall(CallOutcome.SUCCESS, latency(i));
      }
    });
    rounds.push(Number(process.hrtime.bigint() - start) / calls);
    heap.push((process.memoryUsage().heapUsed - before) / calls);
  }
  collector.dispose();
  return { ns: median(rounds), heapBytesPerCall: median(heap) };
}

interface TracedRow {
  variant: string;
  nsPerCall: number;
  /** Heap grown per call over a round (0 when nothing is made per call). */
  heapBytesPerCall: number;
}

/**
 * The record path as the example calls see it: without a context manager,
 * with one and no span, inside a sampled span (latencies as above: a bucket
 * holds its 3 slowest early, later calls cost a comparison), and the worst
 * case, every call slower than all before it (each one reads the span).
 */
function tracedRecordPath(): TracedRow[] {
  const rows: TracedRow[] = [];
  const row = (variant: string, result: ReturnType<typeof recordPath>) =>
    rows.push({
      variant,
      nsPerCall: result.ns,
      heapBytesPerCall: result.heapBytesPerCall,
    });
  row('no context manager', recordPath());
  context.setGlobalContextManager(
    new AsyncLocalStorageContextManager().enable()
  );
  const tracer = new TracerProvider({
    sampler: new AlwaysOnSampler(),
  }).getTracer('bench');
  const inSpan = (loop: () => void) =>
    tracer.startActiveSpan('bench', span => {
      loop();
      span.end();
    });
  row('context manager, no span', recordPath());
  row('in a sampled span', recordPath(undefined, inSpan));
  row(
    'in a sampled span, every call the slowest yet',
    recordPath(i => 10 + i, inSpan)
  );
  context.disable();
  return rows;
}

interface CloseRow {
  breakers: number;
  meter: string;
  microsPerBreakerSecond: number;
  /** Heap the collector holds per breaker with full windows (the SDK's series included with it). */
  bytesPerBreaker: number;
}

/** Latencies spread log-uniformly over 1 ms – 1 s, the same sequence every run. */
function latencies(count: number): Float64Array {
  const values = new Float64Array(count);
  let state = 1;
  for (let i = 0; i < count; i++) {
    state = (state * 48271) % 2147483647;
    values[i] = Math.exp((state / 2147483647) * Math.log(1000));
  }
  return values;
}
const LATENCIES = latencies(CALLS_PER_BUCKET + SECONDS);

/**
 * The shared tick's cost: closing one bucket of every breaker (analysis,
 * events, instruments), each with CALLS_PER_BUCKET calls a second, on fake
 * time; with no-op instruments (the analysis) and with a real SDK.
 */
async function bucketClose(): Promise<CloseRow[]> {
  const rows: CloseRow[] = [];
  for (const [meter, provider] of [
    ['no-op meter (analysis only)', metricsApi.getMeterProvider()],
    ['SDK MeterProvider', new MeterProvider({ readers: [new SilentReader()] })],
  ] as [string, MeterProviderApi][]) {
    for (const durationHistogram of [false, true]) {
      for (const count of BREAKER_COUNTS) {
        const before = retainedBytes();
        const clock = fakeTime();
        const collector = new CircuitBreakerMetrics({
          meterProvider: provider,
          durationHistogram,
        });
        const breakers = Array.from({ length: count }, (_, i) =>
          collector.register(`breaker-${i}`)
        );
        const ticks: number[] = [];
        for (let second = 0; second < SECONDS; second++) {
          for (const breaker of breakers) {
            for (let c = 0; c < CALLS_PER_BUCKET; c++)
              breaker.recordCall(CallOutcome.SUCCESS, LATENCIES[c + second]);
          }
          const start = process.hrtime.bigint();
          clock.tick(1000);
          // Past the first minute the windows are full: steady state.
          if (second >= 60)
            ticks.push(Number(process.hrtime.bigint() - start) / 1000);
        }
        rows.push({
          breakers: count,
          meter: durationHistogram ? `${meter} + duration histogram` : meter,
          microsPerBreakerSecond: median(ticks) / count,
          bytesPerBreaker: (retainedBytes() - before) / count,
        });
        collector.dispose();
        clock.restore();
      }
    }
  }
  return rows;
}

async function main(): Promise<void> {
  console.log(
    `Node ${process.version}; sequential calls for ${ROUND_MILLIS} ms per round, median of ${ROUNDS} interleaved rounds\n`
  );
  const calls = await overhead();
  printTable(
    ['library', 'action', 'variant', 'ns/call', 'overhead', 'round spread'],
    calls.map(r => [
      r.library,
      r.action,
      r.variant,
      r.nsPerCall.toFixed(0),
      r.variant === 'plain' ? '–' : `${(r.overhead * 100).toFixed(1)}%`,
      `${(r.spread * 100).toFixed(1)}%`,
    ])
  );
  const traced = tracedRecordPath();
  const ownNs = traced[0].nsPerCall;
  console.log(
    `\nour work per call alone (recordCallStart + recordCall with a latency), and with tracing (example calls):\n`
  );
  printTable(
    ['variant', 'ns/call', 'heap bytes/call'],
    traced.map(r => [
      r.variant,
      r.nsPerCall.toFixed(1),
      r.heapBytesPerCall.toFixed(2),
    ])
  );
  const closes = await bucketClose();
  console.log(
    `\nbucket close, ${CALLS_PER_BUCKET} calls per breaker per second with latencies log-uniform over 1 ms–1 s, steady state (median of 30 ticks):\n`
  );
  printTable(
    ['breakers', 'meter', 'µs per breaker per second', 'KB per breaker'],
    closes.map(r => [
      String(r.breakers),
      r.meter,
      r.microsPerBreakerSecond.toFixed(1),
      (r.bytesPerBreaker / 1024).toFixed(1),
    ])
  );
  writeResults('breaker', { calls, ownNsPerCall: ownNs, traced, closes });
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});

/**
 * The main job (`npm start`): a service calling a flaky downstream through
 * a real opossum breaker (payments) and a real cockatiel policy
 * (inventory), both instrumented by @datapunk/otel-circuit-breaker, with the
 * retention meter provider of @datapunk/otel-metrics keeping every metric. A
 * scripted fault schedule slows the downstream, fails it and makes it flap;
 * a live view prints each second and a final report sets what the analyzer
 * found beside what was injected.
 *
 *   npm start -- --duration 60 --seed 1 [--state .cache/demo/metrics.json]
 *                [--dashboard-port 9470 | --no-dashboard]
 *                [--trace-url 'http://localhost:16686/trace/{traceId}']
 *
 * Every call runs in a sampled span (W3C trace context on the wire to the
 * downstream): the metrics carry exemplars, and the breakers' episodes
 * and dashboard tiles example traces, linked through --trace-url.
 *
 * The live breaker dashboard is served on localhost for the run (its URL
 * is printed); the terminal view stays.
 *
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, metrics are exported there over
 * OTLP/HTTP as well; either way they are persisted to the state file.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { context, propagation, SpanStatusCode } from '@opentelemetry/api';
import { circuitBreaker, handleAll, SamplingBreaker } from 'cockatiel';
import {
  CircuitBreakerMetrics,
  instrumentCockatiel,
  instrumentOpossum,
} from '@datapunk/otel-circuit-breaker';
import type { OpossumLike } from '@datapunk/otel-circuit-breaker';
import { setupMetrics } from '@datapunk/otel-metrics';
import { Detections } from './Detections';
import { Downstream } from './Downstream';
import { FaultSchedule, WARM_UP_SECONDS } from './FaultSchedule';
import { finalReport } from './finalReport';
import { LiveView } from './LiveView';
import { serveDashboard } from './serveDashboard';
import { startTracing } from './tracing';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- opossum ships no types
const CircuitBreaker = require('opossum') as new (
  action: () => Promise<unknown>,
  options: object
) => OpossumLike & { fire(): Promise<unknown>; shutdown(): void };

/** Calls per second through each breaker. */
const CALLS_PER_SECOND = 20;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    seed: { type: 'string', default: '1' },
    state: { type: 'string', default: '.cache/demo/metrics.json' },
    dashboard: { type: 'boolean', default: true },
    'dashboard-port': { type: 'string', default: '9470' },
    // Where the dashboard's example traces link to (Jaeger's UI by default).
    'trace-url': {
      type: 'string',
      default: 'http://localhost:16686/trace/{traceId}',
    },
  },
  allowNegative: true,
});
const durationSeconds = Number(args.duration);
const seed = Number(args.seed);
if (
  !Number.isInteger(durationSeconds) ||
  durationSeconds < 2 * WARM_UP_SECONDS
) {
  throw new RangeError(
    `--duration must be an integer number of seconds ≥ ${2 * WARM_UP_SECONDS}, got '${args.duration}'`
  );
}
const dashboardPort = Number(args['dashboard-port']);
if (
  !Number.isInteger(dashboardPort) ||
  dashboardPort < 0 ||
  dashboardPort > 65535
) {
  throw new RangeError(
    `--dashboard-port must be a port number (0 for any), got '${args['dashboard-port']}'`
  );
}
if (!Number.isInteger(seed) || seed < 1 || seed >= 2 ** 31 - 1) {
  throw new RangeError(
    `--seed must be an integer in [1, 2³¹ − 2], got '${args.seed}'`
  );
}

/** Park–Miller: the same seed gives the same draws. */
function seededRandom(start: number): () => number {
  let state = start;
  return () => {
    state = (state * 48271) % 2147483647;
    return (state - 1) / 2147483646;
  };
}

async function main(): Promise<void> {
  const tracing = startTracing();
  /** Runs a call in a span of its own, marked as failed when it fails. */
  const traced = <T>(name: string, call: () => Promise<T>): Promise<T> =>
    tracing.tracer.startActiveSpan(name, span =>
      call().then(
        value => {
          span.end();
          return value;
        },
        (error: unknown) => {
          span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
          throw error;
        }
      )
    );
  const statePath = resolve(args.state);
  mkdirSync(dirname(statePath), { recursive: true });
  const endpoint =
    process.env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ||
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const telemetry = setupMetrics({
    serviceName: 'datapunk-demo',
    collectionIntervalMillis: 1000,
    exportIntervalMillis: 5000,
    exportTimeoutMillis: 5000,
    tiers: [
      { resolutionMillis: 1000, durationMillis: 120_000 },
      { resolutionMillis: 10_000, durationMillis: 3_600_000 },
    ],
    persistence: { path: statePath, intervalMillis: 5000 },
  });
  const schedule = new FaultSchedule(durationSeconds);
  const downstream = await Downstream.start(
    schedule,
    seededRandom(seed),
    telemetry.instruments
  );
  const startedMillis = Date.now();

  const breakers = new CircuitBreakerMetrics({
    meterProvider: telemetry.meterProvider,
    durationHistogram: true, // native histograms of call durations, for the dashboard
  });
  const detections = new Detections(breakers, startedMillis);
  const call = async (route: string) => {
    const headers: Record<string, string> = {};
    propagation.inject(context.active(), headers);
    const response = await fetch(`${downstream.url}/${route}`, {
      headers,
      signal: AbortSignal.timeout(2000),
    });
    await response.text();
    if (!response.ok) throw new Error(`${route}: HTTP ${response.status}`);
  };
  const payments = new CircuitBreaker(() => call('payments'), {
    name: 'payments',
    timeout: 1000,
    errorThresholdPercentage: 50,
    volumeThreshold: 10,
    resetTimeout: 1000,
    rollingCountTimeout: 2000,
  });
  instrumentOpossum(payments, { collector: breakers });
  const inventory = circuitBreaker(handleAll, {
    halfOpenAfter: 2000,
    breaker: new SamplingBreaker({
      threshold: 0.4,
      duration: 5000,
      minimumRps: 5,
    }),
  });
  instrumentCockatiel(inventory, {
    collector: breakers,
    name: 'inventory',
    countRejections: true,
  });

  console.log(
    `Datapunk OTel demo: ${durationSeconds} s, seed ${seed}, downstream at ${downstream.url}`
  );
  console.log(
    endpoint
      ? `exporting to ${endpoint} over OTLP/HTTP; state kept in ${statePath}`
      : `no OTEL_EXPORTER_OTLP_ENDPOINT: metrics stay local, state kept in ${statePath}`
  );
  const dashboard = args.dashboard
    ? await serveDashboard(breakers, dashboardPort, args['trace-url'])
    : undefined;
  if (dashboard)
    console.log(
      `live dashboard: ${dashboard.url} (for the run; --no-dashboard to skip)`
    );
  console.log(
    `faults: ${schedule.faults.map(f => `${f.description} at ${f.fromSeconds}–${f.toSeconds} s`).join('; ')}\n`
  );

  const pending = new Set<Promise<unknown>>();
  const track = (promise: Promise<unknown>) => {
    // Failures, timeouts and rejections are what the breakers count.
    const settled = promise.catch(() => undefined);
    pending.add(settled);
    void settled.finally(() => pending.delete(settled));
  };
  const load = setInterval(() => {
    track(traced('payments', () => payments.fire() as Promise<unknown>));
    track(
      traced('inventory', () => inventory.execute(() => call('inventory')))
    );
  }, 1000 / CALLS_PER_SECOND);

  const run = {
    schedule,
    breakers,
    metrics: telemetry.meterProvider,
    detections,
    startedMillis,
  };
  const view = new LiveView(run);
  let second = 0;
  await new Promise<void>(done => {
    const tick = setInterval(() => {
      second++;
      detections.pollTrips();
      detections.pollHealth(second);
      view.render(second);
      if (second >= durationSeconds) {
        clearInterval(tick);
        done();
      }
    }, 1000);
  });

  clearInterval(load);
  await Promise.all(pending);
  await telemetry.meterProvider.forceFlush();
  detections.pollTrips();
  console.log(finalReport(run));
  await dashboard?.close();
  await telemetry.shutdown();
  payments.shutdown();
  breakers.dispose();
  await downstream.close();
  await tracing.shutdown();
  console.log(
    `\nState persisted to ${statePath}${endpoint ? `; exported to ${endpoint}` : ''}.`
  );
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});

import {
  circuitBreaker,
  ConsecutiveBreaker,
  handleAll,
  isBrokenCircuitError,
} from 'cockatiel';
import type { MeterProvider } from '@opentelemetry/api';
import {
  CallOutcome,
  CircuitBreakerMetrics,
  instrumentCockatiel,
  instrumentOpossum,
} from '@datapunk/otel-circuit-breaker';
import type { OpossumLike } from '@datapunk/otel-circuit-breaker';
import { setupMetrics } from '@datapunk/otel-metrics';
import { OTLPSummaryMetricExporter } from '@datapunk/otel-metrics/otlp';
import type { OTLPHttpProtocol } from '@datapunk/otel-metrics/otlp';
import { RunningStats } from '@datapunk/otel-sketch';
import { seededRandom, sleep } from '../util';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- opossum ships no types
const CircuitBreaker = require('opossum') as new (
  action: () => Promise<unknown>,
  options: object
) => OpossumLike & { fire(): Promise<unknown>; shutdown(): void };

export const TENANTS = 24;
export const MAX_SERIES_PER_METRIC = 16;
export const SERIES_TTL_MILLIS = 1000;
export const EXPORT_INTERVAL_MILLIS = 200;

/** What the program did, to compare with what the Collector received. */
export interface WorkloadResult {
  service: string;
  /** route → total added to e2e.requests. */
  requests: Map<string, number>;
  /** tenant → total added to e2e.tenant.requests (24 tenants, 16 series allowed). */
  tenants: Map<string, number>;
  /** Every value recorded into e2e.latency (ms) and e2e.payload (bytes). */
  latencies: number[];
  payloads: number[];
  /** Timer e2e.job.duration, in seconds. */
  jobs: RunningStats;
  lastQueueDepth: number;
  /** breaker → outcome → calls, as the callers saw them settle. */
  outcomes: Map<string, Map<CallOutcome, number>>;
  /** Anomaly kinds the breaker collector raised, by breaker. */
  anomalies: Map<string, Set<string>>;
}

/**
 * A program using all three packages, exporting to `url` every 200 ms:
 * the five metric types through setupMetrics(), a metric with more
 * attribute sets than its series limit, a series left to expire, and a real
 * opossum breaker (fast, then slow: a latency anomaly) and a real cockatiel
 * policy (healthy, then failing until it opens) instrumented by
 * CircuitBreakerMetrics on the same MeterProvider. About 4 s.
 */
export async function runWorkload(
  url: string,
  protocol: OTLPHttpProtocol
): Promise<WorkloadResult> {
  const random = seededRandom(20261123);
  const result: WorkloadResult = {
    service: `datapunk-e2e-${protocol.replace('/', '-')}`,
    requests: new Map(),
    tenants: new Map(),
    latencies: [],
    payloads: [],
    jobs: new RunningStats(),
    lastQueueDepth: NaN,
    outcomes: new Map(),
    anomalies: new Map(),
  };
  const setup = setupMetrics({
    serviceName: result.service,
    resourceAttributes: { 'deployment.environment.name': 'e2e' },
    global: false,
    exporter: new OTLPSummaryMetricExporter({ url, protocol }),
    collectionIntervalMillis: 100,
    exportIntervalMillis: EXPORT_INTERVAL_MILLIS,
    exportTimeoutMillis: EXPORT_INTERVAL_MILLIS,
    seriesTtlMillis: SERIES_TTL_MILLIS,
    limits: { maxSeriesPerMetric: MAX_SERIES_PER_METRIC },
  });
  const { instruments } = setup;
  const requests = instruments.counter('e2e.requests', { unit: '{request}' });
  const tenantRequests = instruments.counter('e2e.tenant.requests', {
    unit: '{request}',
  });
  const ephemeral = instruments.counter('e2e.ephemeral', { unit: '{event}' });
  const latency = instruments.histogram('e2e.latency', { unit: 'ms' });
  const payload = instruments.summary('e2e.payload', { unit: 'By' });
  const job = instruments.timer('e2e.job.duration');
  const queueDepth = instruments.gauge('e2e.queue.depth', { unit: '{item}' });

  const add = <K>(map: Map<K, number>, k: K, n: number) =>
    map.set(k, (map.get(k) ?? 0) + n);
  // Recorded once, at the start: expired (TTL 1 s) long before the end.
  ephemeral.add(1, { job: 'once' });

  const breakers = breakerScenario(setup.meterProvider, result);
  const started = Date.now();
  for (let tick = 0; Date.now() - started < 3500; tick++) {
    for (let i = 0; i < 20; i++) {
      const route = random() < 0.7 ? '/catalog' : '/checkout';
      const n = 1 + Math.floor(random() * 5);
      requests.add(n, { route });
      add(result.requests, route, n);
      const millis = Math.exp(random() * 6 - 1);
      latency.record(millis, { route: '/catalog' });
      result.latencies.push(millis);
      const bytes = Math.floor(random() * 64_000);
      payload.observe(bytes);
      result.payloads.push(bytes);
    }
    const seconds = 0.01 + random() / 10;
    job.record(seconds);
    result.jobs.record(seconds);
    result.lastQueueDepth = tick % 17;
    queueDepth.set(result.lastQueueDepth);
    const tenant = `tenant-${tick % TENANTS}`;
    tenantRequests.add(tick + 1, { tenant });
    add(result.tenants, tenant, tick + 1);
    ephemeral.add(1, { job: 'steady' });
    breakers.load(Date.now() - started);
    await sleep(10);
  }
  await breakers.drain();
  await setup.shutdown();
  breakers.dispose();
  return result;
}

/**
 * opossum 'e2e-opossum': 1 ms calls, 30 ms from 2 s on (a latency shift);
 * cockatiel 'e2e-cockatiel': three calls a tick; succeeds, fails from 2 s on, opens after 3
 * failures in a row and stays open (rejections counted). 100 ms buckets
 * so the analyzer has a baseline within the run.
 */
function breakerScenario(
  meterProvider: MeterProvider,
  result: WorkloadResult
): { load(elapsed: number): void; drain(): Promise<void>; dispose(): void } {
  const collector = new CircuitBreakerMetrics({
    meterProvider,
    bucketMillis: 100,
    windowMillis: 3000,
    trendWindowMillis: 3000,
    minCallsPerBucket: 3,
  });
  collector.onAnomaly(e => {
    const kinds = result.anomalies.get(e.breaker) ?? new Set();
    result.anomalies.set(e.breaker, kinds.add(e.kind));
  });
  let elapsedMillis = 0;
  const opossum = new CircuitBreaker(
    () => sleep(elapsedMillis >= 2000 ? 30 : 1),
    { name: 'e2e-opossum', timeout: 1000, resetTimeout: 10_000 }
  );
  instrumentOpossum(opossum, { collector });
  const cockatiel = circuitBreaker(handleAll, {
    halfOpenAfter: 10_000,
    breaker: new ConsecutiveBreaker(3),
  });
  instrumentCockatiel(cockatiel, {
    collector,
    name: 'e2e-cockatiel',
    countRejections: true,
  });

  const pending = new Set<Promise<unknown>>();
  const settle = (breaker: string, call: Promise<unknown>) => {
    const outcomes = result.outcomes.get(breaker) ?? new Map();
    result.outcomes.set(breaker, outcomes);
    const count = (outcome: CallOutcome) =>
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const settled = call.then(
      () => count(CallOutcome.SUCCESS),
      (error: unknown) =>
        count(
          isBrokenCircuitError(error) ||
            (error as { code?: string }).code === 'EOPENBREAKER'
            ? CallOutcome.REJECTED
            : CallOutcome.FAILURE
        )
    );
    pending.add(settled);
    void settled.then(() => pending.delete(settled));
  };
  return {
    load(elapsed) {
      elapsedMillis = elapsed;
      settle('e2e-opossum', opossum.fire() as Promise<unknown>);
      // Three calls a tick: the error-rate baseline needs 200 calls before
      // the fault at 2 s, more than one call per 10 ms tick gives.
      for (let i = 0; i < 3; i++)
        settle(
          'e2e-cockatiel',
          cockatiel.execute(async () => {
            if (elapsed >= 2000) throw new Error('downstream failed');
          })
        );
    },
    async drain() {
      await Promise.all(pending);
      // Two buckets: every call is in a closed bucket, and so exported.
      await sleep(250);
    },
    dispose() {
      opossum.shutdown();
      collector.dispose();
    },
  };
}

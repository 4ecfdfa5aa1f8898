/**
 * A real opossum breaker and a real cockatiel policy in front of a flaky
 * dependency, reported by one CircuitBreakerMetrics: health, anomalies and
 * trip patterns as they happen, then each breaker's snapshot.
 *
 *   npx ts-node -T -P examples/tsconfig.json examples/breaker-analyzer.ts
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';
import {
  CircuitBreakerMetrics,
  instrumentCockatiel,
  instrumentOpossum,
} from '@datapunk/otel-circuit-breaker';
import type { OpossumLike } from '@datapunk/otel-circuit-breaker';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- opossum ships no types
const CircuitBreaker = require('opossum') as new (
  action: () => Promise<unknown>,
  options: object
) => Omit<OpossumLike, 'fire'> & {
  fire(): Promise<unknown>;
  shutdown(): void;
};

const SECONDS = 40;
const started = Date.now();
const at = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;

/**
 * A dependency: 15 ms normally, 60 ms from 20 s (after the detectors' warm-up
 * of 10 buckets and a baseline to compare with), failing half the time from 30 s.
 */
async function dependency(): Promise<string> {
  const elapsed = (Date.now() - started) / 1000;
  await new Promise(resolve => setTimeout(resolve, elapsed > 20 ? 60 : 15));
  if (elapsed > 30 && Math.random() < 0.5) throw new Error('dependency failed');
  return 'ok';
}

const collector = new CircuitBreakerMetrics({
  meterProvider: new MeterProvider(),
  minCallsPerBucket: 3,
});
collector.onAnomaly(e =>
  console.log(
    `${at()}  anomaly  ${e.breaker}: ${e.kind} ${e.direction ?? ''} (score ${e.score.toFixed(1)})`
  )
);
collector.onHealthChange(e =>
  console.log(
    `${at()}  health   ${e.breaker}: ${e.previous} → ${e.current} ${e.reasons.join('; ')}`
  )
);
collector.onPattern(e =>
  console.log(
    `${at()}  pattern  ${e.breaker}: ${e.pattern} ${e.active ? 'started' : 'ended'}`
  )
);

const opossum = new CircuitBreaker(dependency, {
  name: 'payments',
  timeout: 500,
  resetTimeout: 2000,
  errorThresholdPercentage: 40,
});
instrumentOpossum(opossum as OpossumLike, { collector });
const cockatiel = circuitBreaker(handleAll, {
  halfOpenAfter: 2000,
  breaker: new ConsecutiveBreaker(4),
});
instrumentCockatiel(cockatiel, {
  collector,
  name: 'inventory',
  countRejections: true,
});

const load = setInterval(() => {
  for (let i = 0; i < 5; i++) {
    opossum.fire().catch(() => undefined);
    cockatiel.execute(dependency).catch(() => undefined);
  }
}, 50);

setTimeout(() => {
  clearInterval(load);
  for (const name of collector.breakers) {
    const s = collector.getSnapshot(name)!;
    const { calls, failureRate, latencyMillis: latency } = s.window;
    console.log(
      `\n${name}: ${s.state}, ${s.health.status} (${s.health.reasons.join('; ') || 'no reasons'})`
    );
    console.log(
      `  last 60 s: ${JSON.stringify(calls)}, failure rate ${(failureRate * 100).toFixed(1)}%`
    );
    console.log(
      `  latency of successful calls: p50 ${latency.percentiles.p50.toFixed(1)} ms, p99 ${latency.percentiles.p99.toFixed(1)} ms`
    );
    console.log(
      `  trips in the last hour: ${s.trips.tripsPerHour}, latency trend ${s.trends.latency.direction}`
    );
  }
  opossum.shutdown();
  collector.dispose();
}, SECONDS * 1000);

/**
 * How often the analyzer cries wolf: simulated hours of stationary traffic
 * (seeded; lognormal latencies, random errors) at the default options, for
 * a few traffic profiles, counting anomaly events and health changes that
 * name a trend. On fake time, so 40 hours take seconds.
 *
 *   npm run bench:breaker         (from the repository root)
 *
 * Writes bench-results/false-alarms.json.
 */
import { metrics as metricsApi } from '@opentelemetry/api';
import { printTable, writeResults } from '@datapunk/bench-kit';
import { CallOutcome, CircuitBreakerMetrics } from '../src';
import { fakeTime, seededRandom } from '../test/util';

const HOURS = 40;

interface Profile {
  name: string;
  callsPerSecond: number;
  /** σ of log latency around a 20 ms median. */
  spread: number;
  errorRate: number;
}

const PROFILES: Profile[] = [
  { name: 'steady', callsPerSecond: 50, spread: 0.3, errorRate: 0.01 },
  { name: 'sparse', callsPerSecond: 5, spread: 0.3, errorRate: 0.01 },
  { name: 'busy', callsPerSecond: 500, spread: 0.3, errorRate: 0.01 },
  { name: 'heavy tail', callsPerSecond: 50, spread: 0.8, errorRate: 0.01 },
  { name: 'error-prone', callsPerSecond: 50, spread: 0.3, errorRate: 0.05 },
  { name: 'all of it', callsPerSecond: 10, spread: 0.6, errorRate: 0.1 },
];

interface Row {
  profile: string;
  anomaliesPerHour: number;
  byKind: Record<string, number>;
  trendDegradationsPerHour: number;
}

function simulate(profile: Profile): Row {
  const byKind: Record<string, number> = {};
  let anomalies = 0;
  let trendDegradations = 0;
  for (let hour = 0; hour < HOURS; hour++) {
    const clock = fakeTime();
    const collector = new CircuitBreakerMetrics({
      meterProvider: metricsApi.getMeterProvider(),
    });
    collector.onAnomaly(e => {
      anomalies++;
      byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
    });
    collector.onHealthChange(e => {
      if (e.reasons.some(reason => reason.includes('rising')))
        trendDegradations++;
    });
    const breaker = collector.register('svc');
    const random = seededRandom(1000 + hour);
    for (let second = 0; second < 3600; second++) {
      for (let i = 0; i < profile.callsPerSecond; i++) {
        const z =
          Math.sqrt(-2 * Math.log(1 - random())) *
          Math.cos(2 * Math.PI * random());
        breaker.recordCall(
          random() < profile.errorRate
            ? CallOutcome.FAILURE
            : CallOutcome.SUCCESS,
          20 * Math.exp(profile.spread * z)
        );
      }
      clock.tick(1000);
    }
    collector.dispose();
    clock.restore();
  }
  return {
    profile: profile.name,
    anomaliesPerHour: anomalies / HOURS,
    byKind,
    trendDegradationsPerHour: trendDegradations / HOURS,
  };
}

const rows = PROFILES.map(simulate);
console.log(
  `\nfalse alarms on stationary traffic, ${HOURS} simulated hours per profile, default options:\n`
);
printTable(
  [
    'profile',
    'calls/s',
    'σ(log latency)',
    'error rate',
    'anomalies/h',
    'by kind',
    'trend degradations/h',
  ],
  rows.map((row, i) => [
    row.profile,
    String(PROFILES[i].callsPerSecond),
    String(PROFILES[i].spread),
    String(PROFILES[i].errorRate),
    row.anomaliesPerHour.toFixed(2),
    Object.entries(row.byKind)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(', '),
    row.trendDegradationsPerHour.toFixed(3),
  ])
);
writeResults('false-alarms', { hours: HOURS, profiles: PROFILES, rows });

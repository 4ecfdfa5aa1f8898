/**
 * A service's metrics through setupMetrics(): exported over OTLP when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set, kept locally otherwise; then queried
 * from the provider's retained history, and snapshotted to disk.
 *
 *   npx ts-node -T -P examples/tsconfig.json examples/metrics-retention.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupMetrics } from '@datapunk/otel-metrics';

const SECONDS = 6;
const snapshot = join(
  mkdtempSync(join(tmpdir(), 'datapunk-example-')),
  'metrics.json'
);

const { instruments, meterProvider, shutdown } = setupMetrics({
  serviceName: 'example-shop',
  collectionIntervalMillis: 1000,
  exportIntervalMillis: 5000,
  tiers: [
    { resolutionMillis: 1000, durationMillis: 10_000 },
    { resolutionMillis: 5000, durationMillis: 60_000 },
  ],
  persistence: { path: snapshot, intervalMillis: 5000 },
});
const requests = instruments.counter('http.server.requests', {
  description: 'Requests handled',
});
const duration = instruments.timer('http.server.duration', {
  description: 'Request duration',
});
const active = instruments.gauge('http.server.active', {
  description: 'Requests in progress',
});

let seed = 7;
function random(): number {
  seed = (seed * 48271) % 2147483647;
  return seed / 2147483647;
}

/** 100 requests a second; /checkout is slower and sometimes very slow. */
const traffic = setInterval(() => {
  const route = random() < 0.3 ? '/checkout' : '/catalog';
  const base = route === '/checkout' ? 0.12 : 0.02;
  const seconds = base * Math.exp(random() - 0.5) * (random() < 0.02 ? 10 : 1);
  requests.add(1, { route });
  duration.record(seconds, { route });
  active.set(Math.round(random() * 10));
}, 10);

setTimeout(async () => {
  clearInterval(traffic);
  await meterProvider.forceFlush();
  console.log(
    `${SECONDS} s of traffic, queried from the provider's retained history:\n`
  );
  console.log('route        requests   req/s     p50 ms    p99 ms    max ms');
  for (const route of ['/catalog', '/checkout']) {
    const count = meterProvider.query('http.server.requests', {
      attributes: { route },
    })!;
    const latency = meterProvider.query('http.server.duration', {
      attributes: { route },
    })!;
    const ms = (s: number | undefined) =>
      ((s ?? NaN) * 1000).toFixed(1).padStart(9);
    console.log(
      `${route.padEnd(10)} ${String(count.sum).padStart(10)} ${count.rate!.toFixed(1).padStart(7)} ${ms(latency.median)} ${ms(latency.percentiles!.p99)} ${ms(latency.max)}`
    );
  }
  const gauge = meterProvider.query('http.server.active')!;
  console.log(
    `\nactive requests: mean ${gauge.mean!.toFixed(2)}, max ${gauge.max}, last ${gauge.last}`
  );
  await shutdown();
  console.log(
    `\nsnapshot written to ${snapshot} (restored by the next run with the same path)`
  );
  console.log(
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `exported to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}`
      : 'no OTEL_EXPORTER_OTLP_ENDPOINT: nothing exported, data kept locally'
  );
}, SECONDS * 1000);

import { expect } from 'chai';
import { diag } from '@opentelemetry/api';
import { setupMetrics } from '@datapunk/otel-metrics';
import type { MetricsSetup } from '@datapunk/otel-metrics';
import { Collector } from './Collector';
import { latest } from './otlp';
import { requireCollector } from '../requirements';

const VARIABLES = ['OTEL_METRICS_EXPORTER', 'OTEL_EXPORTER_OTLP_ENDPOINT'];
const VALUES = [0.125, 0.25, 0.5, 2, 8];

describe('end to end: OTEL_METRICS_EXPORTER=otlp,prometheus, a real Collector and the scrape', function () {
  this.timeout(60_000);
  const saved: Record<string, string | undefined> = {};
  let collector: Collector | undefined;
  let setup: MetricsSetup | undefined;

  before(async function () {
    requireCollector(this);
    diag.disable();
    for (const name of VARIABLES) saved[name] = process.env[name];
    collector = await Collector.start();
    process.env.OTEL_METRICS_EXPORTER = 'otlp,prometheus';
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.endpoint;
  });
  after(async () => {
    await setup?.shutdown();
    await collector?.dispose();
    for (const name of VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('sends Summary points to the Collector and serves the same window as a summary with its quantiles', async () => {
    setup = setupMetrics({
      global: false,
      serviceName: 'both-ways',
      prometheus: { host: '127.0.0.1', port: 0 },
    });
    const latency = setup.instruments.histogram('latency', { unit: 's' });
    for (const v of VALUES) latency.record(v);
    const scraped = await (
      await fetch((await setup.prometheus!.url())!)
    ).text();
    await setup.meterProvider.forceFlush();
    await setup.shutdown();
    setup = undefined;
    await collector!.stop();

    const { metric } = latest(
      collector!.requests(),
      'both-ways',
      'latency.window'
    );
    expect(metric.summary, 'OTLP got a Summary').to.not.equal(undefined);
    const [point] = metric.summary!.dataPoints;
    expect(Number(point.count)).to.equal(VALUES.length);
    const otlp = new Map(
      (point.quantileValues ?? []).map(q => [q.quantile ?? 0, q.value ?? 0])
    );
    expect(otlp.get(0)).to.equal(Math.min(...VALUES));
    expect(otlp.get(1)).to.equal(Math.max(...VALUES));

    expect(scraped).to.match(/^# TYPE latency_window_seconds summary$/m);
    const quantile = (q: string) =>
      Number(
        scraped.match(
          new RegExp(
            `^latency_window_seconds\\{.*quantile="${q}"\\} (\\S+)$`,
            'm'
          )
        )?.[1]
      );
    // The scrape shows the quantiles OTLP carries.
    for (const [q, label] of [
      [0, '0.0'],
      [0.5, '0.5'],
      [0.99, '0.99'],
      [1, '1.0'],
    ] as const)
      expect(quantile(label), `quantile ${label}`).to.equal(otlp.get(q));
    expect(scraped).to.match(
      new RegExp(`^latency_window_seconds_count\\{.*\\} ${VALUES.length}$`, 'm')
    );
  });
});

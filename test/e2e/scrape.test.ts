import { expect } from 'chai';
import * as fc from 'fast-check';
import type { Attributes } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import { setupMetrics } from '@datapunk/otel-metrics';
import type { MetricsSetup } from '@datapunk/otel-metrics';
import { freePort } from './Collector';
import { Prometheus, promtool } from './Prometheus';
import { requirePromtool } from '../requirements';
import { sleep } from '../util';

/** Attribute keys that used to make the whole scrape invalid, and values that need escaping. */
const HOSTILE: Attributes = {
  '0': 'zero',
  'a.b': 'dot',
  a_b: 'underscore',
  otel_scope_name: 'mine',
  __name__: 'name',
  le: 'le',
  quantile: 'quantile',
  ключ: 'unicode ✓',
  quote: 'say "hi" \\ back\nslash',
  job: 'mine',
};
const LATENCIES = [0.003, 0.02, 0.02, 0.15, 0.4, 1.2, 7];

/** A scrape endpoint of a workload with hostile attribute keys, on a free port. */
async function hostileWorkload(): Promise<MetricsSetup> {
  const setup = setupMetrics({
    global: false,
    exporter: 'prometheus',
    prometheus: { host: '127.0.0.1', port: await freePort() },
    serviceName: 'scrape-e2e',
  });
  const { instruments } = setup;
  instruments.counter('e2e.requests').add(3, HOSTILE);
  const latency = instruments.histogram('e2e.latency', { unit: 's' });
  for (const v of LATENCIES) latency.record(v, { le: '5', quantile: 'p99' });
  instruments.gauge('e2e.temperature', { unit: 'Cel' }).set(21.5, HOSTILE);
  instruments.counter('e2e.unrelated').add(42, { k: 'v' });
  return setup;
}

async function text(setup: MetricsSetup): Promise<string> {
  const response = await fetch((await setup.prometheus!.url())!);
  return response.text();
}

describe('end to end: the scrape endpoint, promtool and a real Prometheus 2.42', function () {
  this.timeout(120_000);
  before(function () {
    requirePromtool(this);
    diag.disable();
  });

  it('passes promtool check metrics without a warning, hostile keys, a summary and histograms included', async () => {
    const setup = await hostileWorkload();
    try {
      const scraped = await text(setup);
      expect(scraped).to.match(/^# TYPE e2e_latency_window_seconds summary$/m);
      expect(scraped).to.match(/^e2e_latency_seconds_bucket\{.*le="\+Inf"/m);
      const { code, output } = await promtool(scraped);
      expect(output, scraped).to.equal('');
      expect(code).to.equal(0);
    } finally {
      await setup.shutdown();
    }
  });

  it('passes promtool for any attribute keys and values (fast-check): parsed, and no lint but camelCase label names', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.oneof(
            fc.string({ minLength: 1 }),
            fc.string({ unit: 'binary', minLength: 1 })
          ),
          fc.oneof(fc.string({ unit: 'binary' }), fc.double(), fc.boolean()),
          { maxKeys: 6 }
        ),
        async attributes => {
          const setup = setupMetrics({
            global: false,
            exporter: 'prometheus',
            prometheus: { host: '127.0.0.1', port: 0 },
          });
          try {
            setup.instruments.counter('c').add(1, attributes);
            setup.instruments
              .histogram('h', { unit: 's' })
              .record(1, attributes);
            const { code, output } = await promtool(await text(setup));
            // Exit 1 would be a parse error; 3 is lint. The one lint a key
            // can cause is the case of its label name, which we keep.
            const problems = output.split('\n').filter(Boolean);
            for (const problem of problems)
              expect(problem).to.match(
                /label names should be written in 'snake_case' not 'camelCase'$/
              );
            expect(code).to.equal(problems.length > 0 ? 3 : 0);
          } finally {
            await setup.shutdown();
          }
        }
      ),
      { numRuns: 40 }
    );
  });

  for (const features of [[], ['native-histograms']]) {
    describe(`a Prometheus scraping it ${features.length ? 'with' : 'without'} --enable-feature=native-histograms`, () => {
      let setup: MetricsSetup | undefined;
      let prometheus: Prometheus | undefined;

      before(async () => {
        setup = await hostileWorkload();
        const { host } = new URL((await setup.prometheus!.url())!);
        prometheus = await Prometheus.start({ scrapeTarget: host, features });
        // Until a few scrapes have been taken.
        const deadline = Date.now() + 30_000;
        while (
          (await prometheus.query('e2e_unrelated_total')).length === 0 ||
          (await prometheus.value('count_over_time(up[1m])')) < 3
        ) {
          if (Date.now() > deadline)
            throw new Error(
              `no scrapes: ${JSON.stringify(await prometheus.targets())}\n${prometheus.log}`
            );
          await sleep(250);
        }
      });
      after(async () => {
        await prometheus?.dispose();
        await setup?.shutdown();
      });

      it('keeps the target up and ingests every metric, unrelated ones beside hostile keys included', async () => {
        const [target] = await prometheus!.targets();
        expect(target.health, target.lastError).to.equal('up');
        expect(target.lastError).to.equal('');
        expect(await prometheus!.value('min_over_time(up[1m])')).to.equal(1);
        expect(await prometheus!.value('e2e_unrelated_total')).to.equal(42);
        // The resource, as an OpenMetrics info metric or (protobuf) a gauge.
        expect(
          await prometheus!.value('target_info{service_name="scrape-e2e"}')
        ).to.equal(1);
        const [requests] = await prometheus!.query('e2e_requests_total');
        expect(requests.metric).to.include({
          key_0: 'zero',
          a_b: 'dot;underscore',
          otel_scope_name: 'app;mine',
          _name_: 'name',
          exported_le: 'le',
          exported_quantile: 'quantile',
          quote: 'say "hi" \\ back\nslash',
          // Prometheus moves a scraped `job` aside for its own.
          exported_job: 'mine',
          job: 'datapunk',
        });
        expect(Number(requests.value![1])).to.equal(3);
        expect(
          await prometheus!.value('e2e_temperature_celsius{key_="unicode ✓"}')
        ).to.equal(21.5);
      });

      it('keeps the summary a summary, with its quantiles', async () => {
        const metadata = await prometheus!.metadata(
          'e2e_latency_window_seconds'
        );
        expect(metadata.map(m => m.type)).to.deep.equal(['summary']);
        expect(
          await prometheus!.value(
            'e2e_latency_window_seconds{quantile="1.0", exported_quantile="p99"}'
          )
        ).to.equal(Math.max(...LATENCIES));
        expect(
          await prometheus!.value('e2e_latency_window_seconds_count')
        ).to.equal(LATENCIES.length);
      });

      if (features.includes('native-histograms')) {
        it('takes the histogram as a native one (protobuf)', async () => {
          expect(
            await prometheus!.value('histogram_count(e2e_latency_seconds)')
          ).to.equal(LATENCIES.length);
          expect(
            await prometheus!.value('histogram_sum(e2e_latency_seconds)')
          ).to.be.closeTo(
            LATENCIES.reduce((a, b) => a + b, 0),
            1e-9
          );
          // 2.42 ingests only the native series when it has one.
          expect(
            await prometheus!.query('e2e_latency_seconds_bucket')
          ).to.deep.equal([]);
        });
      } else {
        it('takes the histogram as classic buckets (OpenMetrics), exact at powers of two', async () => {
          expect(await prometheus!.value('e2e_latency_seconds_count')).to.equal(
            LATENCIES.length
          );
          expect(
            await prometheus!.value('e2e_latency_seconds_bucket{le="0.03125"}')
          ).to.equal(LATENCIES.filter(v => v <= 0.03125).length);
          expect(
            (await prometheus!.query('e2e_latency_seconds_bucket')).length
          ).to.equal(32);
        });
      }
    });
  }
});

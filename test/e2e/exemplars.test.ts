import { expect } from 'chai';
import { context, diag, trace } from '@opentelemetry/api';
import type { SpanContext, Tracer } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType } from '@opentelemetry/sdk-metrics';
import { createAllowListAttributesProcessor } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  StackContextManager,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { RetentionMeterProvider } from '@datapunk/otel-metrics';
import { OTLPSummaryMetricExporter } from '@datapunk/otel-metrics/otlp';
import { PrometheusScrapeServer } from '@datapunk/otel-metrics/prometheus';
import { Collector, freePort } from './Collector';
import type { OtlpExemplar, OtlpMetricsRequest } from './Collector';
import { plain, received } from './otlp';
import { Prometheus, promtool } from './Prometheus';
import { requireCollector, requirePromtool } from '../requirements';
import { sleep } from '../util';

const IDLE = 3_600_000;
const sampled = new TracerProvider({
  sampler: new AlwaysOnSampler(),
}).getTracer('e2e');
const unsampled = new TracerProvider({
  sampler: new AlwaysOffSampler(),
}).getTracer('e2e');

/** Runs `fn` in a new span of `tracer` made active; returns the span's context. */
function inSpan(tracer: Tracer, fn: () => void): SpanContext {
  const span = tracer.startSpan('call');
  context.with(trace.setSpan(context.active(), span), fn);
  span.end();
  return span.spanContext();
}

/** An exemplar as the Collector wrote it: value, trace id, filtered attributes. */
function exemplarOf(exemplar: OtlpExemplar) {
  return {
    value: exemplar.asDouble ?? Number(exemplar.asInt),
    traceId: exemplar.traceId,
    spanId: exemplar.spanId,
    filtered: plain(exemplar.filteredAttributes),
  };
}

describe('end to end: exemplars (issue 24)', function () {
  this.timeout(120_000);
  before(() => {
    context.setGlobalContextManager(new StackContextManager().enable());
    diag.disable();
  });
  after(() => context.disable());

  for (const protocol of ['http/json', 'http/protobuf'] as const) {
    describe(`into a real OpenTelemetry Collector over ${protocol}`, () => {
      const service = `exemplars-${protocol.replace('/', '-')}`;
      const boundaries = [1, 10, 100];
      const values = [0.5, 3, 7, 42, 64, 250, 0.25, 8, 99, 1000];
      let requests: OtlpMetricsRequest[];
      const calls: { span: SpanContext; value: number; user: string }[] = [];
      const unsampledTraces = new Set<string>();

      before(async function () {
        requireCollector(this);
        const collector = await Collector.start();
        try {
          const provider = new RetentionMeterProvider({
            exporter: new OTLPSummaryMetricExporter({
              url: collector.metricsUrl,
              protocol,
            }),
            resource: resourceFromAttributes({ 'service.name': service }),
            collectionIntervalMillis: IDLE,
            exportIntervalMillis: IDLE,
            views: [
              {
                instrumentName: 'e2e.orders',
                attributesProcessors: [
                  createAllowListAttributesProcessor(['route']),
                ],
              },
              {
                instrumentName: 'e2e.sizes',
                aggregation: {
                  type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
                  options: { boundaries },
                },
              },
            ],
          });
          const meter = provider.getMeter('e2e');
          const orders = meter.createCounter('e2e.orders');
          const latency = meter.createHistogram('e2e.latency', { unit: 'ms' });
          const sizes = meter.createHistogram('e2e.sizes', { unit: 'By' });
          values.forEach((value, i) => {
            const user = `u${i}`;
            const call = () => {
              orders.add(1, { route: '/checkout', user });
              latency.record(value);
              sizes.record(value);
            };
            calls.push({ span: inSpan(sampled, call), value, user });
            unsampledTraces.add(inSpan(unsampled, call).traceId);
          });
          await provider.forceFlush();
          await provider.shutdown();
          await collector.stop();
          requests = collector.requests();
        } finally {
          await collector.dispose();
        }
      });

      it('sum: one exemplar, a sampled call, with the attribute the View took off', () => {
        const [{ metric }] = received(requests, service, 'e2e.orders');
        const [point] = metric.sum!.dataPoints;
        expect(plain(point.attributes)).to.deep.equal({ route: '/checkout' });
        expect(point.exemplars).to.have.length(1);
        const exemplar = exemplarOf(point.exemplars![0]);
        const call = calls.find(c => c.span.traceId === exemplar.traceId);
        expect(call, 'a sampled call').not.to.equal(undefined);
        expect(exemplar).to.deep.equal({
          value: 1,
          traceId: call!.span.traceId,
          spanId: call!.span.spanId,
          filtered: { user: call!.user },
        });
      });

      it('exponential histogram: every sampled call (fewer than 20), with its value and ids; no unsampled one', () => {
        const [{ metric }] = received(requests, service, 'e2e.latency');
        const [point] = metric.exponentialHistogram!.dataPoints;
        expect(Number(point.count)).to.equal(2 * values.length);
        expect(point.exemplars!.map(exemplarOf)).to.deep.equal(
          calls.map(({ span, value }) => ({
            value,
            traceId: span.traceId,
            spanId: span.spanId,
            filtered: {},
          }))
        );
      });

      it('explicit histogram: one exemplar per bucket, each in its bucket, from a sampled call', () => {
        const [{ metric }] = received(requests, service, 'e2e.sizes');
        const [point] = metric.histogram!.dataPoints;
        expect(point.explicitBounds).to.deep.equal(boundaries);
        const exemplars = point.exemplars!.map(exemplarOf);
        expect(exemplars).to.have.length(boundaries.length + 1);
        exemplars.forEach((exemplar, bucket) => {
          const lower = boundaries[bucket - 1] ?? -Infinity;
          const upper = boundaries[bucket] ?? Infinity;
          expect(exemplar.value).to.be.greaterThan(lower).and.at.most(upper);
          const call = calls.find(c => c.value === exemplar.value)!;
          expect(exemplar.traceId).to.equal(call.span.traceId);
          expect(unsampledTraces.has(exemplar.traceId!)).to.equal(false);
        });
      });
    });
  }

  describe('into a real Prometheus 2.42 with --enable-feature=exemplar-storage, scraping OpenMetrics', () => {
    let provider: RetentionMeterProvider | undefined;
    let server: PrometheusScrapeServer | undefined;
    let prometheus: Prometheus | undefined;
    const slow: string[] = [];
    const all = new Set<string>();
    let startSeconds = 0;

    before(async function () {
      requirePromtool(this);
      provider = new RetentionMeterProvider({
        resource: resourceFromAttributes({ 'service.name': 'exemplars-e2e' }),
        collectionIntervalMillis: IDLE,
        exportIntervalMillis: IDLE,
      });
      server = new PrometheusScrapeServer(provider, {
        host: '127.0.0.1',
        port: await freePort(),
      });
      const { host } = new URL((await server.url())!);
      const meter = provider.getMeter('e2e');
      const duration = meter.createHistogram('e2e.call.duration', {
        unit: 's',
      });
      const callsMade = meter.createCounter('e2e.calls');
      startSeconds = Date.now() / 1000 - 1;
      prometheus = await Prometheus.start({
        scrapeTarget: host,
        features: ['exemplar-storage'],
      });
      // Prometheus applies its targets a few seconds after it starts.
      const deadline = Date.now() + 30_000;
      while ((await prometheus.query('up')).length === 0) {
        if (Date.now() > deadline)
          throw new Error(`no scrape in 30 s:\n${prometheus.log}`);
        await sleep(250);
      }
      // Calls every 200 ms in spans of their own; every 12th is slow (an
      // injected slowdown), so each slow one is the latest in its bucket
      // for a few scrapes.
      for (let i = 0; i < 48; i++) {
        const seconds = i % 12 === 6 ? 2.5 : 0.01 + (i % 5) * 0.01;
        const span = inSpan(sampled, () => {
          duration.record(seconds, { route: '/pay' });
          callsMade.add(1, { route: '/pay' });
        });
        all.add(span.traceId);
        if (seconds > 1) slow.push(span.traceId);
        await sleep(200);
      }
      // A few more scrapes after the last call.
      await sleep(3000);
    });
    after(async () => {
      await prometheus?.dispose();
      await server?.close();
      await provider?.shutdown();
    });

    it('keeps the target up: 2.42 parses the OpenMetrics exemplars', async () => {
      const [target] = await prometheus!.targets();
      expect(target.health, target.lastError).to.equal('up');
      expect(target.lastError).to.equal('');
      expect(await prometheus!.value('min_over_time(up[1m])')).to.equal(1);
    });

    it('promtool check metrics passes the text 0.0.4 scrape (no exemplars there); 2.42 lints text only, so the OpenMetrics one is checked by the scrape above', async () => {
      const url = (await server!.url())!;
      const headers = { accept: 'text/plain;version=0.0.4' };
      const scraped = await (await fetch(url, { headers })).text();
      expect(scraped).to.include('e2e_call_duration_seconds_bucket');
      expect(scraped).not.to.include(' # {');
      const { code, output } = await promtool(scraped);
      expect({ code, output }).to.deep.equal({ code: 0, output: '' });
    });

    it('/api/v1/query_exemplars gives the trace ids of the slow calls, each in the bucket its value falls in', async () => {
      const series = await prometheus!.exemplars(
        'e2e_call_duration_seconds_bucket',
        startSeconds,
        Date.now() / 1000 + 1
      );
      const exemplars = series.flatMap(s =>
        s.exemplars.map(e => ({ le: s.seriesLabels.le, ...e }))
      );
      expect(exemplars.length).to.be.greaterThan(0);
      for (const { le, value, labels } of exemplars) {
        expect(all.has(labels.trace_id), 'a recorded call').to.equal(true);
        expect(labels.span_id).to.match(/^[0-9a-f]{16}$/);
        expect(Number(value)).to.be.at.most(Number(le));
      }
      const slowSeen = new Set(
        exemplars.filter(e => Number(e.value) > 1).map(e => e.labels.trace_id)
      );
      expect([...slowSeen].sort()).to.deep.equal([...slow].sort());
    });

    it('and the counter’s, from recorded calls', async () => {
      const series = await prometheus!.exemplars(
        'e2e_calls_total',
        startSeconds,
        Date.now() / 1000 + 1
      );
      const traceIds = series.flatMap(s =>
        s.exemplars.map(e => e.labels.trace_id)
      );
      expect(traceIds.length).to.be.greaterThan(0);
      for (const traceId of traceIds) expect(all.has(traceId)).to.equal(true);
    });
  });
});

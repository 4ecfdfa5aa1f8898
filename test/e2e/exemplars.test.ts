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

  /**
   * A scrape server of a provider where calls run in sampled spans of
   * their own, every 200 ms, with every 12th one slow (an injected
   * slowdown), scraped every second by a real Prometheus 2.42 started with
   * `features`; torn down after the suite.
   */
  function scrapedBy(features: string[]) {
    const fixture = {
      provider: undefined as RetentionMeterProvider | undefined,
      server: undefined as PrometheusScrapeServer | undefined,
      prometheus: undefined as Prometheus | undefined,
      /** Trace id → the call's span id and value. */
      calls: new Map<string, { spanId: string; value: number }>(),
      slow: [] as string[],
      startSeconds: 0,
      /** The exemplars stored for `selector`, with their series' `le`. */
      async exemplars(selector: string) {
        const series = await fixture.prometheus!.exemplars(
          selector,
          fixture.startSeconds,
          Date.now() / 1000 + 1
        );
        return series.flatMap(s =>
          s.exemplars.map(e => ({ le: s.seriesLabels.le, ...e }))
        );
      },
    };
    before(async function () {
      requirePromtool(this);
      fixture.provider = new RetentionMeterProvider({
        resource: resourceFromAttributes({ 'service.name': 'exemplars-e2e' }),
        collectionIntervalMillis: IDLE,
        exportIntervalMillis: IDLE,
      });
      fixture.server = new PrometheusScrapeServer(fixture.provider, {
        host: '127.0.0.1',
        port: await freePort(),
      });
      const { host } = new URL((await fixture.server.url())!);
      const meter = fixture.provider.getMeter('e2e');
      const duration = meter.createHistogram('e2e.call.duration', {
        unit: 's',
      });
      const callsMade = meter.createCounter('e2e.calls');
      fixture.startSeconds = Date.now() / 1000 - 1;
      const prometheus = await Prometheus.start({
        scrapeTarget: host,
        features,
      });
      fixture.prometheus = prometheus;
      // Prometheus applies its targets a few seconds after it starts.
      const deadline = Date.now() + 30_000;
      while ((await prometheus.query('up')).length === 0) {
        if (Date.now() > deadline)
          throw new Error(`no scrape in 30 s:\n${prometheus.log}`);
        await sleep(250);
      }
      // Each slow call is the only one in its bucket, so it is the bucket's
      // latest exemplar for at least the scrape after it.
      for (let i = 0; i < 48; i++) {
        const value = i % 12 === 6 ? 2.5 : 0.01 + (i % 5) * 0.01;
        const span = inSpan(sampled, () => {
          duration.record(value, { route: '/pay' });
          callsMade.add(1, { route: '/pay' });
        });
        fixture.calls.set(span.traceId, { spanId: span.spanId, value });
        if (value > 1) fixture.slow.push(span.traceId);
        await sleep(200);
      }
      // A few more scrapes after the last call.
      await sleep(3000);
    });
    after(async () => {
      await fixture.prometheus?.dispose();
      await fixture.server?.close();
      await fixture.provider?.shutdown();
    });
    return fixture;
  }

  /** Every exemplar is a recorded call's: its trace, its span, and `valueOf` it. */
  function expectRecordedCalls(
    calls: Map<string, { spanId: string; value: number }>,
    exemplars: { labels: Record<string, string>; value: string }[],
    valueOf: (call: { value: number }) => number
  ): void {
    expect(exemplars.length).to.be.greaterThan(0);
    for (const { labels, value } of exemplars) {
      const call = calls.get(labels.trace_id);
      expect(call, `a recorded call: ${labels.trace_id}`).not.to.equal(
        undefined
      );
      expect(labels.span_id).to.equal(call!.spanId);
      expect(Number(value)).to.equal(valueOf(call!));
    }
  }

  describe('into a real Prometheus 2.42 with --enable-feature=exemplar-storage, scraping OpenMetrics', () => {
    const fixture = scrapedBy(['exemplar-storage']);

    it('keeps the target up: 2.42 parses the OpenMetrics exemplars', async () => {
      const [target] = await fixture.prometheus!.targets();
      expect(target.health, target.lastError).to.equal('up');
      expect(target.lastError).to.equal('');
      expect(await fixture.prometheus!.value('min_over_time(up[1m])')).to.equal(
        1
      );
    });

    it('promtool check metrics passes the text 0.0.4 scrape (no exemplars there); 2.42 lints text only, so the OpenMetrics one is checked by the scrape above', async () => {
      const url = (await fixture.server!.url())!;
      const headers = { accept: 'text/plain;version=0.0.4' };
      const scraped = await (await fetch(url, { headers })).text();
      expect(scraped).to.include('e2e_call_duration_seconds_bucket');
      expect(scraped).not.to.include(' # {');
      const { code, output } = await promtool(scraped);
      expect({ code, output }).to.deep.equal({ code: 0, output: '' });
    });

    it('/api/v1/query_exemplars gives the trace ids of the slow calls, each in the bucket its value falls in', async () => {
      const exemplars = await fixture.exemplars(
        'e2e_call_duration_seconds_bucket'
      );
      expectRecordedCalls(fixture.calls, exemplars, call => call.value);
      for (const { le, value } of exemplars) {
        // Powers of two: the bucket below ends at half this one's bound.
        expect(Number(value)).to.be.at.most(Number(le));
        expect(Number(value)).to.be.greaterThan(Number(le) / 2);
      }
      const slowSeen = new Set(
        exemplars.filter(e => Number(e.value) > 1).map(e => e.labels.trace_id)
      );
      expect([...slowSeen].sort()).to.deep.equal([...fixture.slow].sort());
    });

    it('and the counter’s, from recorded calls', async () => {
      expectRecordedCalls(
        fixture.calls,
        await fixture.exemplars('e2e_calls_total'),
        () => 1
      );
    });
  });

  describe('into a real Prometheus 2.42 with native-histograms and exemplar-storage, scraping protobuf', () => {
    const fixture = scrapedBy(['native-histograms', 'exemplar-storage']);

    it('takes the histogram as a native one (only the protobuf scrape carries it) and keeps the target up', async () => {
      const [target] = await fixture.prometheus!.targets();
      expect(target.health, target.lastError).to.equal('up');
      expect(
        await fixture.prometheus!.value(
          'histogram_count(e2e_call_duration_seconds{route="/pay"})'
        )
      ).to.equal(fixture.calls.size);
    });

    it('/api/v1/query_exemplars gives the counter’s and the native histogram’s exemplars, from recorded calls', async () => {
      expectRecordedCalls(
        fixture.calls,
        await fixture.exemplars('e2e_calls_total'),
        () => 1
      );
      // 2.42 keeps only the first classic bucket's exemplar of a native
      // histogram (prometheus#12553, fixed in 2.46), so not every slow call.
      expectRecordedCalls(
        fixture.calls,
        await fixture.exemplars('e2e_call_duration_seconds'),
        call => call.value
      );
    });
  });
});

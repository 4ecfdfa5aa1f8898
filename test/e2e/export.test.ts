import { AssertionError, expect } from 'chai';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { CallOutcome } from '@datapunk/otel-circuit-breaker';
import { setupMetrics } from '@datapunk/otel-metrics';
import { OTLPSummaryMetricExporter } from '@datapunk/otel-metrics/otlp';
import { Collector } from './Collector';
import { requireCollector } from '../requirements';
import type { OtlpMetricsRequest } from './Collector';
import {
  checkCounterTotals,
  checkExponentialHistogram,
  checkOverflow,
  checkSummary,
} from './checks';
import {
  key,
  lastValues,
  latest,
  plain,
  pointsByAttributes,
  received,
} from './otlp';
import { MAX_SERIES_PER_METRIC, runWorkload } from './workload';
import type { WorkloadResult } from './workload';
import { sleep } from '../util';

describe('end to end: OTLP/HTTP into a real OpenTelemetry Collector', function () {
  this.timeout(120_000);
  before(function () {
    requireCollector(this);
  });

  for (const protocol of ['http/json', 'http/protobuf'] as const) {
    describe(`a program using all three packages, over ${protocol}`, () => {
      let collector: Collector | undefined;
      let run: WorkloadResult;
      let requests: OtlpMetricsRequest[];

      before(async () => {
        collector = await Collector.start();
        run = await runWorkload(collector.metricsUrl, protocol);
        await collector.stop();
        requests = collector.requests();
      });
      after(() => collector?.dispose());

      it('arrives with its resource, on every export', () => {
        const own = received(requests, run.service, 'e2e.requests');
        expect(own.length, 'exports received').to.be.at.least(10);
        for (const { resource } of own) {
          expect(resource['service.name']).to.equal(run.service);
          expect(resource['deployment.environment.name']).to.equal('e2e');
        }
      });

      it('counters: exact cumulative totals per attribute set', () => {
        checkCounterTotals(
          requests,
          run.service,
          'e2e.requests',
          '{request}',
          run.requests,
          'route'
        );
      });

      it('histogram and timer: exponential histograms with exact counts, percentiles within the sketch bound', () => {
        checkExponentialHistogram(
          requests,
          run.service,
          'e2e.latency',
          'ms',
          run.latencies
        );
        const { metric } = latest(requests, run.service, 'e2e.job.duration');
        expect(metric.unit).to.equal('s');
        const [point] = metric.exponentialHistogram!.dataPoints;
        expect(Number(point.count)).to.equal(run.jobs.count);
        expect(point.min).to.equal(run.jobs.min);
        expect(point.max).to.equal(run.jobs.max);
      });

      it('summary: OTLP Summary quantiles within the sketch bound of the exact ones', () => {
        checkSummary(requests, run.service, 'e2e.payload', 'By', run.payloads);
      });

      it('gauge: the last value set', () => {
        const { metric } = latest(requests, run.service, 'e2e.queue.depth');
        expect(metric.unit).to.equal('{item}');
        expect([...pointsByAttributes(metric).values()]).to.deep.equal([
          run.lastQueueDepth,
        ]);
      });

      it('series beyond the limit fold exactly into the overflow series', () => {
        checkOverflow(
          requests,
          run.service,
          'e2e.tenant.requests',
          MAX_SERIES_PER_METRIC,
          run.tenants
        );
      });

      it('a series past its TTL is exported at first, then no more', () => {
        const exports = received(requests, run.service, 'e2e.ephemeral');
        const jobs = exports.map(({ metric }) =>
          metric.sum!.dataPoints.map(p => plain(p.attributes).job)
        );
        expect(jobs[0]).to.include('once');
        expect(jobs[jobs.length - 1]).to.deep.equal(['steady']);
        const last = pointsByAttributes(exports[exports.length - 1].metric);
        expect(last.get(key({ job: 'steady' }))).to.equal(run.jobs.count);
      });

      it('breakers: state, calls by outcome and anomalies with their attributes', () => {
        const state = pointsByAttributes(
          latest(requests, run.service, 'circuit_breaker.state').metric
        );
        const stateOf = (name: string, s: string) =>
          state.get(
            key({ 'circuit_breaker.name': name, 'circuit_breaker.state': s })
          );
        expect(stateOf('e2e-opossum', 'closed')).to.equal(1);
        expect(stateOf('e2e-cockatiel', 'open')).to.equal(1);
        expect(stateOf('e2e-cockatiel', 'closed')).to.equal(0);

        // Every call's outcome, the cockatiel successes included: that
        // series stopped at the fault and expired, its last total stays.
        const calls = received(requests, run.service, 'circuit_breaker.calls');
        expect(calls[0].metric.unit).to.equal('{call}');
        const expected: Record<string, number> = {};
        for (const [name, outcomes] of run.outcomes)
          for (const [outcome, n] of outcomes)
            expected[
              key({
                'circuit_breaker.name': name,
                'circuit_breaker.outcome': outcome,
              })
            ] = n;
        expect(Object.fromEntries(lastValues(calls))).to.deep.equal(expected);
        expect(
          run.outcomes.get('e2e-cockatiel')!.get(CallOutcome.REJECTED)
        ).to.be.above(0);

        const raised = new Set<string>();
        for (const [name, kinds] of run.anomalies)
          for (const kind of kinds)
            raised.add(
              key({
                'circuit_breaker.name': name,
                'circuit_breaker.anomaly.kind': kind,
              })
            );
        // Over every export: an anomaly kind raised once expires (TTL 1 s).
        const anomalies = received(
          requests,
          run.service,
          'circuit_breaker.anomalies'
        );
        expect(new Set(lastValues(anomalies).keys())).to.deep.equal(raised);
        expect(
          [...run.anomalies.get('e2e-opossum')!],
          'the injected latency shift'
        ).to.satisfy((kinds: string[]) =>
          kinds.some(k => k.startsWith('latency'))
        );

        const scores = latest(
          requests,
          run.service,
          'circuit_breaker.anomaly.score'
        );
        const kinds = scores.metric.gauge!.dataPoints.map(
          p => plain(p.attributes)['circuit_breaker.anomaly.kind']
        );
        expect(kinds).to.include.members(['latency', 'error_rate']);
      });

      it('the checks fail when a value is wrong', () => {
        const off = <K>(totals: Map<K, number>, k: K) =>
          new Map(totals).set(k, totals.get(k)! + 1);
        const { service } = run;
        expect(() =>
          checkCounterTotals(
            requests,
            service,
            'e2e.requests',
            '{request}',
            off(run.requests, '/catalog'),
            'route'
          )
        ).to.throw(AssertionError, /e2e.requests totals/);
        expect(() =>
          checkExponentialHistogram(
            requests,
            service,
            'e2e.latency',
            'ms',
            run.latencies.slice(1)
          )
        ).to.throw(AssertionError, /e2e.latency count/);
        expect(() =>
          checkSummary(
            requests,
            service,
            'e2e.payload',
            'By',
            run.payloads.map(v => v + 1)
          )
        ).to.throw(AssertionError, /e2e.payload.summary sum/);
        expect(() =>
          checkOverflow(
            requests,
            service,
            'e2e.tenant.requests',
            MAX_SERIES_PER_METRIC,
            off(run.tenants, 'tenant-1')
          )
        ).to.throw(AssertionError, /e2e.tenant.requests/);
      });
    });
  }

  describe('the Collector stopped mid-run and restarted', () => {
    let collector: Collector | undefined;
    after(() => collector?.dispose());

    it('nothing crashes, nothing is lost: cumulative totals exact after the restart', async () => {
      const escaped: unknown[] = [];
      const onEscape = (error: unknown) => escaped.push(error);
      process.on('unhandledRejection', onEscape);
      const reported: string[] = [];
      diag.setLogger(
        {
          error: message => reported.push(message),
          warn: message => reported.push(message),
          info: () => {},
          debug: () => {},
          verbose: () => {},
        },
        DiagLogLevel.WARN
      );
      try {
        collector = await Collector.start();
        const service = 'datapunk-e2e-restart';
        const setup = setupMetrics({
          serviceName: service,
          global: false,
          exporter: new OTLPSummaryMetricExporter({
            url: collector.metricsUrl,
          }),
          collectionIntervalMillis: 100,
          exportIntervalMillis: 200,
          exportTimeoutMillis: 200,
        });
        const orders = setup.instruments.counter('e2e.orders', {
          unit: '{order}',
        });
        const sizes = setup.instruments.histogram('e2e.order.size', {
          unit: 'By',
        });
        let total = 0;
        const sizesRecorded: number[] = [];
        const load = async (millis: number) => {
          for (const end = Date.now() + millis; Date.now() < end; ) {
            orders.add(3, { shop: 'north' });
            total += 3;
            const size = 1 + (total % 50);
            sizes.record(size);
            sizesRecorded.push(size);
            await sleep(5);
          }
        };
        await load(600);
        await collector.stop();
        const beforeRestart = collector.requests().length;
        const reportedBefore = reported.length;
        await load(800);
        expect(
          reported.length,
          'export failures reported via diag'
        ).to.be.above(reportedBefore);
        await collector.restart();
        await load(600);
        await setup.shutdown();
        await collector.stop();

        const requests = collector.requests();
        expect(requests.length, 'exports after the restart').to.be.above(
          beforeRestart + 2
        );
        checkCounterTotals(
          requests,
          service,
          'e2e.orders',
          '{order}',
          new Map([['north', total]]),
          'shop'
        );
        checkExponentialHistogram(
          requests,
          service,
          'e2e.order.size',
          'By',
          sizesRecorded
        );
        expect(escaped, 'unhandled rejections').to.deep.equal([]);
      } finally {
        process.off('unhandledRejection', onEscape);
        diag.disable();
      }
    });
  });
});

import { expect } from 'chai';
import { AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import * as sinon from 'sinon';
import {
  RetentionMeterProvider,
  RetentionMetricReader,
} from '@datapunk/otel-metrics';
import { OTLPSummaryMetricExporter } from '@datapunk/otel-metrics/otlp';
import type { OTLPHttpProtocol } from '@datapunk/otel-metrics/otlp';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import {
  ROUTES,
  STEPS,
  STEP_MILLIS,
  WORKLOAD_OPTIONS,
  Workload,
  runLockstep,
} from '../../packages/metrics/test/provider/workload';
import { requireCollector } from '../requirements';
import { relativeErrorAt } from '../util';
import { Collector } from './Collector';
import type {
  OtlpExponentialPoint,
  OtlpMetric,
  OtlpMetricsRequest,
  OtlpNumberPoint,
  OtlpSummaryPoint,
} from './Collector';
import { key, plain, valueOf } from './otlp';

/** The workload's meter. */
const SCOPE = 'equivalence';
/** Fake time starts here (Date only; timers and I/O are real). */
const START = Date.UTC(2026, 11, 1);
const QUANTILES = [0.01, 0.25, 0.5, 0.75, 0.9, 0.99];
/** The reader's default sketch scale, which the workload's values keep. */
const SCALE = 5;

type AnyPoint = OtlpNumberPoint | OtlpExponentialPoint | OtlpSummaryPoint;

/**
 * Each export a service sent, in order (one request each): its workload
 * metrics by name. A request may hold the resource twice (Summary points
 * travel in a ResourceMetrics of their own).
 */
function exportsOf(
  requests: OtlpMetricsRequest[],
  service: string
): Map<string, OtlpMetric>[] {
  return requests
    .map(
      request =>
        new Map(
          request.resourceMetrics
            .filter(
              r => plain(r.resource.attributes)['service.name'] === service
            )
            .flatMap(r => r.scopeMetrics)
            .filter(s => s.scope.name === SCOPE)
            .flatMap(s => s.metrics)
            .map(m => [m.name, m])
        )
    )
    .filter(metrics => metrics.size > 0);
}

/** A metric's points; none when an export does not hold it. */
function pointsOf(metric: OtlpMetric | undefined): AnyPoint[] {
  return (metric?.sum?.dataPoints ??
    metric?.gauge?.dataPoints ??
    metric?.exponentialHistogram?.dataPoints ??
    metric?.summary?.dataPoints ??
    []) as AnyPoint[];
}

function sketchOf(point: OtlpExponentialPoint): ExponentialSketch {
  return ExponentialSketch.fromExponentialHistogram({
    count: Number(point.count),
    sum: point.sum,
    min: point.min,
    max: point.max,
    scale: point.scale ?? 0,
    zeroCount: Number(point.zeroCount ?? 0),
    positive: {
      offset: point.positive?.offset ?? 0,
      bucketCounts: (point.positive?.bucketCounts ?? []).map(Number),
    },
    negative: {
      offset: point.negative?.offset ?? 0,
      bucketCounts: (point.negative?.bucketCounts ?? []).map(Number),
    },
  });
}

/**
 * The same metric as the Collector wrote it for both services: the same
 * kind, unit, temporality and points (attribute sets, times); numbers
 * equal, histograms with equal count, sum, min, max and zeros and
 * quantiles within both sketches' error of each other, Summary points
 * with equal count, sum, min and max and quantiles likewise.
 */
function expectSameMetric(
  mine: OtlpMetric,
  theirs: OtlpMetric,
  at: string
): void {
  const shape = (m: OtlpMetric) => ({
    name: m.name,
    unit: m.unit,
    description: m.description,
    kind: Object.keys(m).filter(k =>
      ['sum', 'gauge', 'exponentialHistogram', 'summary'].includes(k)
    ),
    temporality:
      m.sum?.aggregationTemporality ??
      m.exponentialHistogram?.aggregationTemporality,
    monotonic: m.sum?.isMonotonic,
  });
  expect(shape(mine), at).to.deep.equal(shape(theirs));
  const byKey = (m: OtlpMetric) =>
    new Map(pointsOf(m).map(p => [key(plain(p.attributes)), p]));
  const a = byKey(mine);
  const b = byKey(theirs);
  expect([...a.keys()].sort(), `${at}: attribute sets`).to.deep.equal(
    [...b.keys()].sort()
  );
  const bound = 2 * relativeErrorAt(SCALE) + 1e-12;
  for (const [k, p] of a) {
    const q = b.get(k)!;
    const where = `${at} ${k}`;
    const times = (x: AnyPoint) => [
      (x as { startTimeUnixNano?: string }).startTimeUnixNano,
      x.timeUnixNano,
    ];
    expect(times(p), `${where}: times`).to.deep.equal(times(q));
    if (mine.exponentialHistogram) {
      const [x, y] = [p, q] as OtlpExponentialPoint[];
      expect(
        [x.count, x.sum, x.min, x.max, x.zeroCount ?? '0'],
        `${where}: count, sum, min, max, zeros`
      ).to.deep.equal([y.count, y.sum, y.min, y.max, y.zeroCount ?? '0']);
      const [sx, sy] = [sketchOf(x), sketchOf(y)];
      for (const quantile of QUANTILES)
        expect(sx.quantile(quantile), `${where} q${quantile}`).to.be.closeTo(
          sy.quantile(quantile),
          Math.abs(sy.quantile(quantile)) * bound
        );
    } else if (mine.summary) {
      const [x, y] = [p, q] as OtlpSummaryPoint[];
      expect([x.count, x.sum], `${where}: count, sum`).to.deep.equal([
        y.count,
        y.sum,
      ]);
      const quantiles = (s: OtlpSummaryPoint) =>
        new Map(
          (s.quantileValues ?? []).map(v => [v.quantile ?? 0, v.value ?? 0])
        );
      const [qx, qy] = [quantiles(x), quantiles(y)];
      expect([...qx.keys()]).to.deep.equal([...qy.keys()]);
      for (const [quantile, value] of qx) {
        const other = qy.get(quantile)!;
        if (quantile === 0 || quantile === 1)
          expect(value, `${where} min/max`).to.equal(other);
        else
          expect(value, `${where} q${quantile}`).to.be.closeTo(
            other,
            Math.abs(other) * bound
          );
      }
    } else if (/\.window\.(mean|stddev)$/.test(mine.name)) {
      // From bucket midpoints (stddev) or a running mean: within the bound.
      expect(valueOf(p as OtlpNumberPoint), where).to.be.closeTo(
        valueOf(q as OtlpNumberPoint),
        Math.abs(valueOf(q as OtlpNumberPoint)) * bound
      );
    } else {
      expect(valueOf(p as OtlpNumberPoint), where).to.equal(
        valueOf(q as OtlpNumberPoint)
      );
    }
  }
}

/**
 * The workload on RetentionMeterProvider and on the SDK's MeterProvider
 * with RetentionMetricReader, each exporting to the Collector with
 * OTLPSummaryMetricExporter under its own service name, in lockstep: Date
 * and setInterval faked (restored whatever happens), exports and the
 * Collector on real time.
 */
async function runBoth(
  collector: Collector,
  protocol: OTLPHttpProtocol,
  temporalityPreference: AggregationTemporalityPreference,
  services: { ours: string; sdk: string }
): Promise<Workload> {
  const exporter = () =>
    new OTLPSummaryMetricExporter({
      url: collector.metricsUrl,
      protocol,
      temporalityPreference,
    });
  const clock = sinon.useFakeTimers({
    now: START,
    toFake: ['setInterval', 'clearInterval', 'Date'],
  });
  try {
    const ours = new RetentionMeterProvider({
      ...WORKLOAD_OPTIONS,
      exporter: exporter(),
      resource: resourceFromAttributes({ 'service.name': services.ours }),
    });
    const reader = new RetentionMetricReader({
      ...WORKLOAD_OPTIONS,
      exporter: exporter(),
    });
    const sdk = new MeterProvider({
      readers: [reader],
      resource: resourceFromAttributes({ 'service.name': services.sdk }),
    });
    try {
      const workload = new Workload([
        ours.getMeter(SCOPE),
        sdk.getMeter(SCOPE),
      ]);
      await runLockstep(
        workload,
        [
          { collect: () => ours.collect(), flush: () => ours.forceFlush() },
          { collect: () => reader.collect(), flush: () => reader.forceFlush() },
        ],
        START,
        millis => clock.setSystemTime(millis)
      );
      return workload;
    } finally {
      await ours.shutdown();
      await sdk.shutdown();
    }
  } finally {
    clock.restore();
  }
}

describe('end to end: RetentionMeterProvider and the SDK MeterProvider with RetentionMetricReader send the same to a real Collector', function () {
  this.timeout(120_000);
  before(function () {
    requireCollector(this);
  });

  for (const protocol of ['http/protobuf', 'http/json'] as const)
    describe(`over ${protocol}`, () => {
      let collector: Collector | undefined;
      before(async () => {
        collector = await Collector.start();
      });
      after(() => collector?.dispose());

      for (const [preference, delta] of [
        [AggregationTemporalityPreference.CUMULATIVE, false],
        [AggregationTemporalityPreference.DELTA, true],
      ] as const)
        it(`${delta ? 'delta' : 'cumulative'}: the seeded workload (every kind, churn, expiry, overflow) arrives the same, export by export`, async () => {
          const tag = `${protocol.replace('/', '-')}-${delta ? 'delta' : 'cumulative'}`;
          const services = {
            ours: `datapunk-e2e-provider-${tag}`,
            sdk: `datapunk-e2e-reader-${tag}`,
          };
          const workload = await runBoth(
            collector!,
            protocol,
            preference,
            services
          );
          await collector!.stop();
          const requests = collector!.requests();
          await collector!.restart();

          const mine = exportsOf(requests, services.ours);
          const theirs = exportsOf(requests, services.sdk);
          const exports =
            (STEPS * STEP_MILLIS) / WORKLOAD_OPTIONS.exportIntervalMillis + 1;
          expect(mine, 'exports, the last at shutdown').to.have.length(exports);
          expect(theirs).to.have.length(exports);
          mine.forEach((metrics, i) => {
            expect([...metrics.keys()].sort(), `export ${i}`).to.deep.equal(
              [...theirs[i].keys()].sort()
            );
            for (const [name, metric] of metrics)
              expectSameMetric(
                metric,
                theirs[i].get(name)!,
                `export ${i}, ${name}`
              );
          });

          // Every kind reached the Collector, churn, expiry and overflow too.
          expect([...mine[0].keys()]).to.include.members([
            'requests',
            'tenant.requests',
            'queue.depth',
            'latency',
            'latency.window',
            'job.duration',
            'temperature',
            'cpu.time',
            'connections',
            'memory.usage',
          ]);
          expect(
            mine[0].get('latency.window')!.summary,
            'a Summary'
          ).to.not.equal(undefined);
          const overflowed = (name: string) =>
            mine.some(m =>
              pointsOf(m.get(name)).some(
                p => plain(p.attributes)['otel.metric.overflow'] === true
              )
            );
          for (const name of ['tenant.requests', 'job.duration', 'temperature'])
            expect(overflowed(name), `${name} overflowed`).to.equal(true);
          const tenants = new Set(
            mine.flatMap(m =>
              pointsOf(m.get('tenant.requests')).map(
                p => plain(p.attributes).tenant
              )
            )
          );
          expect(
            pointsOf(mine[mine.length - 1].get('tenant.requests')).length,
            'expired tenants left the export'
          ).to.be.below(tenants.size);

          // The series that never expire nor overflow, against the ledger.
          const perExport = WORKLOAD_OPTIONS.exportIntervalMillis / STEP_MILLIS;
          mine.slice(0, -1).forEach((metrics, i) => {
            const from = delta ? i * perExport : 0;
            const to = (i + 1) * perExport;
            for (const route of ROUTES) {
              const total = workload.ledger.requests
                .slice(from, to)
                .reduce((a, s) => a + s.get(route)!, 0);
              for (const m of [metrics, theirs[i]]) {
                const point = pointsOf(m.get('requests')!).find(
                  p => plain(p.attributes).route === route
                ) as OtlpNumberPoint;
                expect(
                  valueOf(point),
                  `export ${i}: requests ${route}`
                ).to.equal(total);
                const values = workload.ledger.latency
                  .slice(from, to)
                  .flatMap(s => s.get(route)!);
                const histogram = pointsOf(m.get('latency')!).find(
                  p => plain(p.attributes).route === route
                ) as OtlpExponentialPoint;
                expect(Number(histogram.count)).to.equal(values.length);
                expect(histogram.min).to.equal(Math.min(...values));
                expect(histogram.max).to.equal(Math.max(...values));
                const sorted = [...values].sort((a, b) => a - b);
                const sketch = sketchOf(histogram);
                for (const q of QUANTILES) {
                  const exact = sorted[Math.floor(q * (sorted.length - 1))];
                  expect(
                    Math.abs(sketch.quantile(q) - exact),
                    `export ${i}: latency ${route} q${q}`
                  ).to.be.at.most(
                    exact * relativeErrorAt(histogram.scale ?? 0) * (1 + 1e-12)
                  );
                }
              }
            }
          });
        });
    });
});

import { expect } from 'chai';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
} from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  ExponentialHistogram,
  MetricData,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { RetentionMeterProvider, RetentionMetricReader } from '../../src';
import type { QueryResult } from '../../src';
import { T0, points } from '../util';
import {
  expectHistogram,
  lockstepClock,
  relativeErrorAt,
  sketchOf,
} from './harness';
import {
  ROUTES,
  STEPS,
  STEP_MILLIS,
  WORKLOAD_OPTIONS,
  Workload,
  runLockstep,
} from './workload';

const { CUMULATIVE, DELTA } = AggregationTemporality;
const SCOPE = 'equivalence';
/** Our own metrics that show the policy: series kept and series expired. */
const POLICY_METRICS = [
  'datapunk.metrics.series.active',
  'datapunk.metrics.series.evicted',
];
const QUANTILES = [0.01, 0.25, 0.5, 0.75, 0.9, 0.99];

/** A point's attributes as a key (sorted). */
function keyOf(point: DataPoint<unknown>): string {
  return JSON.stringify(
    Object.entries(point.attributes).sort(([a], [b]) => (a < b ? -1 : 1))
  );
}

/** The metrics of one scope by name. */
function metricsOf(
  rm: ResourceMetrics,
  scope: string
): Map<string, MetricData> {
  return new Map(
    rm.scopeMetrics
      .filter(s => s.scope.name === scope)
      .flatMap(s => s.metrics)
      .map(m => [m.descriptor.name, m])
  );
}

/**
 * Two exports hold the same metrics, each with the same descriptor, type,
 * temporality and points (attribute sets, start and end times); numbers
 * equal, histograms with equal count, sum, min and max and every quantile
 * within both sketches' relative error of the other's; window quantiles
 * (from bucket midpoints) likewise.
 */
function expectSameExport(
  ours: ResourceMetrics,
  sdk: ResourceMetrics,
  what: string
): void {
  const a = metricsOf(ours, SCOPE);
  const b = metricsOf(sdk, SCOPE);
  expect([...a.keys()].sort(), `${what}: metrics`).to.deep.equal(
    [...b.keys()].sort()
  );
  for (const [name, mine] of a) {
    const theirs = b.get(name)!;
    const label = `${what}, ${name}`;
    const head = (m: MetricData) => ({
      name: m.descriptor.name,
      description: m.descriptor.description,
      unit: m.descriptor.unit,
      valueType: m.descriptor.valueType,
      dataPointType: m.dataPointType,
      aggregationTemporality: m.aggregationTemporality,
      isMonotonic: 'isMonotonic' in m ? m.isMonotonic : undefined,
    });
    expect(head(mine), label).to.deep.equal(head(theirs));
    const theirPoints = new Map(
      (theirs.dataPoints as DataPoint<unknown>[]).map(p => [keyOf(p), p])
    );
    expect(
      (mine.dataPoints as DataPoint<unknown>[]).map(keyOf).sort(),
      `${label}: attribute sets`
    ).to.deep.equal([...theirPoints.keys()].sort());
    for (const point of mine.dataPoints as DataPoint<unknown>[]) {
      const other = theirPoints.get(keyOf(point))!;
      const at = `${label} ${keyOf(point)}`;
      expect([point.startTime, point.endTime], `${at}: times`).to.deep.equal([
        other.startTime,
        other.endTime,
      ]);
      if (mine.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM) {
        expectSameHistogram(
          point.value as ExponentialHistogram,
          other.value as ExponentialHistogram,
          at
        );
      } else if (name.endsWith('.window') || name.endsWith('.window.stddev')) {
        // From bucket midpoints: each within the sketch's error of the exact.
        const bound = 2 * relativeErrorAt(WORKLOAD_SCALE);
        expect(point.value as number, at).to.be.closeTo(
          other.value as number,
          Math.abs(other.value as number) * bound
        );
      } else if (name.endsWith('.window.mean')) {
        expect(point.value as number, at).to.be.closeTo(
          other.value as number,
          Math.abs(other.value as number) * 1e-12
        );
      } else {
        expect(point.value, at).to.equal(other.value);
      }
    }
  }
  const policy = (rm: ResourceMetrics) =>
    POLICY_METRICS.map(name =>
      points(rm, name).map(p => [p.attributes, p.value])
    );
  expect(policy(ours), `${what}: series kept and expired`).to.deep.equal(
    policy(sdk)
  );
}

/** The store's sketch scale: the workload's values fit its 520 buckets. */
const WORKLOAD_SCALE = 5;

/** Equal count, sum, min, max and zeros; each quantile within both sketches' error of the other's. */
function expectSameHistogram(
  mine: ExponentialHistogram,
  theirs: ExponentialHistogram,
  at: string
): void {
  expect(
    [mine.count, mine.sum, mine.min, mine.max, mine.zeroCount],
    `${at}: count, sum, min, max, zeros`
  ).to.deep.equal([
    theirs.count,
    theirs.sum,
    theirs.min,
    theirs.max,
    theirs.zeroCount,
  ]);
  const bound =
    relativeErrorAt(mine.scale) + relativeErrorAt(theirs.scale) + 1e-12;
  const a = sketchOf(mine);
  const b = sketchOf(theirs);
  for (const q of QUANTILES)
    expect(a.quantile(q), `${at} q${q}`).to.be.closeTo(
      b.quantile(q),
      Math.abs(b.quantile(q)) * bound
    );
}

/** Metrics the workload records, for the queries. */
const NAMES = [
  'requests',
  'tenant.requests',
  'queue.depth',
  'latency',
  'job.duration',
  'temperature',
  'cpu.time',
  'connections',
  'memory.usage',
];

interface Run {
  workload: Workload;
  /** Every export of each path, the last at shutdown. */
  mine: ResourceMetrics[];
  theirs: ResourceMetrics[];
  /** Per name: our query and the reader's, at the end. */
  queries: [QueryResult | undefined, QueryResult | undefined][];
}

/**
 * The workload on RetentionMeterProvider and on the SDK's MeterProvider
 * with a RetentionMetricReader, the same options and exporters, in
 * lockstep on fake time (restored whatever happens); both shut down.
 */
async function runBoth(
  temporality: AggregationTemporality,
  observedChurn = false
): Promise<Run> {
  const oursExporter = new InMemoryMetricExporter(temporality);
  const sdkExporter = new InMemoryMetricExporter(temporality);
  const queries: Run['queries'] = [];
  const clock = lockstepClock();
  try {
    const ours = new RetentionMeterProvider({
      ...WORKLOAD_OPTIONS,
      exporter: oursExporter,
    });
    const reader = new RetentionMetricReader({
      ...WORKLOAD_OPTIONS,
      exporter: sdkExporter,
    });
    const sdk = new MeterProvider({ readers: [reader] });
    try {
      const workload = new Workload(
        [ours.getMeter(SCOPE), sdk.getMeter(SCOPE)],
        { observedChurn }
      );
      await runLockstep(
        workload,
        [
          { collect: () => ours.collect(), flush: () => ours.forceFlush() },
          { collect: () => reader.collect(), flush: () => reader.forceFlush() },
        ],
        T0,
        millis => clock.setSystemTime(millis)
      );
      for (const name of NAMES)
        queries.push([ours.query(name), reader.query(name)]);
      return {
        workload,
        mine: oursExporter.getMetrics(),
        theirs: sdkExporter.getMetrics(),
        queries,
      };
    } finally {
      await ours.shutdown();
      await sdk.shutdown();
    }
  } finally {
    clock.restore();
  }
}

describe('RetentionMeterProvider and the SDK MeterProvider with RetentionMetricReader: one store, one policy', () => {
  for (const temporality of [CUMULATIVE, DELTA])
    it(`${AggregationTemporality[temporality]}: a seeded workload (every kind, churn, expiry, overflow) exports the same, export by export`, async () => {
      const { workload, mine, theirs, queries } = await runBoth(temporality);
      const exports =
        (STEPS * STEP_MILLIS) / WORKLOAD_OPTIONS.exportIntervalMillis + 1;
      expect(mine, 'exports, the last at shutdown').to.have.length(exports);
      expect(theirs).to.have.length(exports);
      mine.forEach((rm, i) => expectSameExport(rm, theirs[i], `export ${i}`));

      // The workload did churn, expire and overflow.
      const last = mine[mine.length - 2];
      expect(
        points(last, 'datapunk.metrics.series.evicted')[0].value,
        'series expired'
      ).to.be.above(10);
      for (const name of ['tenant.requests', 'job.duration', 'temperature'])
        expect(
          mine.some(rm =>
            points(rm, name).some(
              p => p.attributes['otel.metric.overflow'] === true
            )
          ),
          `${name} overflowed`
        ).to.equal(true);

      // The series that never expire nor overflow, against what was recorded.
      const perExport = WORKLOAD_OPTIONS.exportIntervalMillis / STEP_MILLIS;
      mine.slice(0, -1).forEach((rm, i) => {
        const steps = (from: number) =>
          workload.ledger.requests.slice(from, (i + 1) * perExport);
        const from = temporality === CUMULATIVE ? 0 : i * perExport;
        for (const route of ROUTES) {
          const total = steps(from).reduce((a, s) => a + s.get(route)!, 0);
          for (const rmOf of [rm, theirs[i]]) {
            expect(
              points(rmOf, 'requests').find(p => p.attributes.route === route)!
                .value,
              `export ${i}: requests ${route}`
            ).to.equal(total);
            const values = workload.ledger.latency
              .slice(from, (i + 1) * perExport)
              .flatMap(s => s.get(route)!);
            expectHistogram(
              points<ExponentialHistogram>(rmOf, 'latency').find(
                p => p.attributes.route === route
              )!.value,
              values,
              `export ${i}: latency ${route}`
            );
          }
        }
      });

      // Queries over the retained history agree too, but for gauges'
      // statistics: the provider keeps every measurement of a gauge, the
      // SDK hands over one per collection (its last).
      NAMES.forEach((name, i) => {
        const [mine, sdks] = queries[i];
        if (mine?.kind !== 'gauge')
          expect(mine, `query ${name}`).to.deep.equal(sdks);
        else {
          const { count, sum, mean, stddev, ...same } = mine;
          expect(count, `query ${name} count`).to.be.at.least(sdks!.count!);
          expect([sum, mean, stddev]).to.not.include(undefined);
          expect(same, `query ${name}`).to.deep.include({
            last: sdks!.last,
            series: sdks!.series,
            fromMillis: sdks!.fromMillis,
            toMillis: sdks!.toMillis,
          });
        }
      });
    });

  it('observable sets that come and go: a set no longer observed leaves both exports at once, until the SDK has seen twice the limit of sets', async () => {
    const { mine, theirs } = await runBoth(CUMULATIVE, true);
    expect(mine).to.have.length(theirs.length);
    // Export i follows step 4i + 3; by step k the workload has observed
    // cores 0 and 1 and workers w0…w⌊k/8⌋. The SDK remembers every set an
    // observable ever reported and folds those past its limit (twice ours,
    // less its overflow series) into its overflow series.
    const sdkLimit = 2 * WORKLOAD_OPTIONS.limits.maxSeriesPerMetric;
    const setsBy = (exportIndex: number) =>
      2 + Math.floor((4 * exportIndex + 3) / 8) + 1;
    const firstOverflow = mine.findIndex((_, i) => setsBy(i) > sdkLimit - 1);
    expect(firstOverflow, 'workers came and went before').to.be.above(8);
    for (let i = 0; i < firstOverflow; i++)
      expectSameExport(mine[i], theirs[i], `export ${i}`);
    const overflowed = (rm: ResourceMetrics) =>
      points(rm, 'cpu.time').some(
        p => p.attributes['otel.metric.overflow'] === true
      );
    expect(mine.some(overflowed), 'ours forgets sets no longer observed').to.be
      .false;
    expect(
      theirs.slice(firstOverflow).every(overflowed),
      'the SDK overflows from then on'
    ).to.be.true;
  });
});

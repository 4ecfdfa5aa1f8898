/**
 * The reader against the SDK's PeriodicExportingMetricReader, in one process:
 * record cost, collect+export time and heap at 1k / 10k / 100k series, and
 * heap per histogram series under default retention.
 *
 *   npm run bench:metrics         (from the repository root)
 *
 * A script, not a test: compare the ratios. Writes bench-results/metrics.json.
 */
import type { Attributes } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type {
  AggregationOption,
  MetricReader,
  PushMetricExporter,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { median, retainedBytes, writeResults } from '@datapunk/bench-kit';
import { RetentionMetricReader } from '../src';
import { fakeClock } from '../test/util';

const RECORDS = 1_000_000;
const ROUNDS = 7;
const SERIES_COUNTS = [1_000, 10_000, 100_000];
const RETENTION_SERIES = 1_000;
const RETENTION_MINUTES = 70;

/** Accepts everything at once: measures the reader, not a network. */
class NullExporter implements PushMetricExporter {
  private readonly _aggregation: AggregationOption;
  constructor(
    aggregation: AggregationOption = { type: AggregationType.DEFAULT }
  ) {
    this._aggregation = aggregation;
  }
  export(
    _metrics: ResourceMetrics,
    done: (result: ExportResult) => void
  ): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  selectAggregation(): AggregationOption {
    return this._aggregation;
  }
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

const EXPONENTIAL: AggregationOption = {
  type: AggregationType.EXPONENTIAL_HISTOGRAM,
  options: { maxSize: 520 },
};

interface Setup {
  name: string;
  reader(seriesLimit: number): MetricReader;
}

const SETUPS: Setup[] = [
  {
    name: 'RetentionMetricReader (defaults)',
    reader: limit =>
      new RetentionMetricReader({
        exporter: new NullExporter(),
        // No timer fires during a measurement: flushes are explicit.
        collectionIntervalMillis: 600_000,
        exportIntervalMillis: 600_000,
        seriesTtlMillis: 3_600_000,
        limits: { maxSeriesPerMetric: limit, maxRetainedBytes: 2 ** 40 },
      }),
  },
  {
    name: 'PeriodicExportingMetricReader (explicit buckets)',
    reader: limit =>
      new PeriodicExportingMetricReader({
        exporter: new NullExporter(),
        exportIntervalMillis: 3_600_000,
        cardinalityLimits: { histogram: limit },
      }),
  },
  {
    name: 'PeriodicExportingMetricReader (exponential, 520)',
    reader: limit =>
      new PeriodicExportingMetricReader({
        exporter: new NullExporter(EXPONENTIAL),
        exportIntervalMillis: 3_600_000,
        cardinalityLimits: { histogram: limit },
      }),
  },
];

/** ns per Histogram.record(v, 4 attributes), each setup in its own provider. */
async function recordCost(): Promise<Record<string, number>> {
  const attributes: Attributes = {
    'http.route': '/api/orders',
    'http.method': 'GET',
    'http.status_code': 200,
    region: 'eu-west-1',
  };
  const values = Float64Array.from(
    { length: RECORDS },
    (_, i) => 1 + ((i * 7919) % 1000) / 10
  );
  const providers = SETUPS.map(
    setup => new MeterProvider({ readers: [setup.reader(2000)] })
  );
  const histograms = providers.map(p =>
    p.getMeter('bench').createHistogram('latency', { unit: 'ms' })
  );
  const times = SETUPS.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < SETUPS.length; k++) {
      const i = (k + round) % SETUPS.length;
      const histogram = histograms[i];
      const start = process.hrtime.bigint();
      for (let j = 0; j < RECORDS; j++) histogram.record(values[j], attributes);
      times[i].push(Number(process.hrtime.bigint() - start) / RECORDS);
    }
  }
  await Promise.all(providers.map(p => p.shutdown()));
  return Object.fromEntries(
    SETUPS.map((setup, i) => [setup.name, median(times[i])])
  );
}

interface ScaleRow {
  setup: string;
  series: number;
  firstFlushMillis: number;
  steadyFlushMillis: number;
  heapBytes: number;
}

/** Collect+export time and retained heap with `series` histogram series of one value each. */
async function scale(setup: Setup, series: number): Promise<ScaleRow> {
  const attributes = Array.from({ length: series }, (_, i) => ({
    'customer.id': `c-${i}`,
  }));
  const before = retainedBytes();
  const reader = setup.reader(series + 1);
  const provider = new MeterProvider({ readers: [reader] });
  const histogram = provider
    .getMeter('bench')
    .createHistogram('latency', { unit: 'ms' });
  for (let i = 0; i < series; i++)
    histogram.record(1 + (i % 100), attributes[i]);
  let start = performance.now();
  await reader.forceFlush();
  const firstFlushMillis = performance.now() - start;
  for (let i = 0; i < series; i++)
    histogram.record(2 + (i % 100), attributes[i]);
  start = performance.now();
  await reader.forceFlush();
  const steadyFlushMillis = performance.now() - start;
  const heapBytes = retainedBytes() - before;
  await provider.shutdown();
  return {
    setup: setup.name,
    series,
    firstFlushMillis,
    steadyFlushMillis,
    heapBytes,
  };
}

/**
 * Heap per histogram series after 70 minutes (fake time) of 20 values per
 * series per 10-s collection, with the default retention (10 s for 10 min,
 * 1 min for 1 h, 5-minute summary window); and the reader's own estimate.
 */
async function retentionHeap(): Promise<{
  measuredBytesPerSeries: number;
  estimatedBytesPerSeries: number;
}> {
  const clock = fakeClock();
  try {
    const attributes = Array.from({ length: RETENTION_SERIES }, (_, i) => ({
      'customer.id': `c-${i}`,
    }));
    const before = retainedBytes();
    const reader = new RetentionMetricReader({
      limits: { maxSeriesPerMetric: RETENTION_SERIES + 1 },
    });
    const provider = new MeterProvider({ readers: [reader] });
    const histogram = provider
      .getMeter('bench')
      .createHistogram('latency', { unit: 'ms' });
    let seed = 1;
    for (let collection = 0; collection < RETENTION_MINUTES * 6; collection++) {
      for (let i = 0; i < RETENTION_SERIES; i++) {
        for (let v = 0; v < 20; v++) {
          seed = (seed * 48271) % 2147483647;
          histogram.record(
            20 * Math.exp(2 * (seed / 2147483647) - 1),
            attributes[i]
          );
        }
      }
      await clock.tickAsync(10_000);
    }
    const measured = (retainedBytes() - before) / RETENTION_SERIES;
    const { resourceMetrics } = await reader.collect();
    const estimate = resourceMetrics.scopeMetrics
      .flatMap(s => s.metrics)
      .filter(m => m.descriptor.name === 'datapunk.metrics.retained.bytes')
      .flatMap(m => m.dataPoints as { value: number }[])
      .reduce((total, p) => total + p.value, 0);
    await provider.shutdown();
    return {
      measuredBytesPerSeries: measured,
      estimatedBytesPerSeries: estimate / RETENTION_SERIES,
    };
  } finally {
    clock.restore();
  }
}

async function main(): Promise<void> {
  console.log(
    `Node ${process.version}; ${RECORDS.toLocaleString('en')} records per round, median of ${ROUNDS}\n`
  );
  const record = await recordCost();
  const ours = record[SETUPS[0].name];
  console.log('Histogram.record(v, 4 attributes)');
  for (const [name, ns] of Object.entries(record)) {
    console.log(
      `  ${name.padEnd(52)} ${ns.toFixed(0).padStart(5)} ns   ours / this = ${(ours / ns).toFixed(2)}`
    );
  }

  const rows: ScaleRow[] = [];
  for (const series of SERIES_COUNTS) {
    for (const setup of SETUPS.slice(0, 2))
      rows.push(await scale(setup, series));
  }
  console.log(
    '\nforceFlush (collect + export) with one value per histogram series'
  );
  console.log(
    '  series   setup                                               first ms  steady ms   heap MB   heap B/series'
  );
  for (const row of rows) {
    console.log(
      `  ${String(row.series).padStart(6)}   ${row.setup.padEnd(52)} ${row.firstFlushMillis.toFixed(1).padStart(8)} ${row.steadyFlushMillis.toFixed(1).padStart(10)} ${(row.heapBytes / 2 ** 20).toFixed(1).padStart(9)} ${(row.heapBytes / row.series).toFixed(0).padStart(15)}`
    );
  }
  console.log('  ratios, ours / PeriodicExportingMetricReader:');
  for (const series of SERIES_COUNTS) {
    const [a, b] = rows.filter(r => r.series === series);
    console.log(
      `    ${String(series).padStart(6)} series: steady flush ${(a.steadyFlushMillis / b.steadyFlushMillis).toFixed(2)}×, heap ${(a.heapBytes / b.heapBytes).toFixed(2)}×`
    );
  }

  const retention = await retentionHeap();
  console.log(
    `\nheap per histogram series, default retention, ${RETENTION_MINUTES} min of 2 values/s:`
  );
  console.log(
    `  measured ${(retention.measuredBytesPerSeries / 1024).toFixed(1)} KB; the reader's estimate ${(retention.estimatedBytesPerSeries / 1024).toFixed(1)} KB`
  );

  writeResults('metrics', { recordNanos: record, scale: rows, retention });
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});

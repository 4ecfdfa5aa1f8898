/**
 * A diagnostic, not part of the table: where our provider's memory goes
 * on the scale workload, fast (a fake clock; no timing is measured). N
 * series, 20,000 records/s spread over them by the workload's seeded
 * sequence, a collection and export every 2 s for 20 simulated seconds
 * (the warm-up and the measured window), then memory (heapUsed +
 * arrayBuffers after a forced GC, minus before the provider) beside what
 * the store says it holds, by part.
 *
 *   node --expose-gc memoryParts.js <series> [seconds]
 */
import { retainedBytes } from '@datapunk/bench-kit';
import { RetentionMeterProvider } from '../../src';
import { fakeClock, T0 } from '../../test/util';
import { NullExporter } from './NullExporter';
import { METRIC_NAME, seriesLimitFor } from './paths';
import { selfMetricsOf } from './selfMetrics';
import {
  COLLECTION_INTERVAL_MILLIS,
  EXPORT_INTERVAL_MILLIS,
  RECORDS_PER_TICK,
  SERIES_SEED,
  TICK_MILLIS,
  latencies,
  seededIntegers,
  seriesAttributes,
} from './workload';

const RETAINED_BYTES = 'datapunk.metrics.retained.bytes';

async function measure(series: number, seconds: number): Promise<void> {
  const clock = fakeClock();
  try {
    const attributes = seriesAttributes(series);
    const values = latencies();
    const mask = values.length - 1;
    const nextSeries = seededIntegers(SERIES_SEED);
    const before = retainedBytes();
    const exporter = new NullExporter(METRIC_NAME);
    const provider = new RetentionMeterProvider({
      exporter,
      collectionIntervalMillis: COLLECTION_INTERVAL_MILLIS,
      exportIntervalMillis: EXPORT_INTERVAL_MILLIS,
      limits: { maxSeriesPerMetric: seriesLimitFor(series) },
    });
    const histogram = provider.getMeter('bench').createHistogram(METRIC_NAME);
    for (let i = 0; i < series; i++)
      histogram.record(values[i & mask], attributes[i]);
    const perCollection =
      (RECORDS_PER_TICK * COLLECTION_INTERVAL_MILLIS) / TICK_MILLIS;
    let made = 0;
    const steps = (seconds * 1000) / COLLECTION_INTERVAL_MILLIS;
    for (let step = 1; step <= steps; step++) {
      for (let i = 0; i < perCollection; i++)
        histogram.record(
          values[made++ & mask],
          attributes[nextSeries() % series]
        );
      clock.setSystemTime(T0 + step * COLLECTION_INTERVAL_MILLIS);
      await provider.forceFlush();
    }
    const measured = retainedBytes(attributes, values) - before;
    const collection = await provider.collect();
    const self = selfMetricsOf(collection);
    const parts: Record<string, number> = {};
    for (const scope of collection.resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics)
        if (metric.descriptor.name === RETAINED_BYTES)
          for (const point of metric.dataPoints)
            parts[String(point.attributes.part)] = point.value as number;
    console.log(
      JSON.stringify({
        series,
        seconds,
        measuredBytes: measured,
        bytesPerSeries: Math.round(measured / series),
        retainedBytes: self[RETAINED_BYTES],
        parts,
      })
    );
    await provider.shutdown();
  } finally {
    clock.restore();
  }
}

const [series, seconds] = process.argv.slice(2);
measure(Number(series), Number(seconds ?? 20)).catch(error => {
  console.error(error);
  process.exitCode = 1;
});

import { DataPointType } from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  Histogram,
  MetricData,
} from '@opentelemetry/sdk-metrics';
import type {
  ExponentialSketch,
  ExponentialSketchOptions,
} from '@datapunk/otel-sketch';
import type { HistogramAggregate } from '../HistogramAggregate';
import type { MetricHead } from './Aggregator';
import { HistogramAggregator } from './HistogramAggregator';

/**
 * Histograms a View asks to export with explicit bucket boundaries. The
 * data is kept as every histogram is (an exponential sketch: percentiles,
 * history and merges stay exact), and each point is exported with counts
 * per explicit bucket: a sketch bucket counts in the explicit bucket that
 * holds its midpoint, so a count near a boundary can sit one bucket off, by
 * at most the sketch's relative error of that boundary.
 */
export class ExplicitHistogramAggregator extends HistogramAggregator {
  private readonly _boundaries: readonly number[];

  constructor(
    sketch: Required<ExponentialSketchOptions>,
    quantiles: readonly number[],
    boundaries: readonly number[]
  ) {
    super(sketch, quantiles);
    this._boundaries = boundaries;
  }

  override pointValue(aggregate: HistogramAggregate): Histogram {
    return explicitBuckets(aggregate.sketch, this._boundaries);
  }

  override toMetricData(
    head: MetricHead,
    points: DataPoint<unknown>[]
  ): MetricData {
    return {
      descriptor: head.descriptor,
      aggregationTemporality: head.aggregationTemporality,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: points as DataPoint<Histogram>[],
    };
  }
}

/**
 * A sketch of non-negative values as counts per explicit bucket (by bucket
 * midpoint), read from its buckets in place.
 */
export function explicitBuckets(
  sketch: ExponentialSketch,
  boundaries: readonly number[]
): Histogram {
  const counts = new Array<number>(boundaries.length + 1).fill(0);
  // Values of zero go to the first bucket whose upper bound is ≥ 0.
  counts[upperIndex(boundaries, 0)] += sketch.zeroCount;
  const base = 2 ** (2 ** -sketch.scale);
  const { counts: bucketCounts, offset, from, to } = sketch.buckets();
  for (let i = from; i < to; i++) {
    if (bucketCounts[i] === 0) continue;
    const lower = base ** (offset + i - from);
    const midpoint = (2 * lower * base) / (1 + base);
    counts[upperIndex(boundaries, midpoint)] += bucketCounts[i];
  }
  const count = sketch.count;
  return {
    buckets: { boundaries: [...boundaries], counts },
    count,
    sum: sketch.sum,
    ...(count > 0 ? { min: sketch.min, max: sketch.max } : {}),
  };
}

/** The explicit bucket holding `value`: the first whose upper boundary is ≥ it. */
function upperIndex(boundaries: readonly number[], value: number): number {
  let low = 0;
  let high = boundaries.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (boundaries[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

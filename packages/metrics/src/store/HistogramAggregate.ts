import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';
import { quantileKey } from '@datapunk/otel-common';
import { MetricKind } from '../types';
import type { Aggregate } from './Aggregate';
import { AGGREGATE_OVERHEAD_BYTES } from './Aggregate';

/** Carries another form of histogram into a sketch (JS is single-threaded). */
const transfer = new ByteWriter();

/** A distribution over some time, in an exponential sketch. */
export class HistogramAggregate implements Aggregate {
  readonly kind = MetricKind.HISTOGRAM;
  readonly sketch: ExponentialSketch;
  /** Quantiles a query reports, shared by every aggregate of a reader. */
  private readonly _quantiles: readonly number[];

  constructor(sketch: ExponentialSketch, quantiles: readonly number[]) {
    this.sketch = sketch;
    this._quantiles = quantiles;
  }

  get isEmpty(): boolean {
    return this.sketch.count === 0;
  }

  get retainedBytes(): number {
    return AGGREGATE_OVERHEAD_BYTES + this.sketch.retainedBytes;
  }

  merge(later: Aggregate): void {
    if (later instanceof HistogramAggregate) {
      this.sketch.merge(later.sketch);
      return;
    }
    // Another form of histogram (a packed one): through its binary form.
    if (later.isEmpty) return;
    transfer.truncate(0);
    later.writeTo(transfer);
    this.sketch.mergeFrom(new ByteReader(transfer.bytes));
  }

  clear(): void {
    this.sketch.clear();
  }

  writeTo(writer: ByteWriter): void {
    this.sketch.writeTo(writer);
  }

  mergeFrom(reader: ByteReader): void {
    this.sketch.mergeFrom(reader);
  }

  toPointValue(): ExponentialHistogram {
    return this.sketch.toExponentialHistogram() as ExponentialHistogram;
  }

  describe() {
    const sketch = this.sketch;
    const [median, ...values] = sketch.quantiles([0.5, ...this._quantiles]);
    const percentiles: Record<string, number> = {};
    this._quantiles.forEach(
      (q, i) => (percentiles[quantileKey(q)] = values[i])
    );
    return {
      count: sketch.count,
      sum: sketch.sum,
      min: sketch.min,
      max: sketch.max,
      mean: sketch.mean,
      median,
      stddev: sketch.stddev,
      percentiles,
    };
  }

  toJSON() {
    return this.sketch.toJSON();
  }

  static fromJSON(
    json: unknown,
    quantiles: readonly number[]
  ): HistogramAggregate {
    return new HistogramAggregate(ExponentialSketch.fromJSON(json), quantiles);
  }
}

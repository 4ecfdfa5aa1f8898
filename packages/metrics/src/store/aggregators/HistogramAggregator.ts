import { DataPointType } from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  ExponentialHistogram,
  MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  ExponentialSketch,
  MAX_SCALE,
  MIN_SCALE,
  getMapping,
} from '@datapunk/otel-sketch';
import type { Base2Mapping } from '@datapunk/otel-sketch';
import type {
  BucketBlock,
  ExponentialSketchOptions,
} from '@datapunk/otel-sketch';
import { MetricKind } from '../../types';
import { Arena, chunkOf, offsetOf } from '../arena/Arena';
import { ColumnSet } from '../arena/columns';
import { columnBytes } from '../arena/HeldBytes';
import type { HeldBytes } from '../arena/HeldBytes';
import { HistogramAggregate } from '../HistogramAggregate';
import type { Aggregator, MetricHead } from './Aggregator';

const NONE = -1;
const EMPTY: Float64Array = new Float64Array(0);
/** Mappings by scale − MIN_SCALE, looked up without checks on the record path. */
const MAPPINGS: Base2Mapping[] = [];
for (let scale = MIN_SCALE; scale <= MAX_SCALE; scale++)
  MAPPINGS.push(getMapping(scale));

function mappingAt(scale: number): Base2Mapping {
  return MAPPINGS[scale - MIN_SCALE];
}
/** Buckets of a new block: values within a factor of ~1.4 at scale 5 fit. */
const FIRST_BLOCK = 16;
const BUCKET_BYTES = 8;

/** The block a current delta is drained through (JS is single-threaded). */
const positive: {
  counts: Float64Array;
  offset: number;
  from: number;
  to: number;
} = { counts: new Float64Array(0), offset: 0, from: 0, to: 0 };
const drained: BucketBlock = {
  scale: 0,
  positive,
  zeroCount: 0,
  sum: 0,
  min: 0,
  max: 0,
};

/**
 * Histograms: per series a base-2 exponential histogram of non-negative
 * values (OpenTelemetry's buckets, as the sketch keeps them), its counts in
 * a dense block of one arena per stream, from the lowest to the highest
 * bucket recorded, its scale lowered when the range would need more than
 * maxBuckets. A record is a mapping and an add: no hashing, no allocation.
 * A series holds a block only between its first record and the next
 * collection, which drains the delta and gives the block back.
 */
export class HistogramAggregator implements Aggregator<HistogramAggregate> {
  readonly kind = MetricKind.HISTOGRAM;
  readonly ordered = false;
  private readonly _sketch: Required<ExponentialSketchOptions>;
  private readonly _quantiles: readonly number[];
  private readonly _buckets = new Arena();
  private _scale = new Int8Array(0);
  /** Index of the bucket at the block's first element. */
  private _base = new Int32Array(0);
  private _low = new Int32Array(0);
  private _high = new Int32Array(0);
  /** The block's handle, NONE without one. */
  private _block = new Int32Array(0);
  /** Where the block starts in its chunk's Float64Array view. */
  private _at = new Int32Array(0);
  private _size = new Int32Array(0);
  private _zero = new Float64Array(0);
  private _count = new Float64Array(0);
  private _sum = new Float64Array(0);
  private _min = new Float64Array(0);
  private _max = new Float64Array(0);
  private readonly _columns: ColumnSet;

  constructor(
    sketch: Required<ExponentialSketchOptions>,
    quantiles: readonly number[]
  ) {
    this._sketch = sketch;
    this._quantiles = quantiles;
    // New series start empty (see _empty).
    this._columns = new ColumnSet([
      {
        get: () => this._scale,
        set: c => (this._scale = c as Int8Array<ArrayBuffer>),
        fill: sketch.maxScale,
      },
      {
        get: () => this._base,
        set: c => (this._base = c as Int32Array<ArrayBuffer>),
      },
      {
        get: () => this._low,
        set: c => (this._low = c as Int32Array<ArrayBuffer>),
      },
      {
        get: () => this._high,
        set: c => (this._high = c as Int32Array<ArrayBuffer>),
        fill: -1,
      },
      {
        get: () => this._block,
        set: c => (this._block = c as Int32Array<ArrayBuffer>),
        fill: NONE,
      },
      {
        get: () => this._at,
        set: c => (this._at = c as Int32Array<ArrayBuffer>),
      },
      {
        get: () => this._size,
        set: c => (this._size = c as Int32Array<ArrayBuffer>),
      },
      {
        get: () => this._zero,
        set: c => (this._zero = c as Float64Array<ArrayBuffer>),
      },
      {
        get: () => this._count,
        set: c => (this._count = c as Float64Array<ArrayBuffer>),
      },
      {
        get: () => this._sum,
        set: c => (this._sum = c as Float64Array<ArrayBuffer>),
      },
      {
        get: () => this._min,
        set: c => (this._min = c as Float64Array<ArrayBuffer>),
        fill: Infinity,
      },
      {
        get: () => this._max,
        set: c => (this._max = c as Float64Array<ArrayBuffer>),
        fill: -Infinity,
      },
    ]);
  }

  addHeldBytes(into: HeldBytes): void {
    into.current += this._buckets.usedBytes;
    into.free += this._buckets.byteLength - this._buckets.usedBytes;
    into.columns += columnBytes(
      this._scale,
      this._base,
      this._low,
      this._high,
      this._block,
      this._at,
      this._size,
      this._zero,
      this._count,
      this._sum,
      this._min,
      this._max
    );
  }

  create(): HistogramAggregate {
    return new HistogramAggregate(
      new ExponentialSketch(this._sketch),
      this._quantiles
    );
  }

  reserve(series: number): void {
    this._columns.reserve(series);
  }

  record(series: number, value: number): void {
    this._count[series]++;
    this._sum[series] += value;
    if (value < this._min[series]) this._min[series] = value;
    if (value > this._max[series]) this._max[series] = value;
    if (value === 0) {
      this._zero[series]++;
      return;
    }
    const index = mappingAt(this._scale[series]).mapToIndex(value);
    const offset = index - this._base[series];
    if (
      this._block[series] !== NONE &&
      offset >= 0 &&
      offset < this._size[series] &&
      index >= this._low[series] &&
      index <= this._high[series]
    ) {
      this._buckets.f64[chunkOf(this._block[series])][
        this._at[series] + offset
      ]++;
      return;
    }
    this._add(series, this._scale[series], index, 1);
  }

  absorb(series: number, point: DataPoint<unknown>): void {
    const value = point.value as ExponentialHistogram;
    // The sketch checks the point (it throws before anything changes).
    const sketch = ExponentialSketch.fromExponentialHistogram(
      value,
      this._sketch
    );
    const counts = sketch.toExponentialHistogram();
    this._count[series] += counts.count;
    this._sum[series] += counts.sum ?? 0;
    this._zero[series] += counts.zeroCount;
    if (counts.count > 0) {
      if ((counts.min ?? Infinity) < this._min[series])
        this._min[series] = counts.min!;
      if ((counts.max ?? -Infinity) > this._max[series])
        this._max[series] = counts.max!;
    }
    const { offset, bucketCounts } = counts.positive;
    for (let i = 0; i < bucketCounts.length; i++)
      if (bucketCounts[i] > 0)
        this._add(series, counts.scale, offset + i, bucketCounts[i]);
  }

  drain(series: number, into: HistogramAggregate): void {
    if (this._count[series] === 0) return;
    drained.scale = this._scale[series];
    drained.zeroCount = this._zero[series];
    drained.sum = this._sum[series];
    drained.min = this._min[series];
    drained.max = this._max[series];
    const block = this._block[series];
    const low = this._low[series];
    const high = this._high[series];
    const occupied = block !== NONE && low <= high;
    const at = this._at[series];
    if (occupied) positive.counts = this._buckets.f64[chunkOf(block)];
    positive.offset = low;
    positive.from = occupied ? at + low - this._base[series] : 0;
    positive.to = occupied ? at + high - this._base[series] + 1 : 0;
    drained.positive = occupied ? positive : undefined;
    into.sketch.mergeBuckets(drained);
    positive.counts = EMPTY;
    // The block goes back: most series see few records between collections.
    if (block !== NONE) {
      this._buckets.free(block);
      this._block[series] = NONE;
      this._size[series] = 0;
    }
    this._count[series] = 0;
    this._zero[series] = 0;
    this._sum[series] = 0;
    this._min[series] = Infinity;
    this._max[series] = -Infinity;
    this._low[series] = 0;
    this._high[series] = -1;
  }

  release(series: number): void {
    if (this._block[series] !== NONE) this._buckets.free(this._block[series]);
    this._block[series] = NONE;
    this._empty(series);
  }

  pointValue(aggregate: HistogramAggregate): unknown {
    return aggregate.toPointValue();
  }

  toMetricData(head: MetricHead, points: DataPoint<unknown>[]): MetricData {
    return {
      descriptor: head.descriptor,
      aggregationTemporality: head.aggregationTemporality,
      dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      dataPoints: points as DataPoint<ExponentialHistogram>[],
    };
  }

  private _empty(series: number): void {
    this._scale[series] = this._sketch.maxScale;
    this._size[series] = 0;
    this._base[series] = 0;
    this._low[series] = 0;
    this._high[series] = -1;
    this._zero[series] = 0;
    this._count[series] = 0;
    this._sum[series] = 0;
    this._min[series] = Infinity;
    this._max[series] = -Infinity;
  }

  /**
   * Adds `count` to the bucket `index` at `scale` (≥ the series' scale, or
   * the series' is lowered to it), making room: a larger block, or a lower
   * scale when the range would pass maxBuckets.
   */
  private _add(
    series: number,
    scale: number,
    index: number,
    count: number
  ): void {
    if (scale > this._scale[series]) {
      index >>= scale - this._scale[series];
    } else if (scale < this._scale[series]) {
      this._downscale(series, this._scale[series] - scale);
    }
    const empty = this._low[series] > this._high[series];
    let low = empty ? index : Math.min(this._low[series], index);
    let high = empty ? index : Math.max(this._high[series], index);
    let change = 0;
    while ((high >> change) - (low >> change) + 1 > this._sketch.maxBuckets)
      change++;
    if (change > 0) {
      this._downscale(series, change);
      index >>= change;
      low >>= change;
      high >>= change;
    }
    this._ensure(series, low, high);
    this._buckets.f64[chunkOf(this._block[series])][
      this._at[series] + index - this._base[series]
    ] += count;
    this._low[series] = low;
    this._high[series] = high;
  }

  /** Merges each bucket i into bucket i >> change, in place. */
  private _downscale(series: number, change: number): void {
    this._scale[series] -= change;
    if (this._low[series] > this._high[series]) {
      this._base[series] >>= change;
      return;
    }
    const data = this._buckets.f64[chunkOf(this._block[series])];
    const at = this._at[series];
    const base = this._base[series];
    const low = this._low[series];
    const high = this._high[series];
    const newBase = base >> change;
    // Targets never run ahead of sources: i >> change - newBase ≤ i - base.
    for (let i = low; i <= high; i++) {
      const count = data[at + i - base];
      data[at + i - base] = 0;
      data[at + (i >> change) - newBase] += count;
    }
    this._base[series] = newBase;
    this._low[series] = low >> change;
    this._high[series] = high >> change;
  }

  /** A block holding buckets `low`..`high` (moving what it holds), zeroed elsewhere. */
  private _ensure(series: number, low: number, high: number): void {
    const block = this._block[series];
    const base = this._base[series];
    if (block !== NONE && low >= base && high < base + this._size[series])
      return;
    const span = high - low + 1;
    const arena = this._buckets;
    const moved = arena.allocate(
      Math.max(FIRST_BLOCK, span * 2) * BUCKET_BYTES
    );
    const size = (arena.capacityOf(moved) / BUCKET_BYTES) | 0;
    // Slack on both sides: the range may grow either way.
    const newBase = low - ((size - span) >> 1);
    const to = arena.f64[chunkOf(moved)];
    const at = offsetOf(moved) / BUCKET_BYTES;
    to.fill(0, at, at + size);
    if (block !== NONE) {
      if (this._low[series] <= this._high[series]) {
        const from = arena.f64[chunkOf(block)];
        const old = this._at[series] - base;
        to.set(
          from.subarray(old + this._low[series], old + this._high[series] + 1),
          at + this._low[series] - newBase
        );
      }
      arena.free(block);
    }
    this._block[series] = moved;
    this._at[series] = at;
    this._size[series] = size;
    this._base[series] = newBase;
  }
}

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
import { Arena, CHUNK_BYTES, chunkOf, offsetOf } from '../arena/Arena';
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
/**
 * A current delta's block, in float64 words from its payload: count, sum,
 * min, max and zero count; then (as int32 words, at twice those offsets)
 * its scale, the bucket index at its first count, the lowest and highest
 * bucket recorded and its bucket capacity; then the counts.
 */
const COUNT = 0;
const SUM = 1;
const MIN = 2;
const MAX = 3;
const ZERO = 4;
const SCALE = 10;
const BASE = 11;
const LOW = 12;
const HIGH = 13;
const SIZE = 14;
const HEADER_WORDS = 8;

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
 * values (OpenTelemetry's buckets, as the sketch keeps them). A series'
 * current delta is one block of one arena per stream, from its first
 * record to the next collection, which drains it and gives it back: its
 * count, sum, min, max, zero count and scale, then dense counts from the
 * lowest to the highest bucket recorded, the scale lowered when the range
 * would need more than maxBuckets. A series without a delta holds an int32
 * (most see few records between collections, many none). A record is a
 * mapping and an add: no hashing, no allocation.
 */
export class HistogramAggregator implements Aggregator<HistogramAggregate> {
  readonly kind = MetricKind.HISTOGRAM;
  readonly ordered = false;
  private readonly _sketch: Required<ExponentialSketchOptions>;
  private readonly _quantiles: readonly number[];
  // Emptied at every collection and filled again: later chunks whole at once.
  private readonly _buckets = new Arena(1024, CHUNK_BYTES);
  /** Each series' current delta block, NONE without one. */
  private _block = new Int32Array(0);
  private readonly _columns: ColumnSet;

  constructor(
    sketch: Required<ExponentialSketchOptions>,
    quantiles: readonly number[]
  ) {
    this._sketch = sketch;
    this._quantiles = quantiles;
    this._columns = new ColumnSet([
      {
        get: () => this._block,
        set: c => (this._block = c as Int32Array<ArrayBuffer>),
        fill: NONE,
      },
    ]);
  }

  addHeldBytes(into: HeldBytes): void {
    into.current += this._buckets.usedBytes;
    into.free += this._buckets.byteLength - this._buckets.usedBytes;
    into.columns += columnBytes(this._block);
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
    let block = this._block[series];
    if (block === NONE) block = this._open(series);
    const chunk = chunkOf(block);
    const f64 = this._buckets.f64[chunk];
    const h = offsetOf(block) >> 3;
    f64[h + COUNT]++;
    f64[h + SUM] += value;
    if (value < f64[h + MIN]) f64[h + MIN] = value;
    if (value > f64[h + MAX]) f64[h + MAX] = value;
    if (value === 0) {
      f64[h + ZERO]++;
      return;
    }
    const i32 = this._buckets.i32[chunk];
    const w = h << 1;
    const index = mappingAt(i32[w + SCALE]).mapToIndex(value);
    const offset = index - i32[w + BASE];
    if (
      offset >= 0 &&
      offset < i32[w + SIZE] &&
      index >= i32[w + LOW] &&
      index <= i32[w + HIGH]
    ) {
      f64[h + HEADER_WORDS + offset]++;
      return;
    }
    this._add(series, i32[w + SCALE], index, 1);
  }

  absorb(series: number, point: DataPoint<unknown>): void {
    const value = point.value as ExponentialHistogram;
    // The sketch checks the point (it throws before anything changes).
    const sketch = ExponentialSketch.fromExponentialHistogram(
      value,
      this._sketch
    );
    const counts = sketch.toExponentialHistogram();
    let block = this._block[series];
    if (block === NONE) block = this._open(series);
    const f64 = this._buckets.f64[chunkOf(block)];
    const h = offsetOf(block) >> 3;
    f64[h + COUNT] += counts.count;
    f64[h + SUM] += counts.sum ?? 0;
    f64[h + ZERO] += counts.zeroCount;
    if (counts.count > 0) {
      if ((counts.min ?? Infinity) < f64[h + MIN]) f64[h + MIN] = counts.min!;
      if ((counts.max ?? -Infinity) > f64[h + MAX]) f64[h + MAX] = counts.max!;
    }
    const { offset, bucketCounts } = counts.positive;
    for (let i = 0; i < bucketCounts.length; i++)
      if (bucketCounts[i] > 0)
        this._add(series, counts.scale, offset + i, bucketCounts[i]);
  }

  drain(series: number, into: HistogramAggregate): void {
    const block = this._block[series];
    if (block === NONE) return;
    const chunk = chunkOf(block);
    const f64 = this._buckets.f64[chunk];
    const h = offsetOf(block) >> 3;
    if (f64[h + COUNT] > 0) {
      const i32 = this._buckets.i32[chunk];
      const w = h << 1;
      drained.scale = i32[w + SCALE];
      drained.zeroCount = f64[h + ZERO];
      drained.sum = f64[h + SUM];
      drained.min = f64[h + MIN];
      drained.max = f64[h + MAX];
      const low = i32[w + LOW];
      const high = i32[w + HIGH];
      const at = h + HEADER_WORDS - i32[w + BASE];
      positive.counts = f64;
      positive.offset = low;
      positive.from = at + low;
      positive.to = at + high + 1;
      drained.positive = low <= high ? positive : undefined;
      into.sketch.mergeBuckets(drained);
      positive.counts = EMPTY;
    }
    this.release(series);
  }

  release(series: number): void {
    const block = this._block[series];
    if (block === NONE) return;
    this._buckets.free(block);
    this._block[series] = NONE;
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

  /** A new, empty delta block for `series` (at the highest scale, no bucket yet); its handle. */
  private _open(series: number): number {
    const block = this._allocate(FIRST_BLOCK);
    const f64 = this._buckets.f64[chunkOf(block)];
    const i32 = this._buckets.i32[chunkOf(block)];
    const h = offsetOf(block) >> 3;
    const w = h << 1;
    f64[h + COUNT] = 0;
    f64[h + SUM] = 0;
    f64[h + MIN] = Infinity;
    f64[h + MAX] = -Infinity;
    f64[h + ZERO] = 0;
    i32[w + SCALE] = this._sketch.maxScale;
    i32[w + BASE] = 0;
    i32[w + LOW] = 0;
    i32[w + HIGH] = -1;
    this._block[series] = block;
    return block;
  }

  /** A block with room for `buckets` counts (zeroed), its capacity in its header. */
  private _allocate(buckets: number): number {
    const arena = this._buckets;
    const block = arena.allocate((HEADER_WORDS + buckets) * BUCKET_BYTES);
    const size = ((arena.capacityOf(block) / BUCKET_BYTES) | 0) - HEADER_WORDS;
    const h = offsetOf(block) >> 3;
    arena.f64[chunkOf(block)].fill(
      0,
      h + HEADER_WORDS,
      h + HEADER_WORDS + size
    );
    arena.i32[chunkOf(block)][(h << 1) + SIZE] = size;
    return block;
  }

  /**
   * Adds `count` to the bucket `index` at `scale` (≥ the series' scale, or
   * the series' is lowered to it), making room: a larger block, or a lower
   * scale when the range would pass maxBuckets. The series has a block.
   */
  private _add(
    series: number,
    scale: number,
    index: number,
    count: number
  ): void {
    let i32 = this._buckets.i32[chunkOf(this._block[series])];
    let w = (offsetOf(this._block[series]) >> 3) << 1;
    if (scale > i32[w + SCALE]) {
      index >>= scale - i32[w + SCALE];
    } else if (scale < i32[w + SCALE]) {
      this._downscale(series, i32[w + SCALE] - scale);
    }
    const empty = i32[w + LOW] > i32[w + HIGH];
    let low = empty ? index : Math.min(i32[w + LOW], index);
    let high = empty ? index : Math.max(i32[w + HIGH], index);
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
    const block = this._block[series];
    i32 = this._buckets.i32[chunkOf(block)];
    const h = offsetOf(block) >> 3;
    w = h << 1;
    this._buckets.f64[chunkOf(block)][
      h + HEADER_WORDS + index - i32[w + BASE]
    ] += count;
    i32[w + LOW] = low;
    i32[w + HIGH] = high;
  }

  /** Merges each bucket i into bucket i >> change, in place. */
  private _downscale(series: number, change: number): void {
    const block = this._block[series];
    const i32 = this._buckets.i32[chunkOf(block)];
    const h = offsetOf(block) >> 3;
    const w = h << 1;
    i32[w + SCALE] -= change;
    const base = i32[w + BASE];
    const newBase = base >> change;
    i32[w + BASE] = newBase;
    const low = i32[w + LOW];
    const high = i32[w + HIGH];
    if (low > high) return;
    const data = this._buckets.f64[chunkOf(block)];
    const at = h + HEADER_WORDS;
    // Targets never run ahead of sources: i >> change - newBase ≤ i - base.
    for (let i = low; i <= high; i++) {
      const count = data[at + i - base];
      data[at + i - base] = 0;
      data[at + (i >> change) - newBase] += count;
    }
    i32[w + LOW] = low >> change;
    i32[w + HIGH] = high >> change;
  }

  /**
   * Room in the series' block for buckets `low`..`high`: its first bucket
   * placed where it has none yet, else a larger block (header and counts
   * moved), zeroed elsewhere.
   */
  private _ensure(series: number, low: number, high: number): void {
    const block = this._block[series];
    const i32 = this._buckets.i32[chunkOf(block)];
    const w = (offsetOf(block) >> 3) << 1;
    const base = i32[w + BASE];
    const size = i32[w + SIZE];
    if (low >= base && high < base + size) return;
    const span = high - low + 1;
    const empty = i32[w + LOW] > i32[w + HIGH];
    // Slack on both sides: the range may grow either way.
    if (empty && span <= size) {
      i32[w + BASE] = low - ((size - span) >> 1);
      return;
    }
    const moved = this._allocate(Math.max(FIRST_BLOCK, span * 2));
    // The allocation may have replaced the views: read them again.
    const arena = this._buckets;
    const from = arena.f64[chunkOf(block)];
    const to = arena.f64[chunkOf(moved)];
    const h = offsetOf(block) >> 3;
    const m = offsetOf(moved) >> 3;
    const movedSize = arena.i32[chunkOf(moved)][(m << 1) + SIZE];
    to.set(from.subarray(h, h + HEADER_WORDS), m);
    const toI32 = arena.i32[chunkOf(moved)];
    toI32[(m << 1) + SIZE] = movedSize;
    const newBase = low - ((movedSize - span) >> 1);
    toI32[(m << 1) + BASE] = newBase;
    if (!empty) {
      const fromI32 = arena.i32[chunkOf(block)];
      const lowNow = fromI32[(h << 1) + LOW];
      const highNow = fromI32[(h << 1) + HIGH];
      const old = h + HEADER_WORDS - base;
      to.set(
        from.subarray(old + lowNow, old + highNow + 1),
        m + HEADER_WORDS + lowNow - newBase
      );
    }
    arena.free(block);
    this._block[series] = moved;
  }
}

import type { ByteReader } from '@datapunk/otel-common/codec';
import type { ByteWriter } from '@datapunk/otel-common/codec';
import type { BucketCounts } from '../BucketCounts';
import type { ExactSum } from '../ExactSum';
import type { ExponentialSketch } from '../ExponentialSketch';
import type { OccupiedBuckets } from '../OccupiedBuckets';
import { BitReader } from './BitReader';
import { BitWriter, bitLength } from './BitWriter';

/**
 * The compact binary form of a sketch, for a process's own storage (no
 * version, no checks: files and the network take the JSON form). In order:
 * scale, count, zero count and rejected count as varints; min and max as raw
 * doubles when count > 0; the exact sum's parts; each sign's range (its span
 * + 1, 0 when empty, then its lowest index) before any bucket, so that the
 * reader can make room for both first; then each sign's occupied buckets
 * (see writeOccupied).
 */

/** Bits that hold an order: orders 0–7, beyond which counts and gaps rarely gain. */
const ORDER_BITS = 3;
const MAX_ORDER = (1 << ORDER_BITS) - 1;
const BITS_OUT = new BitWriter();
/** The writer's list of one sign's occupied indexes, grown to the widest sign. */
let occupiedIndexes = new Int32Array(0);
const BITS_IN = new BitReader();

/** A sketch read by {@link readSketch}: shared, valid until the next read. */
export interface WrittenSketch {
  scale: number;
  zeroCount: number;
  rejected: number;
  /** Infinity and -Infinity when the sketch was empty. */
  min: number;
  max: number;
  positive: OccupiedBuckets;
  negative: OccupiedBuckets;
}

/** Writes `sketch`, whose exact sum and buckets its caller hands over. */
export function writeSketch(
  writer: ByteWriter,
  sketch: ExponentialSketch,
  sum: ExactSum,
  positive: BucketCounts,
  negative: BucketCounts
): void {
  writer.writeSignedVarint(sketch.scale);
  writer.writeVarint(sketch.count);
  writer.writeVarint(sketch.zeroCount);
  writer.writeVarint(sketch.rejected);
  if (sketch.count > 0) {
    writer.writeFloat64(sketch.min);
    writer.writeFloat64(sketch.max);
  }
  sum.writeTo(writer);
  writeRange(writer, positive);
  writeRange(writer, negative);
  writeOccupied(writer, positive);
  writeOccupied(writer, negative);
}

/**
 * Reads what {@link writeSketch} wrote up to the buckets, adding its exact
 * sum to `sum` on the way (the sum comes first). The buckets stay in the
 * bytes until the merge adds them (see WrittenBuckets), so that reading
 * costs what the bytes hold and allocates nothing.
 */
export function readSketch(reader: ByteReader, sum: ExactSum): WrittenSketch {
  const read = WRITTEN;
  read.scale = reader.readSignedVarint();
  // The count says whether min and max follow; the merge recounts.
  const count = reader.readVarint();
  read.zeroCount = reader.readVarint();
  read.rejected = reader.readVarint();
  read.min = count > 0 ? reader.readFloat64() : Infinity;
  read.max = count > 0 ? reader.readFloat64() : -Infinity;
  sum.mergeFrom(reader);
  const positiveSpan = reader.readVarint();
  const positiveStart = positiveSpan > 0 ? reader.readSignedVarint() : 0;
  const negativeSpan = reader.readVarint();
  const negativeStart = negativeSpan > 0 ? reader.readSignedVarint() : 0;
  POSITIVE.take(reader, positiveStart, positiveSpan);
  NEGATIVE.take(reader, negativeStart, negativeSpan);
  return read;
}

function writeRange(writer: ByteWriter, buckets: BucketCounts): void {
  if (buckets.isEmpty) {
    writer.writeVarint(0);
  } else {
    writer.writeVarint(buckets.end - buckets.start + 1);
    writer.writeSignedVarint(buckets.start);
  }
}

/**
 * The occupied buckets, lowest first, as one bit stream ending on a byte:
 * the Exp-Golomb orders of the gaps and of the counts (3 bits each, each
 * picked for this sign's values), then each bucket's gap from the previous
 * one less 1 (none for the first, at `start`) and its count less 1. Sparse
 * buckets of a few values and dense ones of many both take a few bits. The
 * reader stops at `end`, the last occupied bucket.
 */
function writeOccupied(writer: ByteWriter, buckets: BucketCounts): void {
  if (buckets.isEmpty) return;
  const { counts, offset, start, end } = buckets;
  if (occupiedIndexes.length < end - start + 1)
    occupiedIndexes = new Int32Array(end - start + 1);
  const indexes = occupiedIndexes;
  // Without a branch on each count, which data makes hard to predict.
  let occupied = 0;
  let total = 0;
  for (let index = start; index <= end; index++) {
    const count = counts[index - offset];
    indexes[occupied] = index;
    occupied += count === 0 ? 0 : 1;
    total += count;
  }
  const gapOrder = orderFor(end - start + 1 - occupied, occupied - 1);
  const countOrder = orderFor(total - occupied, occupied);
  BITS_OUT.begin(writer);
  BITS_OUT.writeBits((gapOrder << ORDER_BITS) | countOrder, 2 * ORDER_BITS);
  BITS_OUT.writeExpGolomb(counts[start - offset] - 1, countOrder);
  for (let i = 1; i < occupied; i++) {
    const index = indexes[i];
    BITS_OUT.writeExpGolombPair(
      index - indexes[i - 1] - 1,
      gapOrder,
      counts[index - offset] - 1,
      countOrder
    );
  }
  BITS_OUT.end();
}

/**
 * The Exp-Golomb order for `values` values adding up to `sum`: one less
 * than the bits of their mean, which comes within 0.2% of the best order
 * per sign on lognormal data, and needs no second look at the values.
 */
function orderFor(sum: number, values: number): number {
  if (values === 0) return 0;
  return Math.min(
    MAX_ORDER,
    Math.max(0, bitLength(Math.floor(sum / values)) - 1)
  );
}

/**
 * One sign's buckets still in the bytes: addTo decodes them straight into
 * the target. The merge adds the positive sign, then the negative one, the
 * order writeSketch wrote them in, each once.
 */
class WrittenBuckets implements OccupiedBuckets {
  start = 0;
  end = -1;
  private _reader: ByteReader | undefined = undefined;

  /** Takes the range of `span` buckets from `start`, whose bytes come later. */
  take(reader: ByteReader, start: number, span: number): void {
    // Held only until addTo: a reader's bytes may be a view of a large buffer.
    this._reader = span > 0 ? reader : undefined;
    this.start = start;
    this.end = start + span - 1;
  }

  addTo(target: BucketCounts, shift: number, capacity: number): number {
    const reader = this._reader;
    if (reader === undefined) return 0;
    this._reader = undefined;
    BITS_IN.begin(reader);
    const orders = BITS_IN.readBits(2 * ORDER_BITS);
    const gapOrder = orders >> ORDER_BITS;
    const countOrder = orders & ((1 << ORDER_BITS) - 1);
    let total = 0;
    let index = this.start;
    for (;;) {
      const count = BITS_IN.readExpGolomb(countOrder) + 1;
      target.add(index >> shift, count, capacity);
      total += count;
      if (index >= this.end) break;
      index += BITS_IN.readExpGolomb(gapOrder) + 1;
    }
    BITS_IN.end();
    return total;
  }
}

const POSITIVE = new WrittenBuckets();
const NEGATIVE = new WrittenBuckets();
const WRITTEN: WrittenSketch = {
  scale: 0,
  zeroCount: 0,
  rejected: 0,
  min: Infinity,
  max: -Infinity,
  positive: POSITIVE,
  negative: NEGATIVE,
};

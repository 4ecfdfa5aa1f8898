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
 * the scale as a varint; a byte of flags saying which of the zero count, the
 * rejected count and each sign's buckets are there; those counts as
 * varints; min and max as raw doubles when anything was counted; the exact
 * sum's parts; each non-empty sign's range before any bucket, so that the
 * reader can make room for both first; then each sign's occupied buckets
 * (see writeOccupied). The count is the sum of the others.
 */

const HAS_ZEROS = 1;
const HAS_REJECTED = 2;
const HAS_POSITIVE = 4;
const HAS_NEGATIVE = 8;

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
  writer.writeByte(
    (sketch.zeroCount > 0 ? HAS_ZEROS : 0) |
      (sketch.rejected > 0 ? HAS_REJECTED : 0) |
      (positive.isEmpty ? 0 : HAS_POSITIVE) |
      (negative.isEmpty ? 0 : HAS_NEGATIVE)
  );
  if (sketch.zeroCount > 0) writer.writeVarint(sketch.zeroCount);
  if (sketch.rejected > 0) writer.writeVarint(sketch.rejected);
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
  const flags = reader.readByte();
  read.zeroCount = flags & HAS_ZEROS ? reader.readVarint() : 0;
  read.rejected = flags & HAS_REJECTED ? reader.readVarint() : 0;
  // A value anywhere means min and max follow; the merge recounts.
  const counted = (flags & (HAS_ZEROS | HAS_POSITIVE | HAS_NEGATIVE)) !== 0;
  read.min = counted ? reader.readFloat64() : Infinity;
  read.max = counted ? reader.readFloat64() : -Infinity;
  sum.mergeFrom(reader);
  POSITIVE.take(reader, (flags & HAS_POSITIVE) !== 0);
  NEGATIVE.take(reader, (flags & HAS_NEGATIVE) !== 0);
  return read;
}

/** A non-empty sign's range: its highest index less its lowest, then its lowest. */
function writeRange(writer: ByteWriter, buckets: BucketCounts): void {
  if (buckets.isEmpty) return;
  writer.writeVarint(buckets.end - buckets.start);
  writer.writeSignedVarint(buckets.start);
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
 * than the bits of their mean. It needs no second look at the values, and
 * the retention benchmark's points were 0.1% larger with it than with the
 * best order per sign.
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

  /** Reads the sign's range (see writeRange) if it has buckets, whose bytes come later. */
  take(reader: ByteReader, occupied: boolean): void {
    // Held only until addTo: a reader's bytes may be a view of a large buffer.
    this._reader = occupied ? reader : undefined;
    if (!occupied) {
      this.start = 0;
      this.end = -1;
      return;
    }
    const span = reader.readVarint();
    this.start = reader.readSignedVarint();
    this.end = this.start + span;
  }

  addTo(target: BucketCounts, shift: number, capacity: number): number {
    const reader = this._reader;
    if (reader === undefined) return 0;
    this._reader = undefined;
    BITS_IN.begin(reader);
    const orders = BITS_IN.readBits(2 * ORDER_BITS);
    const gapOrder = orders >> ORDER_BITS;
    const countOrder = orders & MAX_ORDER;
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

import type { ByteReader } from '@datapunk/otel-common/codec';
import type { ByteWriter } from '@datapunk/otel-common/codec';
import { MAX_BUCKETS } from '../BucketCounts';
import type { ExactSum } from '../ExactSum';
import type { ExponentialSketch } from '../ExponentialSketch';
import type { OccupiedBuckets } from '../OccupiedBuckets';

/**
 * The compact binary form of a sketch, for a process's own storage (no
 * version, no checks: files and the network take the JSON form). In order:
 * scale, count, zero count and rejected count as varints; min and max as raw
 * doubles when count > 0; the exact sum's parts; each sign's range (its span
 * + 1, 0 when empty, then its lowest index) before any bucket, so that the
 * reader can make room for both first; then each sign's occupied buckets.
 */

/** In a bucket's byte: gap and count follow as varints. */
const ESCAPE = 128;

/** A sketch read by {@link readSketch}: shared, valid until the next read. */
export interface WrittenSketch {
  scale: number;
  count: number;
  zeroCount: number;
  rejected: number;
  /** Infinity and -Infinity when count is 0. */
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
  positive: OccupiedBuckets,
  negative: OccupiedBuckets
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
 * Reads what {@link writeSketch} wrote, adding its exact sum to `sum` on the
 * way (the sum comes before the buckets); the buckets are decoded into
 * arrays reused from call to call, so nothing is allocated once they are big
 * enough.
 * @throws {RangeError} for a range no sketch writes (more than 16384
 *   buckets of a sign).
 */
export function readSketch(reader: ByteReader, sum: ExactSum): WrittenSketch {
  const read = WRITTEN;
  read.scale = reader.readSignedVarint();
  read.count = reader.readVarint();
  read.zeroCount = reader.readVarint();
  read.rejected = reader.readVarint();
  read.min = read.count > 0 ? reader.readFloat64() : Infinity;
  read.max = read.count > 0 ? reader.readFloat64() : -Infinity;
  sum.mergeFrom(reader);
  const positiveSpan = reader.readVarint();
  const positiveStart = positiveSpan > 0 ? reader.readSignedVarint() : 0;
  const negativeSpan = reader.readVarint();
  const negativeStart = negativeSpan > 0 ? reader.readSignedVarint() : 0;
  POSITIVE.read(reader, positiveStart, positiveSpan);
  NEGATIVE.read(reader, negativeStart, negativeSpan);
  return read;
}

function writeRange(writer: ByteWriter, buckets: OccupiedBuckets): void {
  if (buckets.start > buckets.end) {
    writer.writeVarint(0);
  } else {
    writer.writeVarint(buckets.end - buckets.start + 1);
    writer.writeSignedVarint(buckets.start);
  }
}

/**
 * The occupied buckets, lowest first, each as its gap from the previous one
 * (the first from `start`) and its count: one byte `gap << 4 | count − 1`
 * when the gap is ≤ 7 and the count ≤ 16, which is most buckets of most
 * data; otherwise {@link ESCAPE}, then both as varints. The reader stops at
 * `end`, the last occupied bucket.
 */
function writeOccupied(writer: ByteWriter, buckets: OccupiedBuckets): void {
  const { counts, offset } = buckets;
  let previous = buckets.start;
  for (let index = buckets.start; index <= buckets.end; index++) {
    const count = counts[index - offset];
    if (count === 0) continue;
    const gap = index - previous;
    if (gap <= 7 && count <= 16) {
      writer.writeByte((gap << 4) | (count - 1));
    } else {
      writer.writeByte(ESCAPE);
      writer.writeVarint(gap);
      writer.writeVarint(count);
    }
    previous = index;
  }
}

/** One sign's buckets, decoded into an array kept for the next read. */
class DecodedBuckets implements OccupiedBuckets {
  counts = new Float64Array(64);
  offset = 0;
  start = 0;
  end = -1;

  /** Reads the `span` buckets from `start` that writeOccupied wrote. */
  read(reader: ByteReader, start: number, span: number): void {
    // Zero what the last read left, rather than allocate.
    this.counts.fill(0, 0, this.end - this.offset + 1);
    this.offset = this.start = start;
    this.end = start + span - 1;
    if (span === 0) return;
    if (span > MAX_BUCKETS) {
      throw new RangeError(
        `ExponentialSketch.mergeFrom: a range of ${span} buckets, more than any sketch writes (${MAX_BUCKETS})`
      );
    }
    if (span > this.counts.length) {
      this.counts = new Float64Array(
        Math.min(MAX_BUCKETS, Math.max(span, this.counts.length * 2))
      );
    }
    const counts = this.counts;
    let index = start;
    do {
      const byte = reader.readByte();
      if (byte === ESCAPE) {
        index += reader.readVarint();
        counts[index - start] = reader.readVarint();
      } else {
        index += byte >> 4;
        counts[index - start] = (byte & 15) + 1;
      }
    } while (index < this.end);
  }
}

const POSITIVE = new DecodedBuckets();
const NEGATIVE = new DecodedBuckets();
const WRITTEN: WrittenSketch = {
  scale: 0,
  count: 0,
  zeroCount: 0,
  rejected: 0,
  min: Infinity,
  max: -Infinity,
  positive: POSITIVE,
  negative: NEGATIVE,
};

import { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';
import type { Aggregate } from './Aggregate';

/** The typed array's and its buffer's headers (V8, 64-bit). */
const BUFFER_OVERHEAD_BYTES = 150;
/** An empty log: the log object and its writer. */
export const EMPTY_LOG_BYTES = 100;
/** Front bytes that may sit unused before the log moves its points down. */
const MIN_COMPACTION_BYTES = 128;

/** Encode one aggregate, and read one field, at a time (JS is single-threaded). */
const encoder = new ByteWriter();
const probe = new ByteReader(new Uint8Array(0));

/**
 * The points of one series in one tier (or summary window), oldest first,
 * packed into one byte buffer: each point is its start time (a double), its
 * length (a varint) and its aggregate's binary form. One typed array per
 * log instead of an object graph per point is what keeps an hour of history
 * per series in a few KB. Points are appended at the end, merged into the
 * last one, and dropped from the front.
 */
export class PointLog {
  private readonly _buffer = new ByteWriter();
  /** Offset of the first point; bytes before it are spent. */
  private _head = 0;
  /** Offset of the last point, -1 when empty. */
  private _lastOffset = -1;
  private _size = 0;

  get isEmpty(): boolean {
    return this._size === 0;
  }

  /** Number of points. */
  get size(): number {
    return this._size;
  }

  /** Bytes held by points: allocated capacity and its overhead (none when empty). */
  get retainedBytes(): number {
    return this._buffer.capacity === 0
      ? 0
      : BUFFER_OVERHEAD_BYTES + this._buffer.capacity;
  }

  /** Start of the oldest point; NaN when empty. */
  get firstStartMillis(): number {
    return this._size === 0 ? NaN : this._startAt(this._head);
  }

  /** Start of the newest point; NaN when empty. */
  get lastStartMillis(): number {
    return this._size === 0 ? NaN : this._startAt(this._lastOffset);
  }

  /**
   * Adds `value` as the point starting at `startMillis`, or merges it into
   * the newest point when that starts at or after it (a clock that stepped
   * back still lands in the newest point, so order holds). `scratch` is an
   * empty-able aggregate of the same kind, used to merge.
   */
  add(startMillis: number, value: Aggregate, scratch: Aggregate): void {
    if (this._size > 0) {
      const lastStart = this.lastStartMillis;
      if (lastStart >= startMillis) {
        scratch.clear();
        scratch.mergeFrom(this._payloadAt(this._lastOffset));
        scratch.merge(value);
        this._buffer.truncate(this._lastOffset);
        this._size--;
        this._append(lastStart, scratch);
        return;
      }
    }
    this._append(startMillis, value);
  }

  /**
   * Calls `visit` for each point, oldest first, with its start, a reader
   * positioned at its aggregate and the point's size in bytes. `visit` must
   * not change the log.
   */
  forEach(
    visit: (startMillis: number, reader: ByteReader, bytes: number) => void
  ): void {
    const reader = new ByteReader(this._buffer.buffer);
    let offset = this._head;
    for (let i = 0; i < this._size; i++) {
      reader.offset = offset + 8;
      const length = reader.readVarint();
      const end = reader.offset + length;
      visit(this._startAt(offset), reader, end - offset);
      offset = end;
    }
  }

  /** Merges the oldest point into `target` and removes it; returns its start. */
  shiftInto(target: Aggregate | undefined): number {
    const start = this._startAt(this._head);
    const reader = this._payloadAt(this._head);
    const end = reader.offset + this._lengthAt(this._head);
    target?.mergeFrom(reader);
    this._head = end;
    this._size--;
    if (this._size === 0) this.clear();
    else this._compactIfSparse();
    return start;
  }

  /** Drops every point; keeps nothing allocated. */
  clear(): void {
    this._buffer.truncate(0);
    this._buffer.trim();
    this._head = 0;
    this._lastOffset = -1;
    this._size = 0;
  }

  /** Gives back capacity beyond what the points use. */
  trim(): void {
    this._compact();
    this._buffer.trim();
  }

  private _append(startMillis: number, value: Aggregate): void {
    encoder.truncate(0);
    value.writeTo(encoder);
    const buffer = this._buffer;
    this._lastOffset = buffer.length;
    buffer.writeFloat64(startMillis);
    buffer.writeVarint(encoder.length);
    buffer.writeBytes(encoder.bytes);
    this._size++;
  }

  private _startAt(offset: number): number {
    probe.bytes = this._buffer.buffer;
    probe.offset = offset;
    return probe.readFloat64();
  }

  private _lengthAt(offset: number): number {
    probe.bytes = this._buffer.buffer;
    probe.offset = offset + 8;
    return probe.readVarint();
  }

  /** A reader at the aggregate of the point at `offset`. */
  private _payloadAt(offset: number): ByteReader {
    const reader = new ByteReader(this._buffer.buffer, offset + 8);
    reader.readVarint();
    return reader;
  }

  /**
   * Moves the points down once a fifth of the written bytes are spent, and
   * gives back capacity beyond a third more than the points use: a log that
   * drops as many points as it adds stays near the size of its points.
   */
  private _compactIfSparse(): void {
    const length = this._buffer.length;
    if (this._head >= MIN_COMPACTION_BYTES && this._head * 5 >= length) {
      const used = length - this._head;
      this._compact();
      if (this._buffer.capacity * 3 > used * 4 + 3 * MIN_COMPACTION_BYTES)
        this._buffer.trim(used >> 3);
    }
  }

  private _compact(): void {
    if (this._head === 0) return;
    this._buffer.discardFront(this._head);
    this._lastOffset -= this._head;
    this._head = 0;
  }
}

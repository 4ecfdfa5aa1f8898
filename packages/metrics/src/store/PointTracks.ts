import { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';
import type { Aggregate } from './Aggregate';
import { Arena, HEADER_BYTES, chunkOf, offsetOf } from './arena/Arena';
import { ColumnSet } from './arena/columns';
import { columnBytes } from './arena/HeldBytes';

/** Front bytes that may sit unused before a track moves its points down. */
const MIN_COMPACTION_BYTES = 64;
const NONE = -1;
/** Gaps up to this are written as a varint of gap × 2 (others: 1, then a double). */
const MAX_VARINT_GAP = 2 ** 30;

/** Encodes one payload at a time, and reads points (JS is single-threaded). */
const payload = new ByteWriter();
const header = new ByteWriter();
const visitReader = new ByteReader(new Uint8Array(0));
const mergeReader = new ByteReader(new Uint8Array(0));
const gapReader = new ByteReader(new Uint8Array(0));

/** A point's start as its gap from the previous point's (the first point's is in a column). */
function writeGap(writer: ByteWriter, gap: number): void {
  if (Number.isInteger(gap) && gap >= 0 && gap < MAX_VARINT_GAP) {
    writer.writeVarint(gap * 2);
  } else {
    writer.writeVarint(1);
    writer.writeFloat64(gap);
  }
}

function readGap(reader: ByteReader): number {
  const gap = reader.readVarint();
  return gap % 2 === 0 ? gap / 2 : reader.readFloat64();
}

/**
 * A block's front: offsets (from the block's payload) of its oldest point,
 * its newest and its end, and its number of points, as int32s; then the
 * oldest point's start and the newest's, as doubles. Points follow.
 */
const HEAD = 0;
const LAST = 1;
const END = 2;
const POINTS = 3;
const FIRST_START = 2;
const LAST_START = 3;
const FRONT_BYTES = 32;

/**
 * Every series' points on a few tracks (its exported value, what is in
 * flight, the summary window, one track per retention tier), packed into
 * one byte arena: each point is its start time (a varint of its gap from
 * the previous point's; the oldest point's start is in the block's front),
 * its length (a varint) and its aggregate's binary form, oldest first.
 * Points are appended at the end, merged into the newest one, and dropped
 * from the front. Track t of series s is slot `s * tracks + t`; a slot's
 * one column is its block's handle, and what else it needs sits in the
 * block's front, so an empty track costs four bytes and a million points
 * cost the GC nothing.
 */
export class PointTracks {
  readonly tracks: number;
  private readonly _bytes = new Arena(4096);
  /** Per slot: its block's handle in the arena, NONE when the track is empty. */
  private _block = new Int32Array(0);
  /** Per track: bytes of the blocks of every series' slot of that track. */
  private readonly _trackBlockBytes: Float64Array;
  private readonly _columns = new ColumnSet([
    {
      get: () => this._block,
      set: c => (this._block = c as Int32Array<ArrayBuffer>),
      fill: NONE,
    },
  ]);

  constructor(tracks: number) {
    this.tracks = tracks;
    this._trackBlockBytes = new Float64Array(tracks);
  }

  /** Bytes of the arena's chunks. */
  get arenaBytes(): number {
    return this._bytes.byteLength;
  }

  /** Bytes the blocks of one track of every series take in the arena, headers included. */
  blockBytesOf(track: number): number {
    return this._trackBlockBytes[track];
  }

  /** Bytes of the per-slot columns. */
  get columnBytes(): number {
    return columnBytes(this._block);
  }

  /** Bytes the points of one series' track take (its block holds at most about four times that). */
  bytesOf(series: number, track: number): number {
    const slot = series * this.tracks + track;
    return this._block[slot] === NONE
      ? 0
      : this._int(slot, END) - this._int(slot, HEAD);
  }

  /** Makes room for series ids below `series`. */
  reserve(series: number): void {
    this._columns.reserve(series * this.tracks);
  }

  /** Points on a track. */
  size(series: number, track: number): number {
    const slot = series * this.tracks + track;
    return this._block[slot] === NONE ? 0 : this._int(slot, POINTS);
  }

  /** Start of the oldest point; NaN when empty. */
  firstStart(series: number, track: number): number {
    const slot = series * this.tracks + track;
    return this._block[slot] === NONE ? NaN : this._time(slot, FIRST_START);
  }

  /** Start of the newest point; NaN when empty. */
  lastStart(series: number, track: number): number {
    const slot = series * this.tracks + track;
    return this._block[slot] === NONE ? NaN : this._time(slot, LAST_START);
  }

  /**
   * Adds `value` as the point starting at `start`, or merges it into the
   * newest point when that starts at or after `start` (a clock that stepped
   * back still lands in the newest point, so order holds). `scratch`, of
   * the same kind, is where the newest point is merged.
   */
  add(
    series: number,
    track: number,
    start: number,
    value: Aggregate,
    scratch: Aggregate
  ): void {
    const slot = series * this.tracks + track;
    this._put(
      slot,
      start,
      value,
      this._block[slot] !== NONE && this._time(slot, LAST_START) >= start
        ? scratch
        : undefined
    );
  }

  /**
   * Adds `value` as a point of its own after the newest, even one that
   * starts at the same time (a reader merges them): no point is decoded
   * or written again.
   */
  append(series: number, track: number, start: number, value: Aggregate): void {
    this._put(series * this.tracks + track, start, value, undefined);
  }

  /** Writes `value` as a new point, or merged into the newest in `mergeInto` when given. */
  private _put(
    slot: number,
    start: number,
    value: Aggregate,
    mergeInto: Aggregate | undefined
  ): void {
    const merging = mergeInto !== undefined;
    const empty = this._block[slot] === NONE;
    header.truncate(0);
    if (merging) {
      const last = this._int(slot, LAST);
      mergeInto.clear();
      mergeInto.mergeFrom(this._reader(mergeReader, slot, last));
      mergeInto.merge(value);
      // The newest point's length and payload are written again, after its
      // gap (its start stays).
      this._setInt(slot, END, last + this._gapBytes);
      value = mergeInto;
    } else {
      writeGap(header, empty ? 0 : start - this._time(slot, LAST_START));
    }
    payload.truncate(0);
    value.writeTo(payload);
    header.writeVarint(payload.length);
    const length = header.length + payload.length;
    this._ensure(slot, length);
    const end = this._int(slot, END);
    const at = offsetOf(this._block[slot]) + end;
    const data = this._bytes.u8[chunkOf(this._block[slot])];
    header.copyTo(data, at);
    payload.copyTo(data, at + header.length);
    if (!merging) {
      if (empty) this._setTime(slot, FIRST_START, start);
      this._setInt(slot, LAST, end);
      this._setTime(slot, LAST_START, start);
      this._setInt(slot, POINTS, this._int(slot, POINTS) + 1);
    }
    this._setInt(slot, END, end + length);
  }

  /**
   * Removes the oldest point, first merging it into `into` when given. The
   * track must not be empty.
   */
  shift(series: number, track: number, into: Aggregate | undefined): void {
    const slot = series * this.tracks + track;
    const reader = this._reader(mergeReader, slot, this._int(slot, HEAD));
    const next = reader.offset - offsetOf(this._block[slot]) + this._length;
    if (into) into.mergeFrom(reader);
    const points = this._int(slot, POINTS) - 1;
    if (points === 0) {
      this.clear(series, track);
      return;
    }
    this._setInt(slot, POINTS, points);
    this._setInt(slot, HEAD, next);
    this._setTime(
      slot,
      FIRST_START,
      this._time(slot, FIRST_START) + this._gapAt(slot, next)
    );
    // A track losing points as it gains them keeps room for two more of
    // its newest size, and gives the rest of its growth room back.
    const end = this._int(slot, END);
    const used = end - next;
    const point = end - this._int(slot, LAST);
    if (
      this._bytes.capacityOf(this._block[slot]) - FRONT_BYTES - used >
      4 * point + 64
    )
      this._shrink(slot, FRONT_BYTES + used + 2 * point);
  }

  /**
   * Visits every point, oldest first: its start, a reader at its payload
   * (valid during the visit only) and its bytes.
   */
  forEach(
    series: number,
    track: number,
    visit: (start: number, reader: ByteReader, bytes: number) => void
  ): void {
    const slot = series * this.tracks + track;
    if (this._block[slot] === NONE) return;
    const head = this._int(slot, HEAD);
    let offset = head;
    let start = this._time(slot, FIRST_START);
    for (let i = this._int(slot, POINTS); i > 0; i--) {
      const reader = this._reader(visitReader, slot, offset);
      if (offset !== head) start += this._gap;
      const next = reader.offset - offsetOf(this._block[slot]) + this._length;
      visit(start, reader, next - offset);
      offset = next;
    }
  }

  /** Empties one track of a series, giving its block back. */
  clear(series: number, track: number): void {
    const slot = series * this.tracks + track;
    const block = this._block[slot];
    if (block === NONE) return;
    this._trackBlockBytes[track] -= this._sizeOf(block);
    this._bytes.free(block);
    this._block[slot] = NONE;
  }

  /**
   * Compaction, one chunk per step, when over an eighth of the arena is in
   * no block (holes left by tracks that grew and shrank): chunks with over
   * an eighth of them free slide their blocks down, so that their free
   * space is one block at their end. Then, when over a sixteenth is free,
   * the least used chunk starts emptying ({@link relocate} moves its blocks
   * out, series by series). Each collection frees and fills holes
   * everywhere (windows slide, exported values grow), which the next
   * allocations reuse: sliding at a sixteenth copied the whole arena every
   * collection for no fewer free bytes.
   */
  *compact(): Generator<void, void, undefined> {
    const arena = this._bytes;
    if (arena.byteLength - arena.usedBytes > arena.byteLength / 8)
      for (const chunk of arena.fragmentedChunks(1 / 8)) {
        arena.compactChunk(chunk, this._moved);
        yield;
      }
    arena.beginEvacuation(1 / 16);
  }

  /** Where compaction moved a slot's block. */
  private readonly _moved = (slot: number, handle: number): void => {
    this._block[slot] = handle;
  };

  /**
   * Moves a series' blocks out of a chunk being emptied, where they fit in
   * the space the arena holds (never growing it), trimmed to a quarter
   * more than their points need.
   */
  relocate(series: number): void {
    for (let track = 0; track < this.tracks; track++) {
      const slot = series * this.tracks + track;
      const block = this._block[slot];
      if (block === NONE || !this._bytes.isEvacuating(block)) continue;
      const needed = this._int(slot, END) - this._int(slot, HEAD);
      const capacity = Math.min(
        this._bytes.capacityOf(block),
        FRONT_BYTES + needed + (needed >> 2)
      );
      if (this._bytes.fits(capacity)) this._resize(slot, capacity);
    }
  }

  /** Swaps two tracks of a series (the exported value and what is in flight). */
  swap(series: number, a: number, b: number): void {
    const x = series * this.tracks + a;
    const y = series * this.tracks + b;
    const moved = this._sizeOf(this._block[x]) - this._sizeOf(this._block[y]);
    this._trackBlockBytes[a] -= moved;
    this._trackBlockBytes[b] += moved;
    const held = this._block[x];
    this._block[x] = this._block[y];
    this._block[y] = held;
    // Each block's owner is its slot.
    if (this._block[x] !== NONE) this._bytes.setOwner(this._block[x], x);
    if (this._block[y] !== NONE) this._bytes.setOwner(this._block[y], y);
  }

  /** A field of a slot's block front (the slot must have a block). */
  private _int(slot: number, field: number): number {
    const block = this._block[slot];
    return this._bytes.i32[chunkOf(block)][(offsetOf(block) >> 2) + field];
  }

  private _setInt(slot: number, field: number, value: number): void {
    const block = this._block[slot];
    this._bytes.i32[chunkOf(block)][(offsetOf(block) >> 2) + field] = value;
  }

  private _time(slot: number, field: number): number {
    const block = this._block[slot];
    return this._bytes.f64[chunkOf(block)][(offsetOf(block) >> 3) + field];
  }

  private _setTime(slot: number, field: number, value: number): void {
    const block = this._block[slot];
    this._bytes.f64[chunkOf(block)][(offsetOf(block) >> 3) + field] = value;
  }

  /** Of the point `_reader` last positioned at: its gap, the bytes the gap takes, its payload length. */
  private _gap = 0;
  private _gapBytes = 0;
  private _length = 0;

  /** Positions `reader` at the payload of the point at `offset`; sets `_gap`, `_gapBytes` and `_length`. */
  private _reader(
    reader: ByteReader,
    slot: number,
    offset: number
  ): ByteReader {
    const at = offsetOf(this._block[slot]) + offset;
    reader.bytes = this._bytes.u8[chunkOf(this._block[slot])];
    reader.offset = at;
    this._gap = readGap(reader);
    this._gapBytes = reader.offset - at;
    this._length = reader.readVarint();
    return reader;
  }

  /** The gap of the point at `offset` from the one before. */
  private _gapAt(slot: number, offset: number): number {
    gapReader.bytes = this._bytes.u8[chunkOf(this._block[slot])];
    gapReader.offset = offsetOf(this._block[slot]) + offset;
    return readGap(gapReader);
  }

  /**
   * Room for `extra` bytes after the newest point: a first block, or moves
   * the points down, grows the block in place, or moves them to a larger
   * block.
   */
  private _ensure(slot: number, extra: number): void {
    const block = this._block[slot];
    if (block === NONE) {
      const capacity = FRONT_BYTES + extra + (extra >> 2);
      const made = this._bytes.allocate(capacity, slot);
      this._block[slot] = made;
      this._trackBlockBytes[slot % this.tracks] += this._sizeOf(made);
      this._setInt(slot, HEAD, FRONT_BYTES);
      this._setInt(slot, LAST, FRONT_BYTES);
      this._setInt(slot, END, FRONT_BYTES);
      this._setInt(slot, POINTS, 0);
      return;
    }
    const held = this._bytes.capacityOf(block);
    const head = this._int(slot, HEAD);
    const end = this._int(slot, END);
    if (end + extra <= held) return;
    const needed = FRONT_BYTES + end - head + extra;
    if (needed <= held && head - FRONT_BYTES >= MIN_COMPACTION_BYTES) {
      this._moveDown(slot);
      return;
    }
    // Room to grow by a quarter again, so a track that keeps growing moves rarely.
    const capacity = needed + ((needed - FRONT_BYTES) >> 2);
    this._moveDown(slot);
    if (!this._resizeInPlace(slot, capacity)) this._resize(slot, capacity);
  }

  /** Moves a track's front and points to a block of at least `capacity` bytes. */
  private _resize(slot: number, capacity: number): void {
    const block = this._block[slot];
    const moved = this._bytes.allocate(capacity, slot);
    const at = offsetOf(moved);
    const head = this._int(slot, HEAD);
    const end = this._int(slot, END);
    const from = offsetOf(block);
    const to = this._bytes.u8[chunkOf(moved)];
    const source = this._bytes.u8[chunkOf(block)];
    to.set(source.subarray(from, from + FRONT_BYTES), at);
    to.set(source.subarray(from + head, from + end), at + FRONT_BYTES);
    this._trackBlockBytes[slot % this.tracks] +=
      this._sizeOf(moved) - this._sizeOf(block);
    this._bytes.free(block);
    this._block[slot] = moved;
    this._shiftOffsets(slot, head - FRONT_BYTES);
  }

  /** Moves the points down and gives the block's bytes past `capacity` back. */
  private _shrink(slot: number, capacity: number): void {
    this._moveDown(slot);
    if (!this._resizeInPlace(slot, capacity)) this._resize(slot, capacity);
  }

  /** Resizes a slot's block where it is (see Arena.resizeInPlace), counting the change. */
  private _resizeInPlace(slot: number, capacity: number): boolean {
    const block = this._block[slot];
    const before = this._sizeOf(block);
    if (!this._bytes.resizeInPlace(block, capacity)) return false;
    this._trackBlockBytes[slot % this.tracks] += this._sizeOf(block) - before;
    return true;
  }

  /** Bytes a block takes in the arena, its header included; 0 for none. */
  private _sizeOf(block: number): number {
    return block === NONE ? 0 : this._bytes.capacityOf(block) + HEADER_BYTES;
  }

  /** Copies the points to just after the block's front. */
  private _moveDown(slot: number): void {
    const head = this._int(slot, HEAD);
    if (head === FRONT_BYTES) return;
    const at = offsetOf(this._block[slot]);
    this._bytes.u8[chunkOf(this._block[slot])].copyWithin(
      at + FRONT_BYTES,
      at + head,
      at + this._int(slot, END)
    );
    this._shiftOffsets(slot, head - FRONT_BYTES);
  }

  /** The front's offsets after the points moved `by` bytes towards it. */
  private _shiftOffsets(slot: number, by: number): void {
    this._setInt(slot, HEAD, FRONT_BYTES);
    this._setInt(slot, LAST, this._int(slot, LAST) - by);
    this._setInt(slot, END, this._int(slot, END) - by);
  }
}

/** One double's bytes, shared by every writer and reader (JS is single-threaded). */
export const FLOAT_BITS = new Float64Array(1);
export const FLOAT_BYTES = new Uint8Array(FLOAT_BITS.buffer);

const EMPTY = new Uint8Array(0);
/** 2^32: varints above it are split arithmetically (bit operators are 32-bit). */
const TWO_32 = 4294967296;

/**
 * A growable byte buffer for the compact binary form of sketches and
 * statistics: unsigned LEB128 varints for counts, zig-zag varints for signed
 * indexes, and raw IEEE-754 doubles for values (so they round-trip exactly).
 * Capacity grows by half, so appending n bytes costs O(n) overall.
 */
export class ByteWriter {
  private _bytes: Uint8Array = EMPTY;
  private _length = 0;

  /** The bytes written so far (a view, valid until the next write). */
  get bytes(): Uint8Array {
    return this._bytes.subarray(0, this._length);
  }

  /** Copies the bytes written so far into `target` from `at` (no view is made). */
  copyTo(target: Uint8Array, at: number): void {
    const bytes = this._bytes;
    const length = this._length;
    // A short copy by hand: a view for set() would cost more than the bytes.
    if (length <= 64)
      for (let i = 0; i < length; i++) target[at + i] = bytes[i];
    else target.set(bytes.subarray(0, length), at);
  }

  /** Bytes written so far. */
  get length(): number {
    return this._length;
  }

  /** Bytes allocated, written or not. */
  get capacity(): number {
    return this._bytes.length;
  }

  /** The underlying buffer, bytes [0, length) written; for readers. */
  get buffer(): Uint8Array {
    return this._bytes;
  }

  /** Keeps the first `length` bytes (≤ the current length) and drops the rest. */
  truncate(length: number): void {
    if (length < this._length) this._length = Math.max(0, length);
  }

  /** Drops the first `count` bytes, moving the rest to the front. */
  discardFront(count: number): void {
    if (count <= 0) return;
    if (count >= this._length) {
      this._length = 0;
      return;
    }
    this._bytes.copyWithin(0, count, this._length);
    this._length -= count;
  }

  /** Releases spare capacity beyond the written bytes plus `slack`. */
  trim(slack = 0): void {
    const wanted = this._length + slack;
    if (this._bytes.length <= wanted) return;
    this._bytes = wanted === 0 ? EMPTY : this._bytes.slice(0, wanted);
  }

  writeByte(value: number): void {
    this._ensure(1);
    this._bytes[this._length++] = value;
  }

  /** A non-negative safe integer, 7 bits per byte. */
  writeVarint(value: number): void {
    this._ensure(8);
    let rest = value;
    while (rest >= TWO_32) {
      this._bytes[this._length++] = rest % 128 | 128;
      rest = Math.floor(rest / 128);
    }
    while (rest >= 128) {
      this._bytes[this._length++] = (rest & 127) | 128;
      rest >>>= 7;
    }
    this._bytes[this._length++] = rest;
  }

  /** A 32-bit signed integer, small magnitudes in few bytes. */
  writeSignedVarint(value: number): void {
    this.writeVarint(((value << 1) ^ (value >> 31)) >>> 0);
  }

  writeFloat64(value: number): void {
    this._ensure(8);
    FLOAT_BITS[0] = value;
    this._bytes.set(FLOAT_BYTES, this._length);
    this._length += 8;
  }

  /** Appends raw bytes. */
  writeBytes(bytes: Uint8Array): void {
    this._ensure(bytes.length);
    this._bytes.set(bytes, this._length);
    this._length += bytes.length;
  }

  private _ensure(extra: number): void {
    const needed = this._length + extra;
    if (needed <= this._bytes.length) return;
    // Growing by half keeps spare capacity below a third of the buffer.
    const grown = new Uint8Array(
      Math.max(needed, Math.ceil(this._bytes.length * 1.5), 32)
    );
    grown.set(this._bytes.subarray(0, this._length));
    this._bytes = grown;
  }
}

import { sampleValue } from './numbers';

/** The size of one chunk of a response. */
const CHUNK_BYTES = 64 * 1024;
/** A sink's first chunk: a scrape has one sink per family, most of them small. */
const FIRST_CHUNK_BYTES = 512;
/** Whole numbers below this are written digit by digit, without a string. */
const DIGITS_BELOW = 1e15;

/**
 * Collects text as UTF-8 Buffers of up to 64 KiB, ready to be
 * written to a socket one at a time. Text, bytes and numbers go straight
 * into the current chunk: no long strings are built, and the repeated
 * parts of sample lines can be encoded once and copied (a scrape writes
 * tens of megabytes; the less garbage, the shorter the GC pauses). A lone
 * surrogate becomes U+FFFD, so the bytes are always valid UTF-8.
 */
export class TextSink {
  private readonly _chunks: Buffer[] = [];
  private _buffer = Buffer.allocUnsafe(FIRST_CHUNK_BYTES);
  private _length = 0;

  write(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: count only when it may not fit.
    if (this._length + text.length * 3 > this._buffer.length)
      this._reserve(Buffer.byteLength(text, 'utf8'));
    this._length += this._buffer.write(text, this._length, 'utf8');
  }

  writeBytes(bytes: Uint8Array): void {
    this._reserve(bytes.length);
    this._buffer.set(bytes, this._length);
    this._length += bytes.length;
  }

  /** A sample value, as {@link sampleValue} writes it. */
  writeNumber(value: number): void {
    if (!(Number.isInteger(value) && value >= 0 && value < DIGITS_BELOW)) {
      this.write(sampleValue(value));
      return;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this._reserve(digits);
    for (let i = this._length + digits - 1; i >= this._length; i--) {
      this._buffer[i] = 48 + (value % 10);
      value = Math.floor(value / 10);
    }
    this._length += digits;
  }

  /** The chunks written, the last one included. */
  finish(): Buffer[] {
    this._flush();
    return this._chunks;
  }

  private _reserve(bytes: number): void {
    if (this._length + bytes <= this._buffer.length) return;
    this._flush();
    if (bytes > this._buffer.length) this._buffer = Buffer.allocUnsafe(bytes);
  }

  private _flush(): void {
    if (this._length === 0) return;
    this._chunks.push(this._buffer.subarray(0, this._length));
    // Chunks grow to their full size as the family does.
    this._buffer = Buffer.allocUnsafe(
      Math.min(CHUNK_BYTES, this._buffer.length * 4)
    );
    this._length = 0;
  }
}

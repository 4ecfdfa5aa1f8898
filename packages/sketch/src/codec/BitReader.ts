import type { ByteReader } from '@datapunk/otel-common/codec';

/**
 * Reads what a {@link BitWriter} wrote, from a {@link ByteReader}'s offset
 * on. It takes bytes ahead of the bits it reads (past the array's end it
 * takes zeros), and {@link end} gives back the whole bytes it did not read,
 * so that the reader is then at the stream's end.
 */
export class BitReader {
  private _reader: ByteReader | undefined = undefined;
  /** Bits taken but not read, right-aligned; at most 31. */
  private _bits = 0;
  private _available = 0;

  begin(reader: ByteReader): void {
    this._reader = reader;
    this._bits = 0;
    this._available = 0;
  }

  /** The next `length` (≤ 53) bits as an integer. */
  readBits(length: number): number {
    if (length > CHUNK) {
      const high = this.readBits(length - CHUNK);
      return high * 2 ** CHUNK + this.readBits(CHUNK);
    }
    if (this._available < length) this._fill();
    this._available -= length;
    const value = this._bits >>> this._available;
    this._bits &= (1 << this._available) - 1;
    return value;
  }

  /** A value {@link BitWriter.writeExpGolomb} wrote with the same order. */
  readExpGolomb(order: number): number {
    if (this._available < CHUNK) this._fill();
    const bits = this._bits;
    if (bits !== 0) {
      // The leading 1 is among the bits taken: a short code is read at once.
      const available = this._available;
      const zeros = Math.clz32(bits) + available - 32;
      const rest = available - 2 * zeros - 1 - order;
      if (rest >= 0) {
        this._bits = bits & ((1 << rest) - 1);
        this._available = rest;
        return (bits >>> rest) - (1 << order);
      }
    }
    return this._readLong(order);
  }

  /** Gives back the bytes taken ahead: the bits left of the last one read are padding. */
  end(): void {
    this._reader!.offset -= this._available >> 3;
    this._reader = undefined;
  }

  /** readExpGolomb for a code longer than the bits taken: zeros, q + 1, the low bits. */
  private _readLong(order: number): number {
    let zeros = 0;
    // No code of a safe integer has more zeros: past them the bytes are not
    // a stream (reads past the end give zeros for ever).
    while (this.readBits(1) === 0)
      if (++zeros > MAX_ZEROS)
        throw new RangeError('BitReader: not an Exp-Golomb code');
    const quotient = 2 ** zeros + this.readBits(zeros) - 1;
    return quotient * 2 ** order + this.readBits(order);
  }

  /** Takes bytes until at least {@link CHUNK} bits are waiting. */
  private _fill(): void {
    const reader = this._reader!;
    const bytes = reader.bytes;
    let at = reader.offset;
    let bits = this._bits;
    let available = this._available;
    do {
      // Past the array's end, bytes[at] is undefined, which | makes 0.
      bits = (bits << 8) | bytes[at++];
      available += 8;
    } while (available < CHUNK);
    reader.offset = at;
    this._bits = bits;
    this._available = available;
  }
}

/** At most this many bits come out at once, so that shifts stay within 32. */
const CHUNK = 24;
/** Leading zeros of the longest code of a safe integer (its quotient has ≤ 53 bits). */
const MAX_ZEROS = 53;

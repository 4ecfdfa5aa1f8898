import type { ByteWriter } from '@datapunk/otel-common/codec';

/**
 * Writes bits, most significant first, onto a {@link ByteWriter}: each
 * stream starts at a byte ({@link begin}) and {@link end} pads its last byte
 * with zeros. Values are non-negative safe integers.
 */
export class BitWriter {
  private _writer: ByteWriter | undefined = undefined;
  /** Bits not yet written, right-aligned; fewer than 8 between calls. */
  private _bits = 0;
  private _pending = 0;

  begin(writer: ByteWriter): void {
    this._writer = writer;
    this._bits = 0;
    this._pending = 0;
  }

  /** The low `length` (≤ 53) bits of `value`, which has no others. */
  writeBits(value: number, length: number): void {
    if (length > CHUNK) {
      // The high part first; division by a power of two is exact.
      this.writeBits(Math.floor(value / 2 ** CHUNK), length - CHUNK);
      value %= 2 ** CHUNK;
      length = CHUNK;
    }
    this._put(value, length);
  }

  /**
   * `value` in the Exp-Golomb code of order `order` (≤ 7): value + 2^order
   * after as many zeros as its bits beyond order + 1, so small values take
   * few bits and a safe integer at most 107.
   */
  writeExpGolomb(value: number, order: number): void {
    if (value < SMALL) {
      const code = value + (1 << order);
      const length = codeLength(code, order);
      if (length <= CHUNK) {
        this._put(code, length);
        return;
      }
    }
    // value + 2^order may not be a double: write the quotient's code.
    const quotient = Math.floor(value / 2 ** order);
    const length = bitLength(quotient + 1);
    this.writeBits(0, length - 1);
    this.writeBits(quotient + 1, length);
    this.writeBits(value - quotient * 2 ** order, order);
  }

  /** writeExpGolomb of `a`, then of `b`: at once when both codes are short, as most are. */
  writeExpGolombPair(
    a: number,
    orderA: number,
    b: number,
    orderB: number
  ): void {
    if (a < SMALL && b < SMALL) {
      const codeA = a + (1 << orderA);
      const codeB = b + (1 << orderB);
      const lengthB = codeLength(codeB, orderB);
      const length = codeLength(codeA, orderA) + lengthB;
      if (length <= CHUNK) {
        this._put((codeA << lengthB) | codeB, length);
        return;
      }
    }
    this.writeExpGolomb(a, orderA);
    this.writeExpGolomb(b, orderB);
  }

  /** Writes the last, partial byte. */
  end(): void {
    if (this._pending > 0) this._put(0, 8 - this._pending);
    this._writer = undefined;
  }

  /** writeBits for `length` ≤ {@link CHUNK}. */
  private _put(value: number, length: number): void {
    const bits = (this._bits << length) | value;
    let pending = this._pending + length;
    while (pending >= 8) {
      pending -= 8;
      this._writer!.writeByte((bits >>> pending) & 255);
    }
    this._bits = bits & ((1 << pending) - 1);
    this._pending = pending;
  }
}

/** At most this many bits go in at once, so that shifts stay within 32. */
const CHUNK = 24;
/** Below this, a value's code is an integer of up to 32 bits. */
const SMALL = 2 ** 24;

/** Bits of the code of order `order` whose bits from its leading 1 are `code`. */
function codeLength(code: number, order: number): number {
  return 2 * (32 - Math.clz32(code)) - order - 1;
}

/** Bits of a non-negative safe integer without its leading zeros: 0 for 0. */
export function bitLength(value: number): number {
  return value < 2 ** 32
    ? 32 - Math.clz32(value)
    : 64 - Math.clz32(Math.floor(value / 2 ** 32));
}

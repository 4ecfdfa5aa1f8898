const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;

const INITIAL_BYTES = 64 * 1024;

/**
 * Writes protobuf messages into one growing buffer, nested messages
 * included: `begin(field)` reserves one length byte, `end()` fills it in,
 * moving the body up when the length needs more bytes (rare for the small
 * messages inside a Metric). Numbers are JavaScript numbers: integers are
 * exact up to 2^53, which counts and indexes never reach.
 */
export class ProtobufEncoder {
  private _buffer: Buffer;
  private _length = 0;
  private readonly _starts: number[] = [];

  /** `initialBytes`: where the buffer starts; it grows by doubling. */
  constructor(initialBytes = INITIAL_BYTES) {
    this._buffer = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written since the last {@link take}. */
  get length(): number {
    return this._length;
  }

  /** An unsigned integer field (uint32, uint64, int64 ≥ 0, enum). */
  uint(field: number, value: number): void {
    this._varint(field * 8 + VARINT);
    this._varint(value);
  }

  /** A zigzag-encoded signed integer field (sint32, sint64). */
  sint(field: number, value: number): void {
    this._varint(field * 8 + VARINT);
    this._varint(zigzag(value));
  }

  double(field: number, value: number): void {
    this._varint(field * 8 + FIXED64);
    this._reserve(8);
    this._buffer.writeDoubleLE(value, this._length);
    this._length += 8;
  }

  string(field: number, value: string): void {
    const bytes = Buffer.byteLength(value, 'utf8');
    this._varint(field * 8 + LENGTH_DELIMITED);
    this._varint(bytes);
    this._reserve(bytes);
    this._length += this._buffer.write(value, this._length, 'utf8');
  }

  /** Zigzag-encoded signed integers as one packed repeated field. */
  packedSint(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    this.begin(field);
    for (const value of values) this._varint(zigzag(value));
    this.end();
  }

  /** Starts a nested message in `field`; {@link end} closes it. */
  begin(field: number): void {
    this._varint(field * 8 + LENGTH_DELIMITED);
    this._reserve(1);
    this._starts.push(this._length);
    this._length += 1;
  }

  end(): void {
    const start = this._starts.pop()!;
    const body = this._length - start - 1;
    const size = varintSize(body);
    if (size > 1) {
      this._reserve(size - 1);
      this._buffer.copyWithin(start + size, start + 1, this._length);
      this._length += size - 1;
    }
    writeVarint(this._buffer, start, body);
  }

  /** The bytes written so far (no copy); the encoder starts over, with a buffer as large (up to twice 64 KiB). */
  take(): Buffer {
    const bytes = this._buffer.subarray(0, this._length);
    this._buffer = Buffer.allocUnsafe(
      Math.min(this._buffer.length, 2 * INITIAL_BYTES)
    );
    this._length = 0;
    return bytes;
  }

  private _varint(value: number): void {
    this._reserve(10);
    this._length = writeVarint(this._buffer, this._length, value);
  }

  private _reserve(bytes: number): void {
    if (this._length + bytes <= this._buffer.length) return;
    const grown = Buffer.allocUnsafe(
      Math.max(this._buffer.length * 2, this._length + bytes)
    );
    this._buffer.copy(grown, 0, 0, this._length);
    this._buffer = grown;
  }
}

/** The varint encoding of a length, as a delimited message's prefix. */
export function varintBytes(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(varintSize(value));
  writeVarint(bytes, 0, value);
  return bytes;
}

/**
 * Writes `value` (an integer in [0, 2^53]) at `offset`; returns the offset
 * after it. Anything else (negative, NaN, infinite: a malformed point)
 * is written as 0, never as bytes a parser would misread.
 */
function writeVarint(buffer: Buffer, offset: number, value: number): number {
  value =
    value >= 0 && value <= Number.MAX_SAFE_INTEGER ? Math.floor(value) : 0;
  while (value > 0x7f) {
    buffer[offset++] = value % 128 | 0x80;
    value = Math.floor(value / 128);
  }
  buffer[offset++] = value;
  return offset;
}

function varintSize(value: number): number {
  value =
    value >= 0 && value <= Number.MAX_SAFE_INTEGER ? Math.floor(value) : 0;
  let size = 1;
  while (value > 0x7f) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

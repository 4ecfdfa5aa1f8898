/**
 * The little protobuf needed to rewrite what the SDK's serializer encoded
 * (gauges into summaries, exemplars added to points): walking a message's
 * fields and writing new ones. Wire types: 0 varint, 1 fixed64, 2
 * length-delimited, 5 fixed32.
 */

export const enum WireType {
  VARINT = 0,
  FIXED64 = 1,
  LENGTH_DELIMITED = 2,
  FIXED32 = 5,
}

/** One field of an encoded message, with its full encoding (tag included). */
export interface Field {
  number: number;
  wireType: WireType;
  /** The field's bytes after the tag (and length, for length-delimited). */
  body: Uint8Array;
  /** The whole field as encoded, to copy it unchanged. */
  raw: Uint8Array;
}

/**
 * The top-level fields of an encoded message, in order.
 * @throws {RangeError} if the bytes are not a well-formed message.
 */
export function readFields(bytes: Uint8Array): Field[] {
  const fields: Field[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const start = offset;
    const [tag, afterTag] = readVarint(bytes, offset);
    const wireType = tag % 8;
    const number = Math.floor(tag / 8);
    let bodyStart = afterTag;
    let end: number;
    switch (wireType) {
      case WireType.VARINT:
        end = readVarint(bytes, afterTag)[1];
        break;
      case WireType.FIXED64:
        end = afterTag + 8;
        break;
      case WireType.LENGTH_DELIMITED: {
        const [length, afterLength] = readVarint(bytes, afterTag);
        bodyStart = afterLength;
        end = afterLength + length;
        break;
      }
      case WireType.FIXED32:
        end = afterTag + 4;
        break;
      default:
        throw new RangeError(
          `unsupported protobuf wire type ${wireType} at byte ${start}`
        );
    }
    if (end > bytes.length)
      throw new RangeError(`protobuf field ${number} runs past the end`);
    fields.push({
      number,
      wireType,
      body: bytes.subarray(bodyStart, end),
      raw: bytes.subarray(start, end),
    });
    offset = end;
  }
  return fields;
}

function readVarint(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let multiplier = 1;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    value += (bytes[i] & 0x7f) * multiplier;
    if ((bytes[i] & 0x80) === 0) return [value, i + 1];
    multiplier *= 128;
  }
  throw new RangeError(`bad protobuf varint at byte ${offset}`);
}

/** Builds one message from fields written in order. */
export class ProtoWriter {
  private readonly _chunks: Uint8Array[] = [];
  private _length = 0;

  /** Copies an already-encoded field (or fields). */
  raw(bytes: Uint8Array): this {
    this._chunks.push(bytes);
    this._length += bytes.length;
    return this;
  }

  message(number: number, body: Uint8Array): this {
    return this.raw(varint(number * 8 + WireType.LENGTH_DELIMITED))
      .raw(varint(body.length))
      .raw(body);
  }

  fixed64(number: number, value: number | bigint): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(value), true);
    return this.raw(varint(number * 8 + WireType.FIXED64)).raw(bytes);
  }

  /** An integer as sfixed64 (two's complement). */
  sfixed64(number: number, value: number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigInt64(0, BigInt(value), true);
    return this.raw(varint(number * 8 + WireType.FIXED64)).raw(bytes);
  }

  /** An integer as int64 (a negative one takes 10 bytes). */
  int64(number: number, value: number): this {
    return this.raw(varint(number * 8 + WireType.VARINT)).raw(
      varint(BigInt.asUintN(64, BigInt(value)))
    );
  }

  bool(number: number, value: boolean): this {
    return this.raw(varint(number * 8 + WireType.VARINT)).raw(
      varint(value ? 1 : 0)
    );
  }

  string(number: number, value: string): this {
    return this.message(number, new TextEncoder().encode(value));
  }

  double(number: number, value: number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    return this.raw(varint(number * 8 + WireType.FIXED64)).raw(bytes);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this._length);
    let offset = 0;
    for (const chunk of this._chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

/**
 * Rewrites the fields at `path` (field numbers, outermost first) of an
 * encoded message: each is replaced by what `leaf` returns for its body
 * (whole fields, tag included: none, one or several); the messages around
 * them are re-encoded, every other field is copied unchanged.
 */
export function rewriteFields(
  message: Uint8Array,
  path: readonly number[],
  leaf: (body: Uint8Array) => Uint8Array
): Uint8Array {
  const writer = new ProtoWriter();
  for (const field of readFields(message)) {
    if (field.number !== path[0]) writer.raw(field.raw);
    else if (path.length === 1) writer.raw(leaf(field.body));
    else
      writer.message(
        field.number,
        rewriteFields(field.body, path.slice(1), leaf)
      );
  }
  return writer.finish();
}

function varint(value: number | bigint): Uint8Array {
  const bytes: number[] = [];
  if (typeof value === 'bigint') {
    while (value >= 0x80n) {
      bytes.push(Number(value & 0x7fn) | 0x80);
      value >>= 7n;
    }
    bytes.push(Number(value));
    return Uint8Array.from(bytes);
  }
  while (value >= 0x80) {
    bytes.push(value % 128 | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return Uint8Array.from(bytes);
}

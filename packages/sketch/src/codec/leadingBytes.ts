import type { ByteReader } from '@datapunk/otel-common/codec';
import type { ByteWriter } from '@datapunk/otel-common/codec';

/**
 * A double as its leading bytes, sign and exponent first, without the
 * zero bytes that end it: a double of few significant bits (a rounding
 * error, an integer) takes 2–4 bytes instead of 8, and reads back bit for
 * bit. The caller keeps the length.
 */

/** Big-endian, so that the bytes a double may lack are its last ones. */
const view = new DataView(new ArrayBuffer(8));

/** How many leading bytes hold every 1 bit of `value` (0 for +0). */
export function leadingBytesOf(value: number): number {
  view.setFloat64(0, value);
  let length = 8;
  while (length > 0 && view.getUint8(length - 1) === 0) length--;
  return length;
}

/** Writes the first `length` bytes of `value`. */
export function writeLeadingBytes(
  writer: ByteWriter,
  value: number,
  length: number
): void {
  view.setFloat64(0, value);
  for (let i = 0; i < length; i++) writer.writeByte(view.getUint8(i));
}

/** The double whose first `length` bytes follow, the rest zeros. */
export function readLeadingBytes(reader: ByteReader, length: number): number {
  for (let i = 0; i < 8; i++)
    view.setUint8(i, i < length ? reader.readByte() : 0);
  return view.getFloat64(0);
}

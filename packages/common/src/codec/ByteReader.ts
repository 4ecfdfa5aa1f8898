import { FLOAT_BITS, FLOAT_BYTES } from './ByteWriter';

/**
 * Reads what a {@link ByteWriter} wrote, from `offset` on. It trusts its
 * input: the binary form is for a process's own storage, not for data from
 * outside (that goes through the validated JSON form).
 */
export class ByteReader {
  bytes: Uint8Array;
  offset: number;

  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.offset = offset;
  }

  readByte(): number {
    return this.bytes[this.offset++];
  }

  readVarint(): number {
    let result = 0;
    let factor = 1;
    for (;;) {
      const byte = this.bytes[this.offset++];
      result += (byte & 127) * factor;
      if (byte < 128) return result;
      factor *= 128;
    }
  }

  readSignedVarint(): number {
    const zigzag = this.readVarint();
    return (zigzag >>> 1) ^ -(zigzag & 1);
  }

  readFloat64(): number {
    const bytes = this.bytes;
    const at = this.offset;
    // Byte by byte: a subarray() here would allocate on every read.
    for (let i = 0; i < 8; i++) FLOAT_BYTES[i] = bytes[at + i];
    this.offset = at + 8;
    return FLOAT_BITS[0];
  }
}

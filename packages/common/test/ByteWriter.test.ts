import { expect } from 'chai';
import { ByteWriter } from '../src/codec';

describe('ByteWriter.copyTo', () => {
  for (const length of [0, 1, 64, 65, 1000]) {
    it(`copies the ${length} bytes written, and only those, to where it is told`, () => {
      const writer = new ByteWriter();
      const written: number[] = [];
      for (let i = 0; i < length; i++) {
        const byte = (i * 37 + 11) & 0xff;
        writer.writeByte(byte);
        written.push(byte);
      }
      const target = new Uint8Array(length + 8).fill(0xee);
      writer.copyTo(target, 3);
      expect(Array.from(target.subarray(3, 3 + length))).to.deep.equal(written);
      expect(Array.from(target.subarray(0, 3))).to.deep.equal([
        0xee, 0xee, 0xee,
      ]);
      expect(Array.from(target.subarray(3 + length))).to.deep.equal(
        new Array(5).fill(0xee)
      );
    });
  }
});

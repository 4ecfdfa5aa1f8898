import { expect } from 'chai';
import * as fc from 'fast-check';
import {
  keyByteLength,
  matchKeyText,
  readKeyBytes,
  writeKeyBytes,
} from '../src';

/** The stored form from its rule: a byte per unit below 0xFF, else 0xFF and the unit's two bytes. */
function expectedBytes(key: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    if (unit < 0xff) bytes.push(unit);
    else bytes.push(0xff, unit >> 8, unit & 0xff);
  }
  return bytes;
}

describe('attribute keys as bytes', () => {
  // Any UTF-16 units: ASCII, Latin-1 (0xFF itself included), beyond, lone surrogates.
  const key = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.string({
      unit: fc.integer({ min: 0xf0, max: 0x10f }).map(String.fromCharCode),
    }),
    fc.string({
      unit: fc.integer({ min: 0xd800, max: 0xdfff }).map(String.fromCharCode),
    })
  );

  it('writes the rule’s bytes, reads the same key back and matches it, in place among other bytes', () => {
    fc.assert(
      fc.property(key, key, (text, other) => {
        const expected = expectedBytes(text);
        expect(keyByteLength(text)).to.equal(expected.length);
        const bytes = new Uint8Array(expected.length + 6).fill(7);
        writeKeyBytes(text, bytes, 3);
        expect([...bytes.subarray(3, 3 + expected.length)]).to.deep.equal(
          expected
        );
        expect([
          ...bytes.subarray(0, 3),
          ...bytes.subarray(3 + expected.length),
        ]).to.deep.equal([7, 7, 7, 7, 7, 7]);
        expect(readKeyBytes(bytes, 3, 3 + expected.length)).to.equal(text);
        expect(matchKeyText(bytes, 3, text)).to.equal(3 + expected.length);
        // Another text matches only where it is this one's prefix (the
        // filler after the key cut off: reading past the end matches nothing).
        const keyOnly = bytes.subarray(0, 3 + expected.length);
        expect(matchKeyText(keyOnly, 3, other)).to.equal(
          text.startsWith(other) ? 3 + expectedBytes(other).length : -1
        );
      }),
      { numRuns: 2000 }
    );
  });

  it('reads keys longer than one decoding piece, escaped or not', () => {
    for (const text of [
      'a'.repeat(10_000),
      `${'é'.repeat(5_000)}\u20ac${'b'.repeat(5_000)}`,
    ]) {
      const bytes = new Uint8Array(keyByteLength(text));
      writeKeyBytes(text, bytes, 0);
      expect(readKeyBytes(bytes, 0, bytes.length)).to.equal(text);
    }
    expect(matchKeyText(new Uint8Array(1), -1, '')).to.equal(-1);
  });
});

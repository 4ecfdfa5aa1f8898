import { expect } from 'chai';
import * as fc from 'fast-check';
import {
  AttributeReader,
  DEFAULT_ATTRIBUTE_BOUNDS,
  PlainAttributes,
  hashKey,
} from '../src';

describe('PlainAttributes', () => {
  const reader = new AttributeReader();
  const plain = new PlainAttributes();
  const primitive = fc.oneof(
    fc.string(),
    fc.double(),
    fc.boolean(),
    fc.integer()
  );
  const set = fc.dictionary(fc.string({ minLength: 1 }), primitive, {
    maxKeys: 8,
  });
  const chars = (key: string) =>
    Uint16Array.from(key, (_c, i) => key.charCodeAt(i));

  it('gives the key, its hash and matches as the reader’s key would, for any plain set', () => {
    fc.assert(
      fc.property(set, attributes => {
        expect(plain.read(attributes, DEFAULT_ATTRIBUTE_BOUNDS)).to.equal(true);
        const key = reader.read(attributes)!.key;
        expect(plain.key()).to.equal(key);
        expect(plain.hash()).to.equal(hashKey(key));
        // In place, with other keys around it in the arena.
        const arena = chars(`xx${key}yy`);
        expect(plain.matches(arena, 2, 2 + key.length)).to.equal(true);
      }),
      { numRuns: 1000 }
    );
  });

  it('matches no other set’s key', () => {
    fc.assert(
      fc.property(set, set, (a, b) => {
        const keyB = reader.read(b)!.key;
        plain.read(a, DEFAULT_ATTRIBUTE_BOUNDS);
        expect(plain.matches(chars(keyB), 0, keyB.length)).to.equal(
          reader.read(a)!.key === keyB
        );
      }),
      { numRuns: 1000 }
    );
  });

  it('leaves to the full read whatever needs dropping, cutting or care', () => {
    const bounds = { ...DEFAULT_ATTRIBUTE_BOUNDS, maxAttributeValueLength: 4 };
    const getter = Object.defineProperty({}, 'a', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    for (const [i, input] of [
      { a: 'too long' },
      { a: [1] },
      { a: null },
      { '': 1 },
      getter,
      [1],
      'x',
      null,
    ].entries())
      expect(plain.read(input, bounds), `input ${i}`).to.equal(false);
  });
});

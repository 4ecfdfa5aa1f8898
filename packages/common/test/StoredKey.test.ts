import { expect } from 'chai';
import * as fc from 'fast-check';
import {
  AttributeReader,
  StoredKey,
  decodeAttributeKey,
  forEachStoredName,
  storedAttributes,
  storedKeyEquals,
} from '../src';

describe('StoredKey', () => {
  const reader = new AttributeReader();
  const value = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.double(),
    fc.boolean(),
    fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constant(null)), {
      maxLength: 3,
    }),
    fc.array(fc.oneof(fc.double(), fc.constant(null)), { maxLength: 3 })
  );
  const name = fc.oneof(
    fc.constantFrom('a:1', '12', ';', 's3:x', 'a2:', '__proto__', 'ÿ', '日本'),
    fc.string({ minLength: 1, unit: 'binary' })
  );
  const set = fc.dictionary(name, value, { maxKeys: 5 });
  /** A key split by its rule, written here: each `<length>:<name>` and the value's part after it. */
  const parts = (key: string): [string, string][] => {
    const split: [string, string][] = [];
    const valueEnd = (at: number): number => {
      const tag = key[at];
      if (tag === 's' || tag === 'a') {
        const colon = key.indexOf(':', at);
        const length = Number(key.slice(at + 1, colon));
        if (tag === 's') return colon + 1 + length;
        let end = colon + 1;
        for (let i = 0; i < length; i++) end = valueEnd(end);
        return end;
      }
      return tag === 'n' ? key.indexOf(';', at) + 1 : at + 1;
    };
    for (let at = 0; at < key.length; ) {
      const colon = key.indexOf(':', at);
      const end = colon + 1 + Number(key.slice(at, colon));
      const name = key.slice(colon + 1, end);
      at = valueEnd(end);
      split.push([name, key.slice(end, at)]);
    }
    return split;
  };
  /** A byte per unit below 0xFF, else 0xFF and the unit's two bytes. */
  const chars = (text: string): number[] =>
    [...Array(text.length).keys()].flatMap(i => {
      const unit = text.charCodeAt(i);
      return unit < 0xff ? [unit] : [0xff, unit >> 8, unit & 0xff];
    });

  it('writes the rule’s bytes, and gives back the key, its attributes and its names, for any attribute set', () => {
    fc.assert(
      fc.property(set, attributes => {
        const key = reader.read(attributes)!.key;
        // 150 names first: most indexes take two varint bytes.
        const names = Array.from({ length: 150 }, (_, i) => `\u0000${i}`);
        const indexOf = (n: string) => {
          if (!names.includes(n)) names.push(n);
          return names.indexOf(n);
        };
        const stored = new StoredKey();
        stored.encode(key, indexOf);
        const expected = parts(key).flatMap(([n, part]) => {
          const index = names.indexOf(n);
          const varint =
            index < 0x80 ? [index] : [(index & 0x7f) | 0x80, index >> 7];
          return [...varint, ...chars(part)];
        });
        const bytes = Uint8Array.from([9, ...expected, 9]);
        expect([...stored.bytes.subarray(0, stored.length)]).to.deep.equal(
          expected
        );
        expect(
          storedKeyEquals(key, bytes, 1, bytes.length - 1, names)
        ).to.equal(true);
        expect(stored.keyOf(bytes, 1, bytes.length - 1, names)).to.equal(key);
        expect(
          storedAttributes(bytes, 1, bytes.length - 1, names)
        ).to.deep.equal(decodeAttributeKey(key));
        const seen: number[] = [];
        forEachStoredName(bytes, 1, bytes.length - 1, index =>
          seen.push(index)
        );
        expect(seen).to.deep.equal(parts(key).map(([n]) => names.indexOf(n)));
      }),
      { numRuns: 500 }
    );
  });

  it('tells a stored key from any other key: another name, index, value or length', () => {
    fc.assert(
      fc.property(set, set, (a, b) => {
        const keyA = reader.read(a)!.key;
        const keyB = reader.read(b)!.key;
        const names: string[] = [];
        const stored = new StoredKey();
        stored.encode(keyA, n => {
          if (!names.includes(n)) names.push(n);
          return names.indexOf(n);
        });
        const bytes = stored.bytes.subarray(0, stored.length);
        expect(storedKeyEquals(keyB, bytes, 0, bytes.length, names)).to.equal(
          keyA === keyB
        );
      }),
      { numRuns: 1000 }
    );
  });
});

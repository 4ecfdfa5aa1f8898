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
    fc.string({ unit: 'binary' }),
    fc.double(),
    fc.boolean(),
    fc.integer()
  );
  const set = fc.dictionary(fc.string({ minLength: 1 }), primitive, {
    maxKeys: 8,
  });
  /** The stored form, written here from its rule: a byte per unit below 0xFF, else 0xFF and the unit's two bytes. */
  const chars = (key: string) =>
    Uint8Array.from(
      [...Array(key.length).keys()].flatMap(i => {
        const unit = key.charCodeAt(i);
        return unit < 0xff ? [unit] : [0xff, unit >> 8, unit & 0xff];
      })
    );

  /**
   * A store's form of a set's key, written here from its rule: per name in
   * sorted order, the name's index in `names` (added when new) as a varint,
   * then the value's part of the key in the stored form.
   */
  const stored = (
    attributes: Record<string, unknown>,
    names: string[]
  ): Uint8Array => {
    const bytes: number[] = [];
    for (const name of Object.keys(attributes).sort()) {
      if (!names.includes(name)) names.push(name);
      for (let id = names.indexOf(name); ; id >>>= 7) {
        bytes.push((id & 0x7f) | (id >= 0x80 ? 0x80 : 0));
        if (id < 0x80) break;
      }
      const value = attributes[name];
      const part =
        typeof value === 'string'
          ? `s${value.length}:${value}`
          : typeof value === 'number'
            ? `n${String(value)};`
            : value
              ? 't'
              : 'f';
      bytes.push(...chars(part));
    }
    return Uint8Array.from(bytes);
  };
  /** 200 names first, so that most indexes take two varint bytes. */
  const table = (): string[] =>
    Array.from({ length: 200 }, (_, i) => `\u0000${i}`);

  it('gives the key, its hash and matches as the reader’s key would, for any plain set', () => {
    fc.assert(
      fc.property(set, attributes => {
        expect(plain.read(attributes, DEFAULT_ATTRIBUTE_BOUNDS)).to.equal(true);
        const key = reader.read(attributes)!.key;
        expect(plain.key()).to.equal(key);
        expect(plain.hash()).to.equal(hashKey(key));
        // In place, with other keys around it in the arena.
        const names = table();
        const arena = Uint8Array.from([
          7,
          7,
          ...stored(attributes, names),
          9,
          9,
        ]);
        expect(plain.matches(arena, 2, arena.length - 2, names)).to.equal(true);
      }),
      { numRuns: 1000 }
    );
  });

  it('keeps to the reader’s key when sets of a few shapes come one after the other, in any key order', () => {
    // The same names, in different orders, and with one more or one less.
    const shapes = [
      ['b', 'a', 'c'],
      ['a', 'b', 'c'],
      ['c', 'b', 'a'],
      ['b', 'a'],
      ['b', 'a', 'c', 'd'],
    ];
    const shaped = fc
      .tuple(
        fc.constantFrom(...shapes),
        fc.array(primitive, { minLength: 4, maxLength: 4 })
      )
      .map(([names, values]) =>
        Object.fromEntries(names.map((name, i) => [name, values[i]]))
      );
    fc.assert(
      fc.property(fc.array(shaped, { minLength: 2, maxLength: 20 }), sets => {
        for (const attributes of sets) {
          plain.read(attributes, DEFAULT_ATTRIBUTE_BOUNDS);
          const key = reader.read(attributes)!.key;
          expect(plain.key()).to.equal(key);
          expect(plain.hash()).to.equal(hashKey(key));
        }
      }),
      { numRuns: 300 }
    );
  });

  it('matches no other set’s key', () => {
    fc.assert(
      fc.property(set, set, (a, b) => {
        const keyB = reader.read(b)!.key;
        plain.read(a, DEFAULT_ATTRIBUTE_BOUNDS);
        const names = table();
        const bytes = stored(b, names);
        expect(plain.matches(bytes, 0, bytes.length, names)).to.equal(
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

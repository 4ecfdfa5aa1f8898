import { expect } from 'chai';
import * as fc from 'fast-check';
import {
  AttributeReader,
  DEFAULT_ATTRIBUTE_BOUNDS,
  PlainAttributes,
  decodeAttributeKey,
} from '@datapunk/otel-common';
import { SeriesKeys } from '../../src/store/SeriesKeys';

describe('SeriesKeys', () => {
  const reader = new AttributeReader();
  const primitive = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.double(),
    fc.integer(),
    fc.boolean()
  );
  // Arrays of one type, nulls among them (the reader keeps those), nested parts in the key.
  const array = fc.oneof(
    fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constant(null)), {
      maxLength: 4,
    }),
    fc.array(fc.oneof(fc.double(), fc.constant(null)), { maxLength: 4 }),
    fc.array(fc.boolean(), { maxLength: 4 })
  );
  // Names that look like key syntax too: digits, ':' and ';'.
  const name = fc.oneof(
    fc.constantFrom(
      'route',
      'a:1',
      '12',
      ';',
      's3:x',
      '__proto__',
      'é',
      '日本'
    ),
    fc.string({ minLength: 1, unit: 'binary' })
  );
  const set = fc.dictionary(name, fc.oneof(primitive, array), { maxKeys: 6 });

  it('files, finds, rebuilds and forgets any keys, its names held while a key uses them', () => {
    fc.assert(
      fc.property(fc.array(set, { maxLength: 40 }), sets => {
        const keys = new SeriesKeys();
        const empty = keys.byteLength;
        const filed = new Map<string, number>();
        for (const attributes of sets) {
          const key = reader.read(attributes)!.key;
          if (filed.has(key)) continue;
          keys.add(key, filed.size);
          filed.set(key, filed.size);
        }
        const plain = new PlainAttributes();
        for (const attributes of sets) {
          const key = reader.read(attributes)!.key;
          const id = filed.get(key)!;
          expect(keys.find(key)).to.equal(id);
          expect(keys.keyOf(id)).to.equal(key);
          expect(keys.attributesOf(id)).to.deep.equal(decodeAttributeKey(key));
          if (plain.read(attributes, DEFAULT_ATTRIBUTE_BOUNDS))
            expect(keys.findPlain(plain)).to.equal(id);
        }
        // Removed one by one: each is gone, the others stay.
        const order = [...filed];
        for (const [i, [key, id]] of order.entries()) {
          keys.remove(id);
          expect(keys.find(key)).to.equal(-1);
          for (const [other, otherId] of order.slice(i + 1))
            expect(keys.keyOf(otherId)).to.equal(other);
        }
        // Nothing is left but the empty index and columns: no name is kept.
        const columnsGrown = keys.byteLength - empty;
        expect(columnsGrown).to.equal(columnBytesFor(filed.size));
      }),
      { numRuns: 300 }
    );
  });

  it('finds no key with a name it does not hold, nor one that differs in a value', () => {
    const keys = new SeriesKeys();
    const key = (attributes: Record<string, unknown>) =>
      reader.read(attributes)!.key;
    keys.add(key({ route: '/a', code: 200 }), 0);
    expect(keys.find(key({ route: '/a', code: 200 }))).to.equal(0);
    expect(keys.find(key({ route: '/a', status: 200 }))).to.equal(-1);
    expect(keys.find(key({ route: '/a', code: 201 }))).to.equal(-1);
    expect(keys.find(key({ route: '/a' }))).to.equal(-1);
    expect(keys.find(key({}))).to.equal(-1);
  });

  /** What the columns (4 + 4 + 4 + 1 bytes per id) and the table grew by for `ids`: measured on a key-less twin. */
  function columnBytesFor(ids: number): number {
    const twin = new SeriesKeys();
    const empty = twin.byteLength;
    for (let id = 0; id < ids; id++) twin.add('', id);
    for (let id = 0; id < ids; id++) twin.remove(id);
    return twin.byteLength - empty;
  }
});

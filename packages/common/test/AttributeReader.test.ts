import { expect } from 'chai';
import * as fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  AttributeReader,
  DEFAULT_ATTRIBUTE_BOUNDS,
  MAX_ATTRIBUTE_KEY_LENGTH,
  decodeAttributeKey,
} from '../src';

describe('AttributeReader', () => {
  const reader = new AttributeReader();

  it('keeps primitives and homogeneous arrays, in sorted key order, as own copies', () => {
    const list = ['a', null, 'b'];
    const given = { z: 1, a: 'x', m: true, list, nums: [1, 2.5] };
    const read = reader.read(given)!;
    expect(read.attributes).to.deep.equal({
      a: 'x',
      list: ['a', null, 'b'],
      m: true,
      nums: [1, 2.5],
      z: 1,
    });
    expect(Object.keys(read.attributes)).to.deep.equal([
      'a',
      'list',
      'm',
      'nums',
      'z',
    ]);
    expect(read.attributes.list).not.to.equal(list);
    list.push('later');
    expect(read.attributes.list).to.have.length(3);
    expect([read.invalid, read.truncated, read.dropped]).to.deep.equal([
      0, 0, 0,
    ]);
  });

  it('reads undefined and null as the empty set, non-objects as no set at all', () => {
    expect(reader.read(undefined)!.attributes).to.deep.equal({});
    expect(reader.read(null)!.key).to.equal('');
    for (const bad of ['x', 42, [1], () => 1, Symbol('s'), 1n])
      expect(reader.read(bad), String(typeof bad)).to.equal(undefined);
  });

  it('drops and counts what the OpenTelemetry API does not allow, keeping the rest', () => {
    const read = reader.read({
      ok: 'yes',
      nested: { x: 1 },
      big: 7n,
      sym: Symbol('s'),
      fn: () => 1,
      mixed: [1, 'a'],
      deep: [[1]],
      '': 'empty key',
      absent: undefined,
      none: null,
    })!;
    expect(read.attributes).to.deep.equal({ ok: 'yes' });
    expect(read.invalid).to.equal(7);
  });

  it('never calls toJSON and never throws for getters or Proxies', () => {
    let called = 0;
    const withToJson = {
      toJSON() {
        called++;
        throw new Error('toJSON');
      },
    };
    const getter = Object.defineProperty({ fine: 1 }, 'bad', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    const trap = new Proxy(
      { a: 1 },
      {
        ownKeys() {
          throw new Error('ownKeys');
        },
      }
    );
    const getTrap = new Proxy(
      { a: 1, b: 'x' },
      {
        get(_target, key) {
          if (key === 'a') throw new Error('get');
          return 'x';
        },
      }
    );
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(reader.read({ j: withToJson })!.invalid).to.equal(1);
    expect(called).to.equal(0);
    expect(reader.read(getter)!.attributes).to.deep.equal({ fine: 1 });
    expect(reader.read(trap)).to.equal(undefined);
    const fromGetTrap = reader.read(getTrap)!;
    expect(fromGetTrap.attributes).to.deep.equal({ b: 'x' });
    expect(fromGetTrap.invalid).to.equal(1);
    expect(reader.read(revoked)).to.equal(undefined);
    const arrayProxy = new Proxy(['a'], {
      get(target, key) {
        if (key === '0') throw new Error('element');
        return Reflect.get(target, key);
      },
    });
    expect(reader.read({ list: arrayProxy })!.invalid).to.equal(1);
  });

  it('keeps a __proto__ key as a key and changes no prototype', () => {
    const given = JSON.parse('{"__proto__": "p", "a": 1}');
    const read = reader.read(given)!;
    expect(Object.getPrototypeOf(read.attributes)).to.equal(Object.prototype);
    expect(Object.keys(read.attributes)).to.deep.equal(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).a).to.equal(undefined);
  });

  it('cuts long values, long arrays and long keys, and counts them', () => {
    const small = new AttributeReader({
      ...DEFAULT_ATTRIBUTE_BOUNDS,
      maxAttributeValueLength: 4,
    });
    const read = small.read({
      s: 'abcdefgh',
      arr: ['abcdefgh', 'ab', 'c', 'd', 'e', 'f'],
      ['k'.repeat(MAX_ATTRIBUTE_KEY_LENGTH + 10)]: 1,
    })!;
    expect(read.attributes.s).to.equal('abcd');
    expect(read.attributes.arr).to.deep.equal(['abcd', 'ab', 'c', 'd']);
    expect(read.attributes['k'.repeat(MAX_ATTRIBUTE_KEY_LENGTH)]).to.equal(1);
    // s, the long array, its long element, the long key.
    expect(read.truncated).to.equal(4);
  });

  it('keeps only what it cut: a long value or key is not held through its cut', () => {
    // V8's slice of a long string is a view that keeps the whole string alive.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const readBig = (i: number) => {
      // 1 MiB of one-byte characters, made at run time (no shared constant).
      const big = String(i % 10).repeat(1 << 20) + 'x';
      return reader.read({ [big]: big, list: [big] })!.attributes;
    };
    readBig(0); // compiled and warmed up before the baseline
    const kept: unknown[] = [];
    const before = heap();
    for (let i = 0; i < 20; i++) kept.push(readBig(i));
    const grown = heap() - before;
    expect(kept).to.have.length(20);
    // 20 sets of three cut strings (1024 + 1024 + 256 one-byte characters,
    // ~2.5 KB with their objects): far below one 1 MiB string.
    expect(grown).to.be.below(20 * 8 * 1024);
  });

  it('keeps the first N keys in sorted order, and stops at the byte budget', () => {
    const few = new AttributeReader({
      ...DEFAULT_ATTRIBUTE_BOUNDS,
      maxAttributesPerSeries: 2,
    });
    const read = few.read({ c: 1, a: 1, b: 1, d: 1 })!;
    expect(read.attributes).to.deep.equal({ a: 1, b: 1 });
    expect(read.dropped).to.equal(2);
    // Each entry: 2 bytes per key character + 2 per string character.
    const budget = new AttributeReader({
      ...DEFAULT_ATTRIBUTE_BOUNDS,
      maxAttributeBytesPerSeries: 2 * (1 + 10) * 2,
    });
    const byBytes = budget.read({
      a: 'x'.repeat(10),
      b: 'y'.repeat(10),
      c: 'z'.repeat(10),
    })!;
    expect(Object.keys(byBytes.attributes)).to.deep.equal(['a', 'b']);
    expect(byBytes.dropped).to.equal(1);
  });

  it('gives equal keys exactly to equal sets, whatever the order or separators in strings', () => {
    const value = fc.oneof(
      fc.string(),
      fc.double(),
      fc.boolean(),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.array(fc.integer(), { maxLength: 3 })
    );
    const set = fc.dictionary(fc.string({ minLength: 1 }), value, {
      maxKeys: 5,
    });
    fc.assert(
      fc.property(set, set, (a, b) => {
        const ra = reader.read(a)!;
        const rb = reader.read(b)!;
        const reversed = reader.read(
          Object.fromEntries(Object.entries(a).reverse())
        )!;
        expect(reversed.key).to.equal(ra.key);
        // The independent notion of equality: same keys, same typed values.
        const same =
          JSON.stringify(canonical(ra.attributes)) ===
          JSON.stringify(canonical(rb.attributes));
        expect(ra.key === rb.key).to.equal(same);
      }),
      { numRuns: 500 }
    );
  });

  it('makes the attributes again from the key alone, and readKey gives the same key', () => {
    const value = fc.oneof(
      fc.string(),
      fc.double(),
      fc.boolean(),
      fc.array(fc.oneof(fc.string(), fc.constant(null)), { maxLength: 3 }),
      fc.array(fc.double(), { maxLength: 3 }),
      fc.array(fc.boolean(), { maxLength: 3 })
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1 }), value, { maxKeys: 6 }),
        attributes => {
          const read = reader.read(attributes)!;
          expect(reader.readKey(attributes)!.key).to.equal(read.key);
          const decoded = decodeAttributeKey(read.key);
          expect(canonical(decoded)).to.deep.equal(canonical(read.attributes));
          expect(Object.keys(decoded)).to.deep.equal(
            Object.keys(read.attributes)
          );
        }
      ),
      { numRuns: 500 }
    );
    expect(() => decodeAttributeKey('garbage')).to.throw(TypeError);
  });

  it('makes keys that are property names of Object.prototype own properties, and refuses broken keys', () => {
    const attributes = JSON.parse(
      '{"__proto__":"p","constructor":1,"0":true,"toString":["a",null]}'
    );
    const decoded = decodeAttributeKey(reader.read(attributes)!.key);
    expect(Object.getPrototypeOf(decoded)).to.equal(Object.prototype);
    expect(Object.entries(decoded)).to.deep.equal([
      ['0', true],
      ['__proto__', 'p'],
      ['constructor', 1],
      ['toString', ['a', null]],
    ]);
    for (const broken of [
      '3:abc',
      '3:abcs9:x',
      '1:xn5',
      '1:xa2:t',
      ':x',
      '1:xq',
    ])
      expect(() => decodeAttributeKey(broken), broken).to.throw(
        TypeError,
        /not an attribute key/
      );
    expect(decodeAttributeKey('')).to.deep.equal({});
  });
});

/** Sorted entries with every value tagged by type (NaN, -0 and 1 vs '1' kept apart as the key must). */
function canonical(attributes: Record<string, unknown>): unknown {
  const tag = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(tag)
      : typeof v === 'number'
        ? ['n', String(v)]
        : [typeof v, v];
  return Object.keys(attributes)
    .sort()
    .map(k => [k, tag(attributes[k])]);
}

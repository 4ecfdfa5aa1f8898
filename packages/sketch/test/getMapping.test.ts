import { expect } from 'chai';
import fc from 'fast-check';
import { MAX_SCALE, MIN_SCALE, getMapping } from '../src';
import { seededRandom } from './datasets';

/** A positive finite double as M × 2^E exactly (M an integer), from its bits. */
function exactParts(value: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  return exponent === 0
    ? { m: fraction, e: -1074 }
    : { m: fraction | (1n << 52n), e: exponent - 1075 };
}

/**
 * The bucket of a positive normal value by exact arithmetic, independent of
 * the mapping's logarithm: i with base^i < v ≤ base^(i+1), base = 2^(2^−s).
 * For s ≥ 0 that is 2^i < v^(2^s) ≤ 2^(i+1), with v^(2^s) a BigInt power;
 * for s < 0, j with 2^j < v ≤ 2^(j+1), then i = ⌊j / 2^−s⌋.
 */
function exactIndex(value: number, scale: number): number {
  const { m, e } = exactParts(value);
  const power = 2n ** BigInt(Math.max(scale, 0));
  const p = m ** power; // v^(2^s) = p × 2^(e·2^s)
  const bits = p.toString(2);
  const isPowerOfTwo = /^10*$/.test(bits);
  const j = bits.length - 1 + e * Number(power) - (isPowerOfTwo ? 1 : 0);
  return scale >= 0 ? j : Math.floor(j / 2 ** -scale);
}

/** Scales where exactIndex stays fast (v^(2^8) has ~13,600 bits). */
const EXACT_SCALES = [-10, -7, -3, -1, 0, 1, 2, 3, 5, 8];

describe('getMapping(scale).mapToIndex(value)', () => {
  it('has one shared mapping per scale in [-10, 20]', () => {
    for (let scale = MIN_SCALE; scale <= MAX_SCALE; scale++) {
      expect(getMapping(scale).scale).to.equal(scale);
      expect(getMapping(scale)).to.equal(getMapping(scale));
    }
    expect([MIN_SCALE, MAX_SCALE]).to.deep.equal([-10, 20]);
  });

  it('throws a RangeError naming the scale for anything else', () => {
    for (const scale of [21, -11, 2.5, NaN, Infinity, '5', true, null]) {
      expect(() => getMapping(scale as number), String(scale)).to.throw(
        RangeError,
        /^getMapping: 'scale' must be an integer ≥ -10 and ≤ 20, got /
      );
    }
  });

  it('equals exact arithmetic for random values, powers of two and their neighbours', () => {
    const random = seededRandom(17);
    const values: number[] = [];
    for (let n = 0; n < 300; n++) values.push(2 ** (random() * 2000 - 1000));
    for (const e of [-1022, -500, -1, 0, 1, 7, 300, 1023]) {
      const power = 2 ** e;
      values.push(power, power * (1 + 2 ** -52), power * (1 - 2 ** -53));
    }
    values.push(Number.MAX_VALUE, 3, 0.1, 1e-300, 123456.789);
    for (const scale of EXACT_SCALES) {
      const mapping = getMapping(scale);
      for (const value of values) {
        expect(mapping.mapToIndex(value), `${value} at ${scale}`).to.equal(
          exactIndex(value, scale)
        );
      }
    }
  });

  it('puts powers of two and their neighbours exactly at every scale up to 20', () => {
    for (let scale = MIN_SCALE; scale <= MAX_SCALE; scale++) {
      const mapping = getMapping(scale);
      for (const e of [-1022, -60, -1, 0, 1, 9, 1000, 1023]) {
        // 2^e closes bucket ⌈e·2^s⌉ − 1; the next double opens the next one.
        const closing = Math.ceil(e * 2 ** scale) - 1;
        expect(mapping.mapToIndex(2 ** e), `2^${e} at ${scale}`).to.equal(
          closing
        );
        expect(
          mapping.mapToIndex(2 ** e * (1 + 2 ** -52)),
          `above 2^${e} at ${scale}`
        ).to.equal(scale >= 0 ? closing + 1 : Math.floor(e / 2 ** -scale));
      }
    }
  });

  it('is consistent across scales: the index at s, shifted right by c, is the index at s − c', () => {
    const near = fc
      .tuple(
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: -3, max: 3 })
      )
      .map(([e, ulps]) => 2 ** e * (1 + ulps * 2 ** -52));
    const value = fc.oneof(
      fc.double({ min: Number.MIN_VALUE, max: Number.MAX_VALUE, noNaN: true }),
      near
    );
    fc.assert(
      fc.property(
        value,
        fc.integer({ min: MIN_SCALE, max: MAX_SCALE }),
        fc.integer({ min: 0, max: 30 }),
        (v, scale, c) => {
          const lower = Math.max(MIN_SCALE, scale - c);
          expect(getMapping(scale).mapToIndex(v) >> (scale - lower)).to.equal(
            getMapping(lower).mapToIndex(v)
          );
        }
      ),
      { numRuns: 2000 }
    );
  });

  it('maps subnormals with 2^-1022 and keeps any other input inside [minIndex, maxIndex]', () => {
    for (let scale = MIN_SCALE; scale <= MAX_SCALE; scale++) {
      const mapping = getMapping(scale);
      expect(mapping.minIndex).to.equal(Math.ceil(-1022 * 2 ** scale) - 1);
      expect(mapping.maxIndex).to.equal(Math.ceil(1024 * 2 ** scale) - 1);
      for (const tiny of [Number.MIN_VALUE, 2 ** -1030, 2 ** -1022])
        expect(mapping.mapToIndex(tiny)).to.equal(mapping.minIndex);
      expect(mapping.mapToIndex(Number.MAX_VALUE)).to.equal(mapping.maxIndex);
      for (const bad of [
        0,
        -0,
        -1,
        -Number.MAX_VALUE,
        NaN,
        Infinity,
        -Infinity,
      ]) {
        const index = mapping.mapToIndex(bad);
        expect(Number.isInteger(index), `${bad} at ${scale}`).to.equal(true);
        expect(index, `${bad} at ${scale}`).to.be.within(
          mapping.minIndex,
          mapping.maxIndex
        );
      }
    }
  });

  it('gives the bucket boundaries and the midpoint within relativeError of both', () => {
    for (const scale of [-4, 0, 3, 20]) {
      const mapping = getMapping(scale);
      const base = 2 ** (2 ** -scale);
      expect(mapping.relativeError).to.equal((base - 1) / (base + 1));
      for (const index of [-7, 0, 5, 50]) {
        const lower = mapping.lowerBoundary(index);
        expect(lower).to.be.closeTo(base ** index, base ** index * 1e-12);
        const mid = mapping.midpoint(index);
        for (const end of [lower, lower * base])
          expect(Math.abs(mid - end) / end).to.be.at.most(
            mapping.relativeError * (1 + 1e-9)
          );
      }
    }
  });
});

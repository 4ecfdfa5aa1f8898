import { expect } from 'chai';
import fc from 'fast-check';
import { ExponentialSketch } from '../src';
import type { ExponentialSketchJSON } from '../src';
import { DATASETS, seededRandom } from './datasets';

function sample(): ExponentialSketch {
  const sketch = new ExponentialSketch();
  for (const v of DATASETS[7].generate(5000, seededRandom(3))) sketch.record(v);
  sketch.record(NaN); // one rejected call, to carry through
  return sketch;
}

const roundTrip = (sketch: ExponentialSketch) =>
  ExponentialSketch.fromJSON(JSON.parse(JSON.stringify(sketch)));

describe('ExponentialSketch JSON', () => {
  it('round-trips every field, and the copy keeps behaving identically', () => {
    const original = sample();
    const copy = roundTrip(original);
    expect(copy.toJSON()).to.deep.equal(original.toJSON());
    expect(copy.rejected).to.equal(1);
    for (const q of [0, 0.1, 0.5, 0.99, 1]) {
      expect(copy.quantile(q)).to.equal(original.quantile(q));
    }
    for (const v of [1e-3, 7, -2e5, 0]) {
      copy.record(v);
      original.record(v);
    }
    expect(copy.toJSON()).to.deep.equal(original.toJSON());
  });

  it('round-trips any sketch', () => {
    const entry = fc.tuple(
      fc.double({ min: -1e300, max: 1e300, noNaN: true }),
      fc.integer({ min: 1, max: 50 })
    );
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 100 }),
        fc.constantFrom(2, 5, 160, 520),
        (items, maxBuckets) => {
          const sketch = new ExponentialSketch({ maxBuckets });
          for (const [v, n] of items) sketch.record(v, n);
          expect(roundTrip(sketch).toJSON()).to.deep.equal(sketch.toJSON());
        }
      ),
      { numRuns: 300 }
    );
  });

  it('round-trips an empty sketch', () => {
    const empty = new ExponentialSketch({ maxBuckets: 40, maxScale: 7 });
    const copy = roundTrip(empty);
    expect(copy.count).to.equal(0);
    expect(copy.scale).to.equal(7);
    expect(copy.quantile(0.5)).to.be.NaN;
    expect(copy.min).to.be.NaN;
  });

  it('writes the rounded sum first in `sum`', () => {
    const sketch = new ExponentialSketch();
    for (const v of [0.1, 0.2, 0.3]) sketch.record(v);
    const { sum } = sketch.toJSON();
    expect(Array.isArray(sum) && sum[0]).to.equal(sketch.sum);
  });

  describe('rejects malformed or tampered input with an error naming the field', () => {
    const valid = () =>
      JSON.parse(JSON.stringify(sample())) as ExponentialSketchJSON;
    type Tamper = [
      string,
      (json: ExponentialSketchJSON) => unknown,
      ErrorConstructor,
      RegExp,
    ];
    const cases: Tamper[] = [
      ['null', () => null, TypeError, /'json' must be an object, got null/],
      ['an array', () => [], TypeError, /'json' must be an object/],
      ['a string', () => '{}', TypeError, /'json' must be an object/],
      [
        'another version',
        j => ({ ...j, version: 2 }),
        RangeError,
        /'version' must be 1, got 2/,
      ],
      [
        'no version',
        j => ({ ...j, version: undefined }),
        RangeError,
        /'version' must be 1/,
      ],
      [
        'maxBuckets 1',
        j => ({ ...j, maxBuckets: 1 }),
        RangeError,
        /'maxBuckets' must be an integer ≥ 2 and ≤ 16384, got 1/,
      ],
      [
        'maxScale as text',
        j => ({ ...j, maxScale: '20' }),
        TypeError,
        /'maxScale' must be a number/,
      ],
      [
        'scale past 20',
        j => ({ ...j, scale: 21 }),
        RangeError,
        /'scale' must be an integer ≥ -10 and ≤ 20/,
      ],
      [
        'scale above maxScale',
        j => ({ ...j, maxScale: 1 }),
        RangeError,
        /must fit 'maxScale' and 'maxBuckets'/,
      ],
      [
        'more buckets than maxBuckets',
        j => ({ ...j, maxBuckets: 3 }),
        RangeError,
        /must fit 'maxScale' and 'maxBuckets'/,
      ],
      [
        'count off by one',
        j => ({ ...j, count: (j.count as number) + 1 }),
        RangeError,
        /'count' \(\d+\) must equal 'zeroCount' plus all bucket counts/,
      ],
      [
        'negative zeroCount',
        j => ({ ...j, zeroCount: -1 }),
        RangeError,
        /'zeroCount' must be an integer ≥ 0/,
      ],
      [
        'fractional bucket count',
        j => ({
          ...j,
          positive: {
            ...j.positive,
            bucketCounts: [0.5, ...j.positive.bucketCounts],
          },
        }),
        RangeError,
        /'positive\.bucketCounts\[0\]' must be an integer/,
      ],
      [
        'text bucket count',
        j => ({ ...j, negative: { ...j.negative, bucketCounts: ['1'] } }),
        TypeError,
        /'negative\.bucketCounts\[0\]' must be a number/,
      ],
      [
        'absurdly many buckets',
        j => ({
          ...j,
          positive: { offset: 0, bucketCounts: new Array(20000).fill(0) },
        }),
        TypeError,
        /'positive\.bucketCounts' must be an array of at most 16384 counts/,
      ],
      [
        'offset out of range',
        j => ({ ...j, positive: { ...j.positive, offset: 2 ** 40 } }),
        RangeError,
        /'positive\.offset' must be an integer/,
      ],
      [
        'missing span',
        j => ({ ...j, negative: undefined }),
        TypeError,
        /'negative' must be an object/,
      ],
      [
        'min below its bucket',
        j => ({ ...j, min: (j.min as number) * 2 }),
        RangeError,
        /'min' \(.+\) must lie in its edge bucket/,
      ],
      [
        'max above its bucket',
        j => ({ ...j, max: (j.max as number) * 1.5 }),
        RangeError,
        /'max' \(.+\) must lie in its edge bucket/,
      ],
      [
        'missing min',
        j => ({ ...j, min: undefined }),
        TypeError,
        /'min' must be a number/,
      ],
      [
        'sum off the scale',
        j => ({ ...j, sum: [1e30] }),
        RangeError,
        /'sum' gives a mean of 2e\+26, outside \[min, max\]/,
      ],
      [
        'sum with a null part',
        j => ({ ...j, sum: [1, null] }),
        TypeError,
        /'sum\[1\]' must be a number, got null/,
      ],
      [
        'sum as a number',
        j => ({ ...j, sum: 5 }),
        TypeError,
        /'sum' must be an array/,
      ],
      [
        'negative rejected',
        j => ({ ...j, rejected: -1 }),
        RangeError,
        /'rejected' must be an integer ≥ 0/,
      ],
    ];
    for (const [name, tamper, type, message] of cases) {
      it(name, () => {
        expect(() => ExponentialSketch.fromJSON(tamper(valid()))).to.throw(
          type,
          message
        );
      });
    }

    it('ignores a __proto__ key without polluting anything', () => {
      const text = JSON.stringify(sample()).replace(
        '{',
        '{"__proto__":{"polluted":true},'
      );
      const sketch = ExponentialSketch.fromJSON(JSON.parse(text));
      expect(sketch.count).to.equal(5000);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('never yields a sketch that breaks its invariants, whatever is changed', () => {
      const base = valid() as unknown as ExponentialSketchJSON;
      const keys = Object.keys(base);
      const anything = fc.oneof(
        fc.anything(),
        fc.double(),
        fc.integer(),
        fc.array(fc.integer({ min: -2, max: 5 }))
      );
      fc.assert(
        fc.property(fc.constantFrom(...keys), anything, (key, replacement) => {
          let sketch: ExponentialSketch;
          try {
            sketch = ExponentialSketch.fromJSON({
              ...base,
              [key]: replacement,
            });
          } catch (error) {
            expect(error).to.be.instanceOf(Error);
            expect((error as Error).constructor).to.be.oneOf([
              TypeError,
              RangeError,
            ]);
            return;
          }
          const point = sketch.toExponentialHistogram();
          const total = [
            ...point.positive.bucketCounts,
            ...point.negative.bucketCounts,
          ].reduce((a, b) => a + b, point.zeroCount);
          expect(total).to.equal(sketch.count);
          for (const q of [0.01, 0.5, 0.99]) {
            const v = sketch.quantile(q);
            expect(v).to.be.within(sketch.min, sketch.max);
          }
        }),
        { numRuns: 500 }
      );
    });
  });
});

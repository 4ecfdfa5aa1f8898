import { expect } from 'chai';
import fc from 'fast-check';
import { ExponentialSketch } from '../src';

/**
 * Finite values whose sums cannot overflow in these sizes (the exact sum is
 * order-independent only below Number.MAX_VALUE), with zeros, -0,
 * subnormals and exact powers of two mixed in.
 */
const value = fc.oneof(
  fc.double({ min: -1e300, max: 1e300, noNaN: true }),
  fc.constantFrom(0, -0, Number.MIN_VALUE, 2 ** -1022, 1, 2, 0.5, 1024),
  fc.integer({ min: -60, max: 60 }).map(e => 2 ** e * (1 - 2 ** -53))
);
const entry = fc.tuple(value, fc.integer({ min: 1, max: 1000 }));
const entries = fc.array(entry, { maxLength: 200 });
const maxBuckets = fc.constantFrom(2, 3, 8, 160, 520);

function sketchOf(
  items: [number, number][],
  buckets: number
): ExponentialSketch {
  const sketch = new ExponentialSketch({ maxBuckets: buckets });
  for (const [v, count] of items) sketch.record(v, count);
  return sketch;
}

function merged(...sketches: ExponentialSketch[]): ExponentialSketch {
  const [first, ...rest] = sketches.map(s => s.clone());
  for (const s of rest) first.merge(s);
  return first;
}

/** Everything observable, bit for bit. */
function state(sketch: ExponentialSketch) {
  return {
    json: sketch.toJSON(),
    sum: sketch.sum,
    min: sketch.min,
    max: sketch.max,
  };
}

describe('ExponentialSketch merge', () => {
  it('is commutative', () => {
    fc.assert(
      fc.property(entries, entries, maxBuckets, (a, b, buckets) => {
        const x = sketchOf(a, buckets);
        const y = sketchOf(b, buckets);
        expect(state(merged(x, y))).to.deep.equal(state(merged(y, x)));
      }),
      { numRuns: 300 }
    );
  });

  it('is associative', () => {
    fc.assert(
      fc.property(entries, entries, entries, maxBuckets, (a, b, c, buckets) => {
        const [x, y, z] = [a, b, c].map(items => sketchOf(items, buckets));
        expect(state(merged(merged(x, y), z))).to.deep.equal(
          state(merged(x, merged(y, z)))
        );
      }),
      { numRuns: 300 }
    );
  });

  it('merging shards equals one sketch fed everything, bit for bit', () => {
    fc.assert(
      fc.property(
        entries,
        fc.array(fc.nat(7), { maxLength: 200 }),
        maxBuckets,
        (items, assignment, buckets) => {
          const shards = Array.from(
            { length: 8 },
            () => new ExponentialSketch({ maxBuckets: buckets })
          );
          items.forEach(([v, count], i) =>
            shards[assignment[i] ?? 0].record(v, count)
          );
          const whole = sketchOf(items, buckets);
          const combined = merged(...shards);
          expect(state(combined)).to.deep.equal(state(whole));
          expect(combined.count).to.equal(whole.count);
        }
      ),
      { numRuns: 300 }
    );
  });

  it('merges sketches at different scales by downscaling the finer one', () => {
    const fine = new ExponentialSketch();
    fine.record(1.5);
    const coarse = new ExponentialSketch({ maxScale: 0 });
    coarse.record(1000);
    fine.merge(coarse);
    expect(fine.scale).to.equal(0);
    expect(fine.count).to.equal(2);
    expect(fine.quantile(0)).to.equal(1.5);
    expect(fine.quantile(1)).to.equal(1000);
  });

  it('merges a sketch into itself as doubling it', () => {
    const sketch = sketchOf(
      [
        [3, 2],
        [-1, 1],
        [0, 1],
      ],
      160
    );
    sketch.merge(sketch);
    expect(sketch.count).to.equal(8);
    expect(sketch.sum).to.equal(10);
  });

  it('ignores the scale of a sketch with only zeros', () => {
    const fine = sketchOf([[1.1, 1]], 160);
    const zeros = new ExponentialSketch({ maxScale: -5 });
    zeros.record(0, 3);
    fine.merge(zeros);
    expect(fine.scale).to.equal(20);
    expect(fine.toExponentialHistogram().zeroCount).to.equal(3);
  });

  it('throws a TypeError for something that is not a sketch', () => {
    const sketch = new ExponentialSketch();
    expect(() => sketch.merge({} as ExponentialSketch)).to.throw(
      TypeError,
      /ExponentialSketch\.merge: expected an ExponentialSketch, got an object/
    );
  });
});

describe('ExponentialSketch sum', () => {
  /** The exact sum of doubles ≥ 2^-28 in magnitude, by BigInt, rounded once. */
  function exactSum(values: number[]): number {
    const scaled = values.reduce((acc, v) => acc + BigInt(v * 2 ** 80), 0n);
    return Number(scaled) * 2 ** -80;
  }

  it('is the exact sum correctly rounded', () => {
    const magnitude = fc.oneof(
      fc.double({ min: 2 ** -28, max: 1e15, noNaN: true }),
      fc.integer({ min: -28, max: 49 }).map(e => 2 ** e)
    );
    const signed = fc
      .tuple(magnitude, fc.boolean())
      .map(([m, neg]) => (neg ? -m : m));
    fc.assert(
      fc.property(fc.array(signed, { maxLength: 300 }), values => {
        const sketch = new ExponentialSketch();
        for (const v of values) sketch.record(v);
        expect(sketch.sum).to.equal(exactSum(values));
      }),
      { numRuns: 500 }
    );
  });

  it('rounds exact ties to even and sees past cancellation', () => {
    const cases: [number[], number][] = [
      [[2 ** 53, 1], 2 ** 53],
      [[2 ** 53, 1, 2 ** -60], 2 ** 53 + 2],
      [[2 ** 53 + 2, 1], 2 ** 53 + 4],
      [[1, 1e100, 1, -1e100], 2],
      [[0.1, 0.2, 0.3, -0.6], exactSum([0.1, 0.2, 0.3, -0.6])],
    ];
    for (const [values, expected] of cases) {
      const sketch = new ExponentialSketch();
      for (const v of values) sketch.record(v);
      expect(sketch.sum, values.join(', ')).to.equal(expected);
    }
  });

  it('counts repeated values exactly: record(v, n) equals n records of v', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.integer({ min: 1, max: 300 }),
        (v, n) => {
          const once = new ExponentialSketch();
          once.record(v, n);
          const many = new ExponentialSketch();
          for (let i = 0; i < n; i++) many.record(v);
          expect(state(once)).to.deep.equal(state(many));
        }
      )
    );
  });

  it('saturates to ±Infinity when the sum overflows, and keeps counting', () => {
    const sketch = new ExponentialSketch();
    sketch.record(Number.MAX_VALUE, 2);
    sketch.record(1);
    expect(sketch.sum).to.equal(Infinity);
    expect(sketch.count).to.equal(3);
    expect(sketch.toJSON().sum).to.equal('Infinity');
    expect(ExponentialSketch.fromJSON(sketch.toJSON()).sum).to.equal(Infinity);
    const fresh = new ExponentialSketch();
    fresh.merge(sketch);
    expect(fresh.sum).to.equal(Infinity);
    const opposite = new ExponentialSketch();
    opposite.record(-Number.MAX_VALUE, 2);
    opposite.merge(sketch);
    expect(opposite.sum).to.be.NaN;
  });
});

import { expect } from 'chai';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ExponentialSketch, MAX_SCALE, getMapping } from '../src';
import type { BucketBlock, BucketRange } from '../src';
import { exactQuantile, relativeErrorAt } from './datasets';

/**
 * What a columnar store keeps per series, written here independently of the
 * sketch: per sign, counts by bucket index at one scale, halving the scale
 * whenever a sign's occupied range would exceed `maxBuckets`; zeros, min,
 * max, and the sum as a TwoSum pair (hi, lo).
 */
class DenseShard {
  scale = MAX_SCALE;
  readonly counts = [new Map<number, number>(), new Map<number, number>()];
  zeroCount = 0;
  hi = 0;
  lo = 0;
  min = Infinity;
  max = -Infinity;

  private readonly _maxBuckets: number;

  constructor(maxBuckets: number) {
    this._maxBuckets = maxBuckets;
  }

  record(value: number, count: number): void {
    if (value === 0) {
      this.zeroCount += count;
      value = 0;
    } else {
      const sign = value > 0 ? 0 : 1;
      this._add(
        sign,
        getMapping(this.scale).mapToIndex(Math.abs(value)),
        count
      );
    }
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
    const product = value * count;
    const hi = this.hi + product;
    const back = hi - product;
    this.lo += this.hi - back + (product - (hi - back));
    this.hi = hi;
  }

  private _add(sign: number, index: number, count: number): void {
    const map = this.counts[sign];
    map.set(index, (map.get(index) ?? 0) + count);
    while (this.counts.some(m => span(m) > this._maxBuckets)) {
      this.scale--;
      for (let s = 0; s < 2; s++) {
        const halved = new Map<number, number>();
        for (const [i, c] of this.counts[s])
          halved.set(i >> 1, (halved.get(i >> 1) ?? 0) + c);
        this.counts[s] = halved;
      }
    }
  }

  /**
   * Writes each sign's counts into `arena` at `at`, with `pad` empty slots
   * before and after, and returns the block that reads them in place.
   */
  writeBlock(arena: Float64Array, at: number, pad: number): BucketBlock {
    const ranges = this.counts.map(map => {
      const from = at;
      if (map.size === 0) return { counts: arena, offset: 0, from, to: from };
      const low = Math.min(...map.keys());
      const high = Math.max(...map.keys());
      for (const [i, c] of map) arena[from + pad + i - low] = c;
      const to = from + pad + (high - low + 1) + pad;
      at = to;
      return { counts: arena, offset: low - pad, from, to };
    });
    return {
      scale: this.scale,
      positive: ranges[0],
      negative: ranges[1],
      zeroCount: this.zeroCount,
      sum: this.hi,
      sumError: this.lo,
      min: this.min,
      max: this.max,
    };
  }
}

function span(map: Map<number, number>): number {
  if (map.size === 0) return 0;
  return Math.max(...map.keys()) - Math.min(...map.keys()) + 1;
}

function sketchOf(items: [number, number][], maxBuckets: number) {
  const sketch = new ExponentialSketch({ maxBuckets });
  for (const [v, count] of items) sketch.record(v, count);
  return sketch;
}

/** Everything observable, bit for bit. */
function state(sketch: ExponentialSketch) {
  return { json: sketch.toJSON(), sum: sketch.sum };
}

/** Items spread over `shards` dense blocks in one arena, merged into a new sketch. */
function mergedBlocks(
  items: [number, number][],
  assignment: number[],
  maxBuckets: number,
  pad: number
): ExponentialSketch {
  const shards = Array.from({ length: 4 }, () => new DenseShard(maxBuckets));
  items.forEach(([v, count], i) => shards[assignment[i] ?? 0].record(v, count));
  const arena = new Float64Array(4 * 2 * (maxBuckets + 2 * pad));
  let at = 0;
  const blocks = shards.map(shard => {
    const block = shard.writeBlock(arena, at, pad);
    at = Math.max(block.positive!.to, block.negative!.to);
    return block;
  });
  const sketch = new ExponentialSketch({ maxBuckets });
  for (const block of blocks) sketch.mergeBuckets(block);
  return sketch;
}

/** The exact sum of multiples of 2^-20, by BigInt, rounded once. */
function exactSum(items: [number, number][]): number {
  const scaled = items.reduce(
    (acc, [v, count]) => acc + BigInt(v * 2 ** 20) * BigInt(count),
    0n
  );
  return Number(scaled) * 2 ** -20;
}

/**
 * Multiples of 2^-20 below 2^40, so that a shard's TwoSum pair holds its sum
 * exactly (and with it the merged sum); zeros, -0 and powers of two mixed in.
 */
const fixedPoint = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: -(2 ** 20), max: 2 ** 20 }),
      fc.integer({ min: -20, max: 20 })
    )
    .map(([k, e]) => k * 2 ** e),
  fc.constantFrom(0, -0, 1, 2, 0.5, 1024, 2 ** -20)
);
const wide = fc.oneof(
  fc.double({ min: -1e300, max: 1e300, noNaN: true }),
  fc.constantFrom(0, Number.MIN_VALUE, 2 ** -1022, Number.MAX_VALUE),
  fc.integer({ min: -60, max: 60 }).map(e => 2 ** e * (1 - 2 ** -53))
);
/** Items of `value`, each one's shard, the sketches' maxBuckets and the padding of blocks. */
const sharded = (value: fc.Arbitrary<number>) =>
  fc.tuple(
    fc.array(fc.tuple(value, fc.integer({ min: 1, max: 1000 })), {
      maxLength: 200,
    }),
    fc.array(fc.nat(3), { maxLength: 200 }),
    fc.constantFrom(2, 3, 8, 160, 520),
    fc.integer({ min: 0, max: 5 })
  );

describe('ExponentialSketch.mergeBuckets', () => {
  it('merging dense blocks equals one sketch fed everything, bit for bit, and the exact sum', () => {
    fc.assert(
      fc.property(sharded(fixedPoint), ([items, shardOf, buckets, padding]) => {
        const merged = mergedBlocks(items, shardOf, buckets, padding);
        expect(state(merged)).to.deep.equal(state(sketchOf(items, buckets)));
        expect(merged.sum).to.equal(exactSum(items));
        expect(merged.count).to.equal(items.reduce((acc, [, c]) => acc + c, 0));
      }),
      { numRuns: 300 }
    );
  });

  it('gives the same buckets, scale, count, min and max for any doubles', () => {
    fc.assert(
      fc.property(sharded(wide), ([items, shardOf, buckets, padding]) => {
        // A TwoSum pair cannot hold the exact sum of such doubles.
        const withoutSum = (sketch: ExponentialSketch) => ({
          ...sketch.toJSON(),
          sum: null,
        });
        const merged = mergedBlocks(items, shardOf, buckets, padding);
        expect(withoutSum(merged)).to.deep.equal(
          withoutSum(sketchOf(items, buckets))
        );
      }),
      { numRuns: 300 }
    );
  });

  it('answers quantiles within the bound of its scale from blocks alone', () => {
    const values = Array.from(
      { length: 2000 },
      (_, i) => 1 + ((i * 7919) % 1000)
    );
    const merged = mergedBlocks(
      values.map(v => [v, 1]),
      values.map((_, i) => i % 4),
      160,
      3
    );
    const sorted = values.slice().sort((a, b) => a - b);
    for (const q of [0.01, 0.25, 0.5, 0.9, 0.99]) {
      const exact = exactQuantile(sorted, q);
      expect(Math.abs(merged.quantile(q) - exact)).to.be.at.most(
        exact * relativeErrorAt(merged.scale)
      );
    }
    expect([merged.min, merged.max, merged.count]).to.deep.equal([
      1, 1000, 2000,
    ]);
    expect(merged.sum).to.equal(values.reduce((a, b) => a + b, 0));
  });

  it('reads counts from any array: Uint32Array, plain arrays, a range inside a shared buffer', () => {
    // 5 three times and 9 once at scale 0: buckets (4, 8] and (8, 16] are 2 and 3.
    const ranges: [string, BucketRange][] = [
      [
        'Uint32Array',
        { counts: new Uint32Array([3, 1]), offset: 2, from: 0, to: 2 },
      ],
      ['array', { counts: [0, 3, 1, 0], offset: 1, from: 0, to: 4 }],
      [
        'arena',
        {
          counts: new Float64Array([7, 7, 0, 3, 1, 7]),
          offset: 1,
          from: 2,
          to: 5,
        },
      ],
    ];
    for (const [name, positive] of ranges) {
      const sketch = new ExponentialSketch();
      sketch.mergeBuckets({
        scale: 0,
        positive,
        zeroCount: 0,
        sum: 24,
        min: 5,
        max: 9,
      });
      expect(sketch.toExponentialHistogram(), name).to.deep.equal({
        count: 4,
        sum: 24,
        scale: 0,
        zeroCount: 0,
        positive: { offset: 2, bucketCounts: [3, 1] },
        negative: { offset: 0, bucketCounts: [] },
        min: 5,
        max: 9,
      });
    }
  });

  it('ignores empty slots at the ends of a range: they never force a downscale', () => {
    const arena = new Float64Array(100);
    arena[50] = 4; // bucket 1050
    const value = 2 ** (1050.5 / 2 ** 20);
    const sketch = new ExponentialSketch({ maxBuckets: 2 });
    sketch.mergeBuckets({
      scale: 20,
      positive: { counts: arena, offset: 1000, from: 0, to: 100 },
      zeroCount: 0,
      sum: 4 * value,
      min: value,
      max: value,
    });
    expect(sketch.scale).to.equal(20);
    expect(sketch.toExponentialHistogram().positive).to.deep.equal({
      offset: 1050,
      bucketCounts: [4],
    });
  });

  it('takes an empty block, or one of zeros only, ignoring its min and max when empty', () => {
    const sketch = new ExponentialSketch();
    sketch.record(3);
    sketch.mergeBuckets({
      scale: 5,
      zeroCount: 0,
      sum: 0,
      min: -100,
      max: 100,
    });
    expect([sketch.count, sketch.min, sketch.max, sketch.scale]).to.deep.equal([
      1, 3, 3, 20,
    ]);
    sketch.mergeBuckets({ scale: -10, zeroCount: 4, sum: 0, min: 0, max: 0 });
    expect([
      sketch.count,
      sketch.zeroCount,
      sketch.min,
      sketch.max,
    ]).to.deep.equal([5, 4, 0, 3]);
    expect(sketch.scale).to.equal(20);
  });

  it('adds sum and sumError exactly', () => {
    const sketch = new ExponentialSketch();
    sketch.record(1);
    sketch.mergeBuckets({
      scale: 0,
      positive: { counts: [2], offset: 52, from: 0, to: 1 },
      zeroCount: 0,
      sum: 2 ** 53,
      sumError: 2, // the pair 2^53 + 2 is two values of 2^52 + 1
      min: 2 ** 52 + 1,
      max: 2 ** 52 + 1,
    });
    // 1 + 2^53 + 2 = 2^53 + 3, a tie between 2^53 + 2 and 2^53 + 4: to even.
    expect(sketch.sum).to.equal(2 ** 53 + 4);
    sketch.record(-(2 ** 53));
    expect(sketch.sum).to.equal(3);
  });

  describe('rejects a malformed block with an error naming the field, changing nothing', () => {
    const valid = (): BucketBlock => ({
      scale: 0,
      positive: {
        counts: new Float64Array([0, 2, 1]),
        offset: 0,
        from: 0,
        to: 3,
      },
      negative: { counts: [1], offset: 0, from: 0, to: 1 },
      zeroCount: 1,
      sum: 5.5,
      min: -1.5,
      max: 7,
    });
    const owner = /^ExponentialSketch\.mergeBuckets: /;
    const cases: [
      string,
      (b: BucketBlock) => unknown,
      ErrorConstructor,
      RegExp,
    ][] = [
      ['not an object', () => 7, TypeError, /'block' must be an object, got 7/],
      [
        'scale 21',
        b => ({ ...b, scale: 21 }),
        RangeError,
        /'scale' must be an integer ≥ -10 and ≤ 20, got 21/,
      ],
      [
        'scale as text',
        b => ({ ...b, scale: '0' }),
        TypeError,
        /'scale' must be a number/,
      ],
      [
        'fractional zeroCount',
        b => ({ ...b, zeroCount: 0.5 }),
        RangeError,
        /'zeroCount' must be an integer ≥ 0/,
      ],
      [
        'a range that is not an object',
        b => ({ ...b, negative: 3 }),
        TypeError,
        /'negative' must be an object or absent, got 3/,
      ],
      [
        'a null range',
        b => ({ ...b, negative: null }),
        TypeError,
        /'negative' must be an object or absent, got null/,
      ],
      [
        'null counts',
        b => ({ ...b, positive: { ...b.positive!, counts: null } }),
        TypeError,
        /'positive\.counts' must be an array or a typed array, got null/,
      ],
      [
        'counts without a length',
        b => ({ ...b, positive: { ...b.positive!, counts: {} } }),
        TypeError,
        /'positive\.counts' must be an array or a typed array, got an object/,
      ],
      [
        'counts that are not an array',
        b => ({ ...b, positive: { ...b.positive!, counts: 5 } }),
        TypeError,
        /'positive\.counts' must be an array or a typed array, got 5/,
      ],
      [
        'a negative from',
        b => ({ ...b, positive: { ...b.positive!, from: -1 } }),
        RangeError,
        /'positive\.from' must be an integer ≥ 0, got -1/,
      ],
      [
        'to past the array',
        b => ({ ...b, positive: { ...b.positive!, to: 4 } }),
        RangeError,
        /'positive\.to' must be an integer ≥ 'from' \(0\) and ≤ the length of 'counts' \(3\), got 4/,
      ],
      [
        'to before from',
        b => ({ ...b, positive: { ...b.positive!, from: 2, to: 1 } }),
        RangeError,
        /'positive\.to' must be an integer ≥ 'from' \(2\)/,
      ],
      [
        'a fractional offset',
        b => ({ ...b, positive: { ...b.positive!, offset: 0.5 } }),
        RangeError,
        /'positive\.offset' must be an integer, got 0\.5/,
      ],
      [
        'buckets past the largest double',
        b => ({ ...b, positive: { ...b.positive!, offset: 1022 } }),
        RangeError,
        /'positive' must hold buckets within \[-1023, 1023\] at scale 0, not \[1023, 1024\]/,
      ],
      [
        'a text sum',
        b => ({ ...b, sum: '5' }),
        TypeError,
        /'sum' must be a number/,
      ],
      [
        'a text sumError',
        b => ({ ...b, sumError: '0' }),
        TypeError,
        /'sumError' must be a number or absent/,
      ],
      [
        'a NaN min',
        b => ({ ...b, min: NaN }),
        RangeError,
        /'min' must be a finite number, got NaN/,
      ],
      [
        'an infinite max',
        b => ({ ...b, max: Infinity }),
        RangeError,
        /'max' must be a finite number/,
      ],
      [
        'min above max',
        b => ({ ...b, min: 8 }),
        RangeError,
        /'min' must be ≤ 'max' \(7\), got 8/,
      ],
    ];
    for (const [name, tamper, type, message] of cases) {
      it(name, () => {
        const sketch = new ExponentialSketch();
        sketch.record(2.5);
        const before = state(sketch);
        expect(() =>
          sketch.mergeBuckets(tamper(valid()) as BucketBlock)
        ).to.throw(type, new RegExp(owner.source + '.*' + message.source));
        expect(state(sketch)).to.deep.equal(before);
      });
    }

    it('checks min and max whenever there is a value: zeros only, or one sign only', () => {
      const blocks: [string, BucketBlock][] = [
        ['zeros', { scale: 0, zeroCount: 2, sum: 0, min: NaN, max: 0 }],
        [
          'positive',
          {
            scale: 0,
            positive: { counts: [1], offset: 0, from: 0, to: 1 },
            zeroCount: 0,
            sum: 1.5,
            min: NaN,
            max: 1.5,
          },
        ],
        [
          'negative',
          {
            scale: 0,
            negative: { counts: [1], offset: 0, from: 0, to: 1 },
            zeroCount: 0,
            sum: -1.5,
            min: NaN,
            max: -1.5,
          },
        ],
      ];
      for (const [name, block] of blocks)
        expect(
          () => new ExponentialSketch().mergeBuckets(block),
          name
        ).to.throw(RangeError, /'min' must be a finite number, got NaN/);
    });

    it('places a single bucket by the index range of its scale, and ignores where empty slots are', () => {
      const one = (offset: number): BucketBlock => ({
        scale: 0,
        positive: { counts: [0, 1, 0], offset, from: 0, to: 3 },
        zeroCount: 0,
        sum: 1,
        min: 1,
        max: 1,
      });
      // Its one bucket is offset + 1; at scale 0 buckets run from -1023 to 1023.
      expect(() => new ExponentialSketch().mergeBuckets(one(1023))).to.throw(
        RangeError,
        /'positive' must hold buckets within \[-1023, 1023\] at scale 0, not \[1024, 1024\]/
      );
      expect(() => new ExponentialSketch().mergeBuckets(one(-1025))).to.throw(
        RangeError,
        /not \[-1024, -1024\]/
      );
      const sketch = new ExponentialSketch();
      sketch.mergeBuckets({
        scale: 0,
        positive: { counts: [0, 0], offset: 5000, from: 0, to: 2 },
        zeroCount: 1,
        sum: 0,
        min: 0,
        max: 0,
      });
      expect([sketch.count, sketch.zeroCount]).to.deep.equal([1, 1]);
    });

    it('takes the valid one', () => {
      const sketch = new ExponentialSketch();
      sketch.mergeBuckets(valid());
      expect([
        sketch.count,
        sketch.sum,
        sketch.min,
        sketch.max,
        sketch.zeroCount,
      ]).to.deep.equal([5, 5.5, -1.5, 7, 1]);
    });
  });

  it('keeps no reference to a merged block’s arrays (a store may give their buffer back)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const sketch = new ExponentialSketch();
    const refs = ((): WeakRef<Float64Array>[] => {
      const positive = new Float64Array(1 << 16);
      const negative = new Float64Array(1 << 16);
      positive[10] = 3;
      negative[20] = 2;
      sketch.mergeBuckets({
        scale: 3,
        zeroCount: 0,
        sum: 0,
        min: -10,
        max: 10,
        positive: { counts: positive, from: 0, to: 100, offset: 0 },
        negative: { counts: negative, from: 0, to: 100, offset: 0 },
      });
      return [new WeakRef(positive), new WeakRef(negative)];
    })();
    expect(sketch.count).to.equal(5);
    // A WeakRef's target stays alive until the job that made it ends.
    await new Promise(resolve => setImmediate(resolve));
    gc();
    expect(refs.map(ref => ref.deref())).to.deep.equal([undefined, undefined]);
  });
});

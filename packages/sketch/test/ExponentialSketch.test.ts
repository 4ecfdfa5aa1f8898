import { expect } from 'chai';
import { ExponentialSketch } from '../src';
import type { ExponentialHistogramPoint } from '../src';
import { DATASETS, seededRandom } from './datasets';

describe('ExponentialSketch', () => {
  describe('options', () => {
    it('defaults to 520 buckets per sign from scale 20', () => {
      const sketch = new ExponentialSketch();
      expect(sketch.scale).to.equal(20);
      expect(sketch.toJSON()).to.include({ maxBuckets: 520, maxScale: 20 });
    });

    const invalid: [string, unknown, ErrorConstructor, RegExp][] = [
      [
        'options null',
        null,
        TypeError,
        /ExponentialSketch: options must be an object, got null/,
      ],
      [
        'maxBuckets as text',
        { maxBuckets: '160' },
        TypeError,
        /'maxBuckets' must be a number, got the string "160"/,
      ],
      [
        'maxBuckets below 2',
        { maxBuckets: 1 },
        RangeError,
        /'maxBuckets' must be an integer ≥ 2 and ≤ 16384, got 1/,
      ],
      [
        'maxBuckets fractional',
        { maxBuckets: 10.5 },
        RangeError,
        /'maxBuckets' must be an integer ≥ 2 and ≤ 16384, got 10.5/,
      ],
      [
        'maxBuckets huge',
        { maxBuckets: 1e6 },
        RangeError,
        /'maxBuckets' must be an integer ≥ 2 and ≤ 16384/,
      ],
      [
        'maxScale above 20',
        { maxScale: 21 },
        RangeError,
        /'maxScale' must be an integer ≥ -10 and ≤ 20, got 21/,
      ],
      [
        'maxScale below -10',
        { maxScale: -11 },
        RangeError,
        /'maxScale' must be an integer ≥ -10 and ≤ 20, got -11/,
      ],
      [
        'maxScale NaN',
        { maxScale: NaN },
        RangeError,
        /'maxScale' must be an integer ≥ -10 and ≤ 20, got NaN/,
      ],
      [
        'a misspelt option',
        { maxBucket: 100 },
        TypeError,
        /unknown option 'maxBucket' \(known: maxBuckets, maxScale\)/,
      ],
    ];
    for (const [name, options, type, message] of invalid) {
      it(`throws for ${name}`, () => {
        expect(() => new ExponentialSketch(options as never)).to.throw(
          type,
          message
        );
      });
    }
  });

  describe('bad input', () => {
    it('drops and counts invalid values and counts without throwing', () => {
      const sketch = new ExponentialSketch();
      const badValues: unknown[] = [
        NaN,
        Infinity,
        -Infinity,
        '5',
        {},
        null,
        undefined,
        [],
        10n,
      ];
      for (const v of badValues) sketch.record(v as number);
      const badCounts: unknown[] = [
        0,
        -1,
        1.5,
        NaN,
        Infinity,
        '2',
        2 ** 53,
        null,
      ];
      for (const c of badCounts) sketch.record(1, c as number);
      expect(sketch.rejected).to.equal(badValues.length + badCounts.length);
      expect(sketch.count).to.equal(0);
      expect(sketch.sum).to.equal(0);
      sketch.record(1, 3);
      expect(sketch.count).to.equal(3);
    });

    it('folds -0 into the zero bucket as +0', () => {
      const sketch = new ExponentialSketch();
      sketch.record(-0);
      expect(Object.is(sketch.min, 0)).to.equal(true);
      expect(sketch.toExponentialHistogram().zeroCount).to.equal(1);
    });

    it('answers NaN for an empty sketch or a q outside [0, 1]', () => {
      const sketch = new ExponentialSketch();
      expect(sketch.quantile(0.5)).to.be.NaN;
      expect(sketch.mean).to.be.NaN;
      sketch.record(3);
      for (const q of [-0.01, 1.01, NaN, '0.5']) {
        expect(sketch.quantile(q as number)).to.be.NaN;
      }
    });
  });

  it('answers several quantiles in one call exactly as one by one', () => {
    const sketch = new ExponentialSketch();
    for (const v of DATASETS[7].generate(5000, seededRandom(9)))
      sketch.record(v);
    const qs = [0.99, 0, 0.5, 1, 0.001, 0.5, -1, 0.9, NaN];
    expect(sketch.quantiles(qs)).to.deep.equal(qs.map(q => sketch.quantile(q)));
    expect(new ExponentialSketch().quantiles([0.5, 1])).to.deep.equal([
      NaN,
      NaN,
    ]);
  });

  it('answers the exact min and max at q = 0 and q = 1', () => {
    const sketch = new ExponentialSketch();
    for (const v of [3.3, -7.1, 12.9]) sketch.record(v);
    expect(sketch.quantile(0)).to.equal(-7.1);
    expect(sketch.quantile(1)).to.equal(12.9);
    expect(sketch.mean).to.be.closeTo(3.0333333333, 1e-9);
  });

  it('estimates its memory from the bucket arrays it holds', () => {
    const sketch = new ExponentialSketch();
    const empty = sketch.retainedBytes;
    sketch.record(1);
    sketch.record(1000);
    const span = sketch.toExponentialHistogram().positive.bucketCounts.length;
    expect(sketch.retainedBytes).to.be.at.least(empty + 8 * span);
    expect(sketch.retainedBytes).to.be.at.most(empty + 8 * 520 + 400);
  });

  it('clones independently', () => {
    const sketch = new ExponentialSketch();
    sketch.record(1);
    const copy = sketch.clone();
    copy.record(100);
    expect(sketch.count).to.equal(1);
    expect(copy.count).to.equal(2);
  });

  describe('buckets()', () => {
    /** Counts by bucket index at `scale`: bucket i holds (base^i, base^(i+1)]. */
    function tally(values: number[], scale: number): Map<number, number> {
      const counts = new Map<number, number>();
      for (const v of values) {
        const index = Math.ceil(Math.log2(v) * 2 ** scale) - 1;
        counts.set(index, (counts.get(index) ?? 0) + 1);
      }
      return counts;
    }

    /** A range's non-zero counts by bucket index. */
    function read(range: ReturnType<ExponentialSketch['buckets']>) {
      const counts = new Map<number, number>();
      for (let i = range.from; i < range.to; i++)
        if (range.counts[i] !== 0)
          counts.set(range.offset + i - range.from, range.counts[i]);
      return counts;
    }

    it('reads each sign’s counts in place, by bucket index at the sketch’s scale', () => {
      const random = seededRandom(7);
      // Exact powers of two sit on bucket bounds: the formula and the
      // sketch may round them differently, so they are left out.
      const positive = Array.from({ length: 500 }, () => 0.1 + random() * 99);
      const negative = Array.from({ length: 300 }, () => 0.5 + random() * 9);
      const sketch = new ExponentialSketch({ maxScale: 4, maxBuckets: 160 });
      for (const v of positive) sketch.record(v);
      for (const v of negative) sketch.record(-v);
      sketch.record(0);
      expect(read(sketch.buckets())).to.deep.equal(
        tally(positive, sketch.scale)
      );
      expect(read(sketch.buckets(-1))).to.deep.equal(
        tally(negative, sketch.scale)
      );
      // The same as the exported point's buckets.
      const point = sketch.toExponentialHistogram();
      const range = sketch.buckets();
      expect(range.offset).to.equal(point.positive.offset);
      expect(
        Array.from(range.counts).slice(range.from, range.to)
      ).to.deep.equal(point.positive.bucketCounts);
    });

    it('is an empty range for a sign without values', () => {
      const sketch = new ExponentialSketch();
      sketch.record(3);
      const range = sketch.buckets(-1);
      expect(range.to - range.from).to.equal(0);
      expect(new ExponentialSketch().buckets().to).to.equal(0);
    });
  });

  describe('OpenTelemetry exponential histogram point', () => {
    it('round-trips losslessly', () => {
      const sketch = new ExponentialSketch();
      for (const v of DATASETS[7].generate(10_000, seededRandom(5)))
        sketch.record(v);
      const point = sketch.toExponentialHistogram();
      const copy = ExponentialSketch.fromExponentialHistogram(point);
      expect(copy.toExponentialHistogram()).to.deep.equal(point);
      expect(copy.scale).to.equal(sketch.scale);
      for (const q of [0.01, 0.5, 0.9, 0.999]) {
        expect(copy.quantile(q)).to.equal(sketch.quantile(q));
      }
    });

    it('follows the bucket convention: bucket i holds (base^i, base^(i+1)]', () => {
      const sketch = new ExponentialSketch({ maxScale: 0 });
      for (const v of [1, 2, 3, 4, -0.75]) sketch.record(v);
      expect(sketch.toExponentialHistogram()).to.deep.equal({
        count: 5,
        sum: 9.25,
        scale: 0,
        zeroCount: 0,
        positive: { offset: -1, bucketCounts: [1, 1, 2] }, // (½,1] (1,2] (2,4]
        negative: { offset: -1, bucketCounts: [1] }, // |−0.75| in (½,1]
        min: -0.75,
        max: 4,
      });
    });

    it('reports scale 0 and no min/max like the SDK when empty', () => {
      expect(new ExponentialSketch().toExponentialHistogram()).to.deep.equal({
        count: 0,
        sum: 0,
        scale: 0,
        zeroCount: 0,
        positive: { offset: 0, bucketCounts: [] },
        negative: { offset: 0, bucketCounts: [] },
      });
    });

    it('downscales a point finer or wider than its options', () => {
      const fine = new ExponentialSketch();
      for (let v = 1; v < 1000; v *= 1.01) fine.record(v);
      const coarse = ExponentialSketch.fromExponentialHistogram(
        fine.toExponentialHistogram(),
        { maxBuckets: 10 }
      );
      expect(coarse.count).to.equal(fine.count);
      expect(
        coarse.toExponentialHistogram().positive.bucketCounts.length
      ).to.be.at.most(10);
      const capped = ExponentialSketch.fromExponentialHistogram(
        fine.toExponentialHistogram(),
        { maxScale: 2 }
      );
      expect(capped.scale).to.equal(2);
    });

    it('fills a missing min, max and sum from the buckets', () => {
      const point: ExponentialHistogramPoint = {
        count: 3,
        scale: 0,
        zeroCount: 0,
        positive: { offset: 1, bucketCounts: [2, 1] }, // (2,4] ×2, (4,8] ×1
        negative: { offset: 0, bucketCounts: [] },
      };
      const sketch = ExponentialSketch.fromExponentialHistogram(point);
      expect(sketch.min).to.equal(2);
      expect(sketch.max).to.equal(8);
      expect(sketch.sum).to.equal(2 * (8 / 3) + 16 / 3); // count × midpoint 2·lo·hi/(lo+hi)
    });

    it('rejects a point whose counts do not add up', () => {
      const point = {
        count: 5,
        sum: 3,
        scale: 0,
        zeroCount: 1,
        positive: { offset: 0, bucketCounts: [1] },
        negative: { offset: 0, bucketCounts: [] },
        min: 0,
        max: 2,
      };
      expect(() => ExponentialSketch.fromExponentialHistogram(point)).to.throw(
        RangeError,
        /fromExponentialHistogram: 'count' \(5\) must equal 'zeroCount' plus all bucket counts \(2\)/
      );
    });
  });
});

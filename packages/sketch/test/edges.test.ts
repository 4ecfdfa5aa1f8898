import { expect } from 'chai';
import { ExponentialSketch, RunningStats } from '../src';
import { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';
import { exactQuantile, relativeErrorAt, seededRandom } from './datasets';

/** The bucket a sketch at `scale` puts a single value in. */
function bucketOf(value: number, scale: number): number {
  const sketch = new ExponentialSketch({ maxScale: scale });
  sketch.record(value);
  expect(sketch.scale).to.equal(scale);
  return sketch.toExponentialHistogram().positive.offset;
}

/** The bucket closing at 2^e: buckets are (base^i, base^(i+1)], base = 2^(2^−scale). */
function bucketClosingAt(e: number, scale: number): number {
  return Math.ceil(e * 2 ** scale) - 1;
}

const SCALES = [-10, -3, -1, 0, 1, 3, 5, 20];

describe('edges the other tests leave out (found by mutation testing)', () => {
  it('maps powers of two to the bucket they close, at negative, zero and positive scales', () => {
    for (const scale of SCALES) {
      for (const e of [-1022, -7, -1, 0, 1, 3, 10, 1023]) {
        expect(bucketOf(2 ** e, scale), `2^${e} at scale ${scale}`).to.equal(
          bucketClosingAt(e, scale)
        );
      }
    }
  });

  it('maps the value just above a power of two to the next bucket, at scale ≥ 0', () => {
    for (const scale of [0, 1, 3, 5, 20]) {
      for (const e of [-7, 0, 1, 10]) {
        const above = 2 ** e * (1 + 2 ** -52);
        expect(bucketOf(above, scale), `above 2^${e} at ${scale}`).to.equal(
          e * 2 ** scale
        );
      }
    }
  });

  it('maps subnormals with the smallest normal, and the largest double to the last bucket', () => {
    for (const scale of SCALES) {
      const smallest = bucketClosingAt(-1022, scale);
      for (const tiny of [Number.MIN_VALUE, 2 ** -1030, 2 ** -1023])
        expect(bucketOf(tiny, scale), `${tiny} at ${scale}`).to.equal(smallest);
      expect(bucketOf(Number.MAX_VALUE, scale), `max at ${scale}`).to.equal(
        bucketClosingAt(1024, scale)
      );
    }
  });

  it('puts values between boundaries strictly inside their bucket', () => {
    const random = seededRandom(41);
    for (const scale of SCALES) {
      for (let n = 0; n < 200; n++) {
        const value = 2 ** (random() * 80 - 40);
        const i = bucketOf(value, scale);
        const lower = 2 ** (i / 2 ** scale);
        const upper = 2 ** ((i + 1) / 2 ** scale);
        expect(value, `${value} at ${scale}`).to.be.above(lower * (1 - 1e-12));
        expect(value, `${value} at ${scale}`).to.be.at.most(
          upper * (1 + 1e-12)
        );
      }
    }
  });

  it('has NaN statistics and no min/max in its forms when empty', () => {
    const sketch = new ExponentialSketch();
    expect(sketch.count).to.equal(0);
    for (const value of [sketch.min, sketch.max, sketch.mean, sketch.stddev])
      expect(value).to.be.NaN;
    expect(sketch.quantile(0.5)).to.be.NaN;
    expect(sketch.toJSON()).to.not.have.any.keys('min', 'max');
    expect(sketch.toExponentialHistogram()).to.not.have.any.keys('min', 'max');
    const stats = new RunningStats();
    for (const value of [stats.min, stats.max, stats.mean, stats.variance])
      expect(value).to.be.NaN;
    expect(stats.toJSON()).to.not.have.any.keys('min', 'max');
  });

  it('answers a single value exactly, whatever the quantile (clamped to min and max)', () => {
    for (const value of [3.7, -0.042, 1e-300, 123456.789]) {
      const sketch = new ExponentialSketch();
      sketch.record(value);
      for (const q of [0, 0.01, 0.5, 0.99, 1])
        expect(sketch.quantile(q), `${value} q=${q}`).to.equal(value);
    }
  });

  it('answers a rank that falls exactly on a value with that value', () => {
    const values = [1, 2, 3, 4, 5]; // each in a bucket of its own
    const sketch = new ExponentialSketch();
    for (const value of values) sketch.record(value);
    const bound = relativeErrorAt(sketch.scale);
    for (const q of [0.25, 0.5, 0.75]) {
      const exact = exactQuantile(values, q); // ranks 1, 2 and 3 exactly
      expect(sketch.quantile(q), `q=${q}`).to.be.closeTo(exact, exact * bound);
    }
  });

  it('estimates quantiles of negative and mixed-sign data within the bound of its scale', () => {
    const random = seededRandom(8);
    const values = Array.from({ length: 5000 }, () =>
      random() < 0.5 ? -(1 + 999 * random()) : 1 + 999 * random()
    );
    values.push(0, 0, 0);
    const sketch = new ExponentialSketch();
    for (const v of values) sketch.record(v);
    const sorted = values.slice().sort((a, b) => a - b);
    const bound = relativeErrorAt(sketch.scale);
    for (const q of [0.001, 0.1, 0.25, 0.4999, 0.5, 0.75, 0.9, 0.999]) {
      const exact = exactQuantile(sorted, q);
      expect(
        Math.abs(sketch.quantile(q) - exact),
        `q=${q}: exact ${exact}`
      ).to.be.at.most(Math.abs(exact) * (bound + 1e-12));
    }
    // Quantiles asked for out of order come back in the order asked.
    const asked = [0.9, 0.1, 0.5];
    expect(sketch.quantiles(asked)).to.deep.equal(
      asked.map(q => sketch.quantile(q))
    );
  });

  it('counts zeros in the standard deviation', () => {
    const values = [0, 0, 0, 0, 10, 10, 20, 40];
    const sketch = new ExponentialSketch();
    for (const v of values) sketch.record(v);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const exact = Math.sqrt(
      values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length
    );
    const rms = Math.sqrt(
      values.reduce((a, v) => a + v * v, 0) / values.length
    );
    expect(Math.abs(sketch.stddev - exact)).to.be.at.most(
      relativeErrorAt(sketch.scale) * rms
    );
    expect(sketch.mean).to.equal(mean);
  });

  it('merges with itself as with a copy, and carries the rejected count', () => {
    const sketch = new ExponentialSketch();
    for (const v of [1, 2, 3, 4]) sketch.record(v);
    sketch.record(NaN);
    const twice = sketch.clone();
    twice.merge(sketch.clone());
    sketch.merge(sketch);
    expect(sketch.toJSON()).to.deep.equal(twice.toJSON());
    expect(sketch.count).to.equal(8);
    expect(sketch.rejected).to.equal(2);
  });

  it('keeps exact sums across huge magnitudes and cancellation', () => {
    // Past 2^995 products are split after scaling: 3·x − 2·x − x is 0 exactly.
    const huge = new ExponentialSketch();
    const x = 2 ** 1000 * 1.1;
    huge.record(x, 3);
    huge.record(-x, 2);
    huge.record(-x);
    expect(huge.sum).to.equal(0);
    // A running total that overflows saturates, as documented.
    const sketch = new ExponentialSketch();
    for (const v of [1e308, 1e308, -1e308]) sketch.record(v);
    expect(sketch.sum).to.equal(Infinity);
    const cancelling = new ExponentialSketch();
    for (const v of [1e16, 1, -1e16, 2 ** -60]) cancelling.record(v);
    expect(cancelling.sum).to.equal(1 + 2 ** -60);
    const repeated = new ExponentialSketch();
    repeated.record(0.1, 10);
    repeated.record(-1);
    // The double 0.1 is 3602879701896397 / 2^55: ten of it less 1 is 2 / 2^55.
    expect(repeated.sum).to.equal(2 ** -54);
    expect(repeated.min).to.equal(-1);
    expect(repeated.max).to.equal(0.1);
  });

  it('names the field a bad serialized sketch or statistics object breaks', () => {
    const json = (() => {
      const s = new ExponentialSketch();
      s.record(5);
      return s.toJSON() as unknown as Record<string, unknown>;
    })();
    expect(() =>
      ExponentialSketch.fromJSON({ ...json, maxBuckets: 1.5 })
    ).to.throw(/ExponentialSketch\.fromJSON: 'maxBuckets' must be an integer/);
    expect(() =>
      ExponentialSketch.fromJSON({ ...json, maxScale: 21 })
    ).to.throw(
      /ExponentialSketch\.fromJSON: 'maxScale' must be an integer ≥ -10 and ≤ 20/
    );
    const stats = new RunningStats();
    stats.record(2);
    stats.record(2);
    const valid = stats.toJSON() as unknown as Record<string, unknown>;
    // Constant data: min = mean = max and no spread is valid.
    expect(RunningStats.fromJSON(valid).mean).to.equal(2);
    for (const [field, value] of [
      ['rejected', 0.5],
      ['min', 'x'],
      ['max', 'x'],
      ['mean', 'x'],
    ] as const)
      expect(
        () => RunningStats.fromJSON({ ...valid, [field]: value }),
        field
      ).to.throw(new RegExp(`RunningStats\\.fromJSON: '${field}'`));
    expect(() => RunningStats.fromJSON({ ...valid, m2: -1 })).to.throw(
      /RunningStats\.fromJSON/
    );
  });

  it('clears statistics back to empty', () => {
    const stats = new RunningStats();
    stats.record(-5);
    stats.record(7);
    stats.clear();
    expect(stats.count).to.equal(0);
    stats.record(3);
    expect([stats.min, stats.max, stats.mean]).to.deep.equal([3, 3, 3]);
  });

  it('writes bytes, truncates, discards a prefix and trims spare capacity', () => {
    const writer = new ByteWriter();
    writer.writeBytes(new Uint8Array([1, 2, 3, 4, 5]));
    writer.writeBytes(new Uint8Array([6]));
    expect([...writer.bytes]).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(writer.buffer.subarray(0, writer.length)).to.deep.equal(
      writer.bytes
    );
    writer.truncate(10); // longer than written: nothing changes
    writer.truncate(5);
    expect([...writer.bytes]).to.deep.equal([1, 2, 3, 4, 5]);
    writer.discardFront(0);
    writer.discardFront(2);
    expect([...writer.bytes]).to.deep.equal([3, 4, 5]);
    expect(writer.capacity).to.be.at.least(32);
    writer.trim(1);
    expect(writer.capacity).to.equal(4);
    writer.trim(10); // more than it has: keeps it
    expect(writer.capacity).to.equal(4);
    writer.discardFront(3);
    expect(writer.length).to.equal(0);
    writer.trim();
    expect(writer.capacity).to.equal(0);
    writer.writeFloat64(Math.PI);
    expect(new ByteReader(writer.bytes).readFloat64()).to.equal(Math.PI);
  });
});

describe('an SDK point read into a sketch, when it is malformed', () => {
  /** A valid point: 1 and 3 at scale 0, a zero, and −2. */
  const valid = () => ({
    scale: 0,
    count: 4,
    zeroCount: 1,
    sum: 2,
    min: -2,
    max: 3,
    positive: { offset: -1, bucketCounts: [1, 0, 1] },
    negative: { offset: 0, bucketCounts: [1] },
  });
  const read = (point: object) => () =>
    ExponentialSketch.fromExponentialHistogram(point as never);

  it('reads the valid one', () => {
    const sketch = read(valid())();
    expect([sketch.count, sketch.sum, sketch.min, sketch.max]).to.deep.equal([
      4, 2, -2, 3,
    ]);
  });

  it('names the field and the rule it breaks', () => {
    const owner = 'ExponentialSketch.fromExponentialHistogram';
    const cases: [string, object, RegExp][] = [
      ['a negative count', { count: -1 }, /'count' must be an integer ≥ 0/],
      [
        'a fractional bucket count',
        { positive: { offset: -1, bucketCounts: [1, 0.5, 1] } },
        /'positive\.bucketCounts\[1\]' must be an integer ≥ 0/,
      ],
      [
        'a negative bucket count',
        { negative: { offset: 0, bucketCounts: [-1] } },
        /'negative\.bucketCounts\[0\]' must be an integer ≥ 0/,
      ],
      [
        'a string bucket count',
        { negative: { offset: 0, bucketCounts: ['1'] } },
        /'negative\.bucketCounts\[0\]' must be/,
      ],
      [
        'counts that disagree',
        { count: 5 },
        /'count' \(5\) must equal 'zeroCount' plus all bucket counts \(4\)/,
      ],
      [
        'a min outside its bucket',
        { min: -5 },
        /'min' \(-5\) must lie in its edge bucket 0 at scale 0/,
      ],
      [
        'a max outside its bucket',
        { max: 4.5 },
        /'max' \(4.5\) must lie in its edge bucket 1 at scale 0/,
      ],
      ['a string max', { max: '3' }, /'max' must be/],
      ['a min without a max', { max: undefined }, /'max' must be/],
      ['a max without a min', { min: undefined }, /'min' must be/],
      [
        'a sum giving a mean outside [min, max]',
        { sum: 40 },
        /'sum' gives a mean of 10, outside \[min, max\] = \[-2, 3\]/,
      ],
      ['a string sum', { sum: '2' }, /'sum' must be/],
      [
        'an offset past the last bucket',
        { positive: { offset: 1024, bucketCounts: [1, 0, 1] } },
        /'positive\.offset' must be an integer ≥ -1023 and ≤ 1021/,
      ],
      [
        'too many buckets',
        { positive: { offset: 0, bucketCounts: new Array(1 << 16).fill(0) } },
        /'positive\.bucketCounts' must be an array of at most/,
      ],
    ];
    expect(read(7 as never), 'not an object').to.throw(
      new RegExp(`${owner}: 'point' must be`)
    );
    for (const [what, change, message] of cases)
      expect(read({ ...valid(), ...change }), what).to.throw(
        new RegExp(`${owner}: ${message.source}`)
      );
    expect(
      read({
        ...valid(),
        count: 0,
        zeroCount: 0,
        positive: { offset: 0, bucketCounts: [] },
        negative: { offset: 0, bucketCounts: [] },
        sum: 1,
        min: undefined,
        max: undefined,
      }),
      'a sum without values'
    ).to.throw(/'sum' must be 0 when 'count' is 0, got 1/);
    expect(
      read({
        ...valid(),
        positive: { offset: 0, bucketCounts: [2 ** 52, 2 ** 52] },
        count: 1,
      }),
      'counts past 2^53'
    ).to.throw(/'positive\.bucketCounts' add up past 2\^53/);
    expect(
      read({
        ...valid(),
        count: 1,
        zeroCount: 1,
        positive: { offset: 0, bucketCounts: [] },
        negative: { offset: 0, bucketCounts: [] },
        sum: 0,
        min: 0,
        max: 1,
      }),
      'only zeros, and a max that is not 0'
    ).to.throw(/'max' must be 0, the edge of the data, got 1/);
  });

  it('takes spans of up to 16384 buckets, and no more', () => {
    const span = (length: number) => ({
      scale: 10,
      count: 2,
      zeroCount: 0,
      positive: {
        offset: 0,
        bucketCounts: Array.from({ length }, (_, i) =>
          i === 0 || i === length - 1 ? 1 : 0
        ),
      },
      negative: { offset: 0, bucketCounts: [] },
    });
    expect(read(span(16384))().count).to.equal(2);
    expect(read(span(16385))).to.throw(
      /'positive\.bucketCounts' must be an array of at most 16384 counts/
    );
  });

  it('reads a saturated sum, and sums of up to 64 exact parts, from JSON', () => {
    const sketch = new ExponentialSketch();
    sketch.record(1);
    sketch.record(3);
    const json = sketch.toJSON();
    for (const saturated of ['Infinity', '-Infinity', 'NaN'])
      expect(
        ExponentialSketch.fromJSON({ ...json, sum: saturated } as never).sum
      ).to.deep.equal(Number(saturated));
    const parts = [4, ...new Array<number>(63).fill(0)];
    expect(
      ExponentialSketch.fromJSON({ ...json, sum: parts } as never).sum
    ).to.equal(4);
    expect(() =>
      ExponentialSketch.fromJSON({ ...json, sum: [...parts, 0] } as never)
    ).to.throw(/'sum' must be an array of at most 64 finite numbers/);
  });

  it('takes a point without min and max as reaching the outer ends of its edge buckets', () => {
    const { min, max, ...point } = valid();
    void min;
    void max;
    const sketch = read(point)();
    // Bucket 0 at scale 0 is (1, 2]: −2's far end is −2; 3 is in (2, 4]: 4.
    expect([sketch.min, sketch.max]).to.deep.equal([-2, 4]);
    const negativeOnly = read({
      scale: 0,
      count: 1,
      zeroCount: 0,
      positive: { offset: 0, bucketCounts: [] },
      negative: { offset: 1, bucketCounts: [1] },
    })();
    // −3 or so, in (−4, −2]: from −4 to −2.
    expect([negativeOnly.min, negativeOnly.max]).to.deep.equal([-4, -2]);
    // Without a sum, the midpoints' sum: 2·2·4/(2+4) = 8/3 for (2, 4].
    expect(negativeOnly.sum).to.be.closeTo(-8 / 3, 1e-12);
  });
});

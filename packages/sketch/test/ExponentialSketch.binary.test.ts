import { expect } from 'chai';
import fc from 'fast-check';
import { ExponentialSketch, RunningStats } from '../src';
import { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';

const value = fc.oneof(
  fc.double({ min: -1e300, max: 1e300, noNaN: true }),
  fc.constantFrom(0, -0, Number.MIN_VALUE, 1, 2, 0.5, 1024, 1e-300)
);
const entries = fc.array(fc.tuple(value, fc.integer({ min: 1, max: 1000 })), {
  maxLength: 200,
});
const options = fc.record({
  maxBuckets: fc.constantFrom(2, 3, 8, 160, 520),
  maxScale: fc.constantFrom(-3, 0, 5, 20),
});

function sketchOf(
  items: [number, number][],
  opts: { maxBuckets: number; maxScale: number }
): ExponentialSketch {
  const sketch = new ExponentialSketch(opts);
  for (const [v, count] of items) sketch.record(v, count);
  return sketch;
}

/** Everything observable, bit for bit (the JSON holds the exact sum's parts). */
function state(sketch: ExponentialSketch) {
  return { json: sketch.toJSON(), sum: sketch.sum };
}

function encode(write: (writer: ByteWriter) => void): ByteReader {
  const writer = new ByteWriter();
  write(writer);
  return new ByteReader(writer.bytes);
}

describe('ExponentialSketch binary form', () => {
  it('round-trips exactly: mergeFrom(writeTo(s)) into an empty sketch is s', () => {
    fc.assert(
      fc.property(entries, options, (items, opts) => {
        const sketch = sketchOf(items, opts);
        sketch.record(NaN); // a rejected record travels too
        const reader = encode(w => sketch.writeTo(w));
        const copy = new ExponentialSketch(opts);
        copy.mergeFrom(reader);
        expect(state(copy)).to.deep.equal(state(sketch));
        expect(reader.offset).to.equal(reader.bytes.length);
      }),
      { numRuns: 300 }
    );
  });

  it('merges from bytes exactly as merge() merges the sketch', () => {
    fc.assert(
      fc.property(entries, entries, options, (a, b, opts) => {
        const target = sketchOf(a, opts);
        const other = sketchOf(b, opts);
        const viaMerge = target.clone();
        viaMerge.merge(other);
        target.mergeFrom(encode(w => other.writeTo(w)));
        expect(state(target)).to.deep.equal(state(viaMerge));
      }),
      { numRuns: 300 }
    );
  });

  it('is far smaller than the JSON form', () => {
    const sketch = new ExponentialSketch({ maxScale: 5 });
    let seed = 3;
    for (let i = 0; i < 120; i++) {
      seed = (seed * 48271) % 2147483647;
      sketch.record(20 * Math.exp(2 * (seed / 2147483647) - 1));
    }
    const bytes = encode(w => sketch.writeTo(w)).bytes.length;
    expect(bytes).to.be.below(JSON.stringify(sketch.toJSON()).length / 2);
    expect(bytes).to.be.below(200);
  });
});

describe('ExponentialSketch.mergeExponentialHistogram', () => {
  it('equals merging the sketch fromExponentialHistogram makes', () => {
    fc.assert(
      fc.property(entries, entries, options, (a, b, opts) => {
        const target = sketchOf(a, opts);
        // A point at the SDK's finest scale, as the SDK exports it.
        const point = sketchOf(b, {
          maxBuckets: 160,
          maxScale: 20,
        }).toExponentialHistogram();
        const expected = target.clone();
        expected.merge(ExponentialSketch.fromExponentialHistogram(point, opts));
        target.mergeExponentialHistogram(point);
        expect(state(target)).to.deep.equal(state(expected));
      }),
      { numRuns: 300 }
    );
  });

  it('stops with an error, not a loop, when the buckets’ bits run out', () => {
    const written = encode(w =>
      sketchOf(
        [
          [5, 3],
          [7e6, 2 ** 40],
        ],
        { maxBuckets: 160, maxScale: 5 }
      ).writeTo(w)
    ).bytes;
    // Cut from the end (the buckets' bit stream is last): past the end the
    // bytes read as zeros, and a code of only zeros is none. The binary form
    // is the process's own, so a cut header is not guarded against.
    let error: unknown;
    for (let length = written.length - 1; length > 0 && !error; length--)
      try {
        new ExponentialSketch({ maxBuckets: 160, maxScale: 5 }).mergeFrom(
          new ByteReader(written.subarray(0, length))
        );
      } catch (thrown) {
        error = thrown;
      }
    expect(String(error)).to.match(/RangeError: .*not an Exp-Golomb code/);
  });

  it('leaves the sketch unchanged when the point is malformed', () => {
    const sketch = sketchOf([[5, 3]], { maxBuckets: 160, maxScale: 5 });
    const before = state(sketch);
    const point = { ...sketch.toExponentialHistogram(), count: 4 };
    expect(() => sketch.mergeExponentialHistogram(point)).to.throw(
      RangeError,
      /ExponentialSketch\.mergeExponentialHistogram: 'count' \(4\) must equal 'zeroCount' plus all bucket counts \(3\)/
    );
    expect(state(sketch)).to.deep.equal(before);
  });
});

describe('ExponentialSketch.clear', () => {
  it('makes the sketch behave as a new one', () => {
    fc.assert(
      fc.property(entries, entries, options, (a, b, opts) => {
        const reused = sketchOf(a, opts);
        reused.record(NaN);
        reused.clear();
        for (const [v, count] of b) reused.record(v, count);
        expect(state(reused)).to.deep.equal(state(sketchOf(b, opts)));
      }),
      { numRuns: 200 }
    );
  });
});

describe('RunningStats binary form', () => {
  it('merges from bytes exactly as merge() does', () => {
    const values = fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), {
      maxLength: 50,
    });
    fc.assert(
      fc.property(values, values, (a, b) => {
        const target = new RunningStats();
        for (const v of a) target.record(v);
        const other = new RunningStats();
        for (const v of b) other.record(v);
        other.record(Infinity);
        const expected = target.clone();
        expected.merge(other);
        target.mergeFrom(encode(w => other.writeTo(w)));
        expect(target.toJSON()).to.deep.equal(expected.toJSON());
      })
    );
  });
});

describe('ByteWriter and ByteReader', () => {
  it('round-trip varints, signed varints and doubles at their edges', () => {
    const unsigned = [
      0,
      1,
      127,
      128,
      16383,
      16384,
      2 ** 31,
      2 ** 32,
      2 ** 53 - 1,
    ];
    const signed = [0, -1, 1, -64, 64, 2 ** 31 - 1, -(2 ** 31)];
    const doubles = [0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, 1e308];
    const reader = encode(w => {
      unsigned.forEach(v => w.writeVarint(v));
      signed.forEach(v => w.writeSignedVarint(v));
      doubles.forEach(v => w.writeFloat64(v));
    });
    expect(unsigned.map(() => reader.readVarint())).to.deep.equal(unsigned);
    expect(signed.map(() => reader.readSignedVarint())).to.deep.equal(signed);
    const read = doubles.map(() => reader.readFloat64());
    expect(read.map(v => Object.is(v, -0))).to.deep.equal(
      doubles.map(v => Object.is(v, -0))
    );
    expect(read).to.deep.equal(doubles);
    expect(reader.offset).to.equal(reader.bytes.length);
  });

  it('keeps written bytes across growth, truncation and a discarded front', () => {
    const writer = new ByteWriter();
    for (let i = 0; i < 1000; i++) writer.writeByte(i % 256);
    writer.discardFront(10);
    writer.truncate(500);
    expect(writer.length).to.equal(500);
    expect(Array.from(writer.bytes.subarray(0, 3))).to.deep.equal([10, 11, 12]);
    expect(writer.bytes[499]).to.equal(509 % 256);
    writer.trim();
    expect(writer.capacity).to.equal(500);
  });
});

describe('ExponentialSketch binary form: the bucket coding at its edges', () => {
  /** Writes `sketch`, reads it into an empty sketch of the same options, and checks both are the same, bit for bit. */
  function roundTrip(sketch: ExponentialSketch): ExponentialSketch {
    const reader = encode(w => sketch.writeTo(w));
    const copy = new ExponentialSketch({
      maxBuckets: sketch.maxBuckets,
      maxScale: sketch.maxScale,
    });
    copy.mergeFrom(reader);
    expect(reader.offset, 'the reader ends at the last byte').to.equal(
      reader.bytes.length
    );
    expect(state(copy)).to.deep.equal(state(sketch));
    for (const key of ['count', 'zeroCount', 'sum', 'min', 'max'] as const)
      expect(Object.is(copy[key], sketch[key]), key).to.equal(true);
    return copy;
  }

  function recorded(
    entries: [number, number][],
    options: { maxBuckets?: number; maxScale?: number } = {}
  ): ExponentialSketch {
    const sketch = new ExponentialSketch(options);
    for (const [v, count] of entries) sketch.record(v, count);
    return sketch;
  }

  it('keeps an empty sketch empty, and adds nothing to another', () => {
    const copy = roundTrip(new ExponentialSketch());
    expect(copy.count).to.equal(0);
    expect(copy.min).to.be.NaN;
    const target = recorded([[3, 2]]);
    const before = state(target);
    target.mergeFrom(encode(w => new ExponentialSketch().writeTo(w)));
    expect(state(target)).to.deep.equal(before);
  });

  it('keeps zeros (both signs of zero), negative values and both signs at once', () => {
    expect(
      roundTrip(
        recorded([
          [0, 4],
          [-0, 3],
        ])
      ).zeroCount
    ).to.equal(7);
    const negative = roundTrip(
      recorded([
        [-2.5, 1],
        [-1e-3, 40],
        [-7e6, 2],
      ])
    );
    expect(negative.toExponentialHistogram().positive.bucketCounts).to.be.empty;
    roundTrip(
      recorded([
        [-2.5, 1],
        [0, 2],
        [1e-3, 40],
        [7e6, 2],
        [-1e9, 1],
      ])
    );
  });

  it('keeps a single bucket, of count 1 and of the largest count', () => {
    for (const count of [1, 2, 17, Number.MAX_SAFE_INTEGER])
      for (const value of [1, -3.5, 1e300])
        expect(roundTrip(recorded([[value, count]])).count).to.equal(count);
  });

  it('keeps counts past 16 and up to 2^53, whatever codes they need', () => {
    // Every count in its own bucket, a count in each range of code length.
    const counts = [
      1,
      16,
      17,
      255,
      2 ** 16,
      2 ** 24 - 1,
      2 ** 24,
      2 ** 32 + 5,
      2 ** 45,
    ];
    const sketch = recorded(
      counts.map((count, i) => [2 ** i, count]),
      {
        maxScale: 0,
      }
    );
    const buckets = roundTrip(sketch).toExponentialHistogram().positive;
    expect(buckets.bucketCounts.filter(c => c > 0)).to.deep.equal(counts);
    // Small counts among large ones, and the reverse.
    roundTrip(
      recorded(
        [
          [1, 2 ** 40],
          [2, 1],
          [4, 2 ** 40],
          [8, 1],
        ],
        { maxScale: 0 }
      )
    );
    roundTrip(
      recorded(
        [
          [1, 1],
          [2, 1],
          [4, 2 ** 50],
          [8, 1],
          [16, 1],
        ],
        { maxScale: 0 }
      )
    );
  });

  it('keeps gaps past 7 and up to the widest range, among adjacent buckets', () => {
    // At scale 20 a bucket spans 2^(2^-20): 1 and 1 + 2^-8 are 5,909 buckets apart.
    const wide = recorded(
      [
        [1, 1],
        [1 + 2 ** -8, 3],
      ],
      {
        maxScale: 20,
        maxBuckets: 16384,
      }
    );
    expect(wide.scale).to.equal(20);
    roundTrip(wide);
    // The widest range a sign holds: its ends 16,383 buckets apart, with
    // adjacent buckets beside one long gap (a low order for the gaps).
    const base = 2 ** (2 ** -20);
    const entries: [number, number][] = [];
    for (let i = 0; i < 40; i++) entries.push([base ** (i + 0.5), 1 + (i % 3)]);
    entries.push([base ** 16383.5, 5]);
    const widest = recorded(entries, { maxScale: 20, maxBuckets: 16384 });
    expect(widest.scale).to.equal(20);
    const buckets = widest.toExponentialHistogram().positive;
    expect(buckets.bucketCounts.length).to.equal(16384);
    roundTrip(widest);
  });

  it('keeps a long gap and a large count among many short ones (codes of 25 to 31 bits)', () => {
    // 8,000 adjacent buckets of count 1 make both orders 0; then one count
    // of 10,000 and one gap of 8,000 buckets need codes of 27 and 25 bits.
    const base = 2 ** (2 ** -20);
    const entries: [number, number][] = [];
    for (let i = 0; i < 8000; i++) entries.push([base ** (i + 0.5), 1]);
    entries.push([base ** 4000.5, 9999]);
    entries.push([base ** 16000.5, 1]);
    const sketch = recorded(entries, { maxScale: 20, maxBuckets: 16384 });
    expect(sketch.scale).to.equal(20);
    roundTrip(sketch);
  });

  it('keeps the exact sum when its rounding error takes 1 to 8 bytes, and with a tail', () => {
    // 1 + e rounds to 1, leaving e, of 1 to 53 significant bits, as the error.
    for (const bits of [0, 1, 4, 12, 20, 28, 36, 44, 52])
      for (const sign of [1, -1]) {
        const error = sign * 2 ** -60 * (1 + 2 ** -bits);
        const sketch = recorded([
          [1, 1],
          [error, 1],
        ]);
        expect(roundTrip(sketch).sum).to.equal(1);
      }
    // Errors of errors: a third part, the tail.
    roundTrip(
      recorded([
        [1, 1],
        [2 ** -60, 1],
        [2 ** -130, 1],
        [-(2 ** -200), 3],
      ])
    );
  });

  it('reads sketches written one after another, each to its last byte', () => {
    const sketches = [
      recorded([[5, 1]]),
      new ExponentialSketch(),
      recorded([
        [1e-3, 3],
        [-2, 100],
        [0, 1],
      ]),
      recorded([[1, 2 ** 33]]),
    ];
    const stats = new RunningStats();
    stats.record(4);
    const reader = encode(w => {
      for (const sketch of sketches) sketch.writeTo(w);
      stats.writeTo(w);
    });
    for (const sketch of sketches) {
      const copy = new ExponentialSketch();
      copy.mergeFrom(reader);
      expect(state(copy)).to.deep.equal(state(sketch));
    }
    const statsCopy = new RunningStats();
    statsCopy.mergeFrom(reader);
    expect(statsCopy.toJSON()).to.deep.equal(stats.toJSON());
    expect(reader.offset).to.equal(reader.bytes.length);
  });

  it('round-trips large counts exactly', () => {
    const count = fc.oneof(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 2 ** 45 })
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(value, count), { maxLength: 20 }),
        options,
        (items, opts) => {
          roundTrip(sketchOf(items, opts));
        }
      ),
      { numRuns: 300 }
    );
  });
});

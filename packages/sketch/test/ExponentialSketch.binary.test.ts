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

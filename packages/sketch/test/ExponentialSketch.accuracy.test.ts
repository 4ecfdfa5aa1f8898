import { expect } from 'chai';
import { ExponentialSketch } from '../src';
import {
  DATASETS,
  exactQuantile,
  relativeErrorAt,
  seededRandom,
} from './datasets';

const QUANTILES = [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999];
const SIZES = [1, 7, 1000, 100_000];
/** Rounding in computing a bucket's midpoint, far below any bound. */
const ROUNDING = 1e-12;

describe('ExponentialSketch accuracy', () => {
  for (const dataset of DATASETS) {
    for (const size of SIZES) {
      it(`${dataset.name}, n = ${size}: p50–p99.9 within relativeError`, () => {
        const values = dataset.generate(size, seededRandom(size));
        const sketch = new ExponentialSketch();
        for (const v of values) sketch.record(v);
        const sorted = values.slice().sort((a, b) => a - b);

        expect(sketch.count).to.equal(size);
        expect(sketch.min).to.equal(sorted[0]);
        expect(sketch.max).to.equal(sorted[size - 1]);
        for (const q of QUANTILES) {
          const exact = exactQuantile(sorted, q);
          const estimate = sketch.quantile(q);
          const error = Math.abs(estimate - exact);
          expect(
            error,
            `q=${q}: ${estimate} vs exact ${exact} at scale ${sketch.scale}`
          ).to.be.at.most(
            Math.abs(exact) * (relativeErrorAt(sketch.scale) + ROUNDING)
          );
        }
      });
    }
  }

  it('estimates the standard deviation within its relative error', () => {
    for (const dataset of DATASETS) {
      const values = dataset.generate(20_000, seededRandom(17));
      const sketch = new ExponentialSketch();
      for (const v of values) sketch.record(v);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const rms = Math.sqrt(
        values.reduce((a, v) => a + v * v, 0) / values.length
      );
      const exact = Math.sqrt(
        values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length
      );
      // Each value moves by ≤ α|v|, so the deviation moves by ≤ α·rms.
      expect(Math.abs(sketch.stddev - exact), dataset.name).to.be.at.most(
        relativeErrorAt(sketch.scale) * rms * (1 + 1e-9) + 1e-12 * rms
      );
    }
    expect(new ExponentialSketch().stddev).to.be.NaN;
  });

  it('keeps scale ≥ 5 (≤ 1.1%) within ≤ 520 buckets for 1 ms to 1 min, in ms or s', () => {
    const random = seededRandom(7);
    for (const unit of [1, 0.001]) {
      const sketch = new ExponentialSketch();
      sketch.record(1 * unit);
      sketch.record(60_000 * unit);
      for (let i = 0; i < 10_000; i++) sketch.record(60_000 ** random() * unit);
      expect(sketch.scale).to.be.at.least(5);
      expect(relativeErrorAt(sketch.scale)).to.be.at.most(0.011);
      expect(sketch.relativeError).to.equal(relativeErrorAt(sketch.scale));
      const buckets = sketch.toExponentialHistogram().positive.bucketCounts;
      expect(buckets.length).to.be.at.most(520);
    }
  });

  it('keeps scale 5 for any range up to the documented ratio 2^(519/32), at any alignment', () => {
    const random = seededRandom(11);
    const ratio = 2 ** (519 / 32);
    for (let i = 0; i < 200; i++) {
      const low = 10 ** (random() * 12 - 6);
      const sketch = new ExponentialSketch();
      sketch.record(low);
      sketch.record(low * ratio);
      expect(sketch.scale, `from ${low}`).to.equal(5);
    }
    const wider = new ExponentialSketch();
    wider.record(1);
    wider.record(2 ** (521 / 32));
    expect(wider.scale).to.equal(4);
  });

  it('downscales as the range grows, never holding more than maxBuckets', () => {
    const sketch = new ExponentialSketch({ maxBuckets: 4 });
    const sorted: number[] = [];
    for (let v = 1; v < 1e6; v *= 1.7) {
      sketch.record(v);
      sorted.push(v);
      const point = sketch.toExponentialHistogram();
      expect(point.positive.bucketCounts.length).to.be.at.most(4);
    }
    expect(sketch.scale).to.be.below(0);
    for (const q of QUANTILES) {
      const exact = exactQuantile(sorted, q);
      expect(Math.abs(sketch.quantile(q) - exact)).to.be.at.most(
        exact * (relativeErrorAt(sketch.scale) + ROUNDING)
      );
    }
  });

  it('starts at maxScale and reports the bound of the current scale', () => {
    const sketch = new ExponentialSketch({ maxScale: 3 });
    expect(sketch.scale).to.equal(3);
    expect(sketch.relativeError).to.equal(relativeErrorAt(3));
    expect(relativeErrorAt(3)).to.be.closeTo(0.0433, 0.0001);
  });

  it('places subnormal and extreme doubles without losing them', () => {
    const values = [
      Number.MIN_VALUE,
      1e-310,
      2 ** -1022,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
    ];
    const sketch = new ExponentialSketch();
    for (const v of values) sketch.record(v);
    expect(sketch.count).to.equal(values.length);
    expect(sketch.min).to.equal(-Number.MAX_VALUE);
    expect(sketch.max).to.equal(Number.MAX_VALUE);
    expect(sketch.quantile(0.5)).to.be.within(0, 2 ** -1021);
  });
});

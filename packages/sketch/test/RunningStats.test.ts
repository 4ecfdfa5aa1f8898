import { expect } from 'chai';
import fc from 'fast-check';
import { RunningStats } from '../src';

/** Two-pass reference statistics. */
function reference(values: number[]): Stats {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance =
    values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return {
    count: values.length,
    mean,
    variance,
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

function statsOf(values: number[]): RunningStats {
  const stats = new RunningStats();
  for (const v of values) stats.record(v);
  return stats;
}

type Stats = Pick<RunningStats, 'count' | 'min' | 'max' | 'mean' | 'variance'>;

/** Count, min and max exactly; mean and variance to rounding. */
function expectSameStats(actual: RunningStats, expected: Stats): void {
  expect(actual.count).to.equal(expected.count);
  expect(actual.min).to.equal(expected.min);
  expect(actual.max).to.equal(expected.max);
  const close = (a: number, b: number) =>
    expect(a).to.be.closeTo(b, 1e-9 * Math.max(1, Math.abs(b)));
  close(actual.mean, expected.mean);
  close(actual.variance, expected.variance);
  close(actual.stddev, Math.sqrt(expected.variance));
}

describe('RunningStats', () => {
  const values = fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), {
    minLength: 1,
    maxLength: 300,
  });

  it('matches two-pass statistics', () => {
    fc.assert(
      fc.property(values, vs => expectSameStats(statsOf(vs), reference(vs)))
    );
  });

  it('merged shards equal one pass over everything', () => {
    fc.assert(
      fc.property(
        values,
        fc.array(fc.nat(4), { maxLength: 300 }),
        (vs, assignment) => {
          const shards = Array.from({ length: 5 }, () => new RunningStats());
          vs.forEach((v, i) => shards[assignment[i] ?? 0].record(v));
          const merged = new RunningStats();
          for (const shard of shards) merged.merge(shard);
          expectSameStats(merged, statsOf(vs));
        }
      )
    );
  });

  it('stays stable where a sum of squares cancels catastrophically', () => {
    const stats = statsOf([1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16]);
    expect(stats.variance).to.equal(22.5);
    expect(stats.mean).to.equal(1e9 + 10);
  });

  it('treats record(v, n) as n records of v', () => {
    const weighted = new RunningStats();
    weighted.record(2, 3);
    weighted.record(10);
    const repeated = statsOf([2, 2, 2, 10]);
    expect(weighted.count).to.equal(4);
    expect(weighted.mean).to.equal(repeated.mean);
    expect(weighted.variance).to.be.closeTo(repeated.variance, 1e-12);
  });

  it('drops and counts invalid input; NaN statistics when empty', () => {
    const stats = new RunningStats();
    expect(stats.mean).to.be.NaN;
    expect(stats.stddev).to.be.NaN;
    for (const v of [NaN, Infinity, '1', null]) stats.record(v as number);
    stats.record(1, 0);
    stats.record(1, -2);
    stats.record(1, 0.5);
    expect(stats.rejected).to.equal(7);
    expect(stats.count).to.equal(0);
  });

  it('round-trips through JSON and rejects tampered input', () => {
    const stats = statsOf([1.5, -2, 8]);
    stats.record(NaN);
    const copy = RunningStats.fromJSON(JSON.parse(JSON.stringify(stats)));
    expect(copy.toJSON()).to.deep.equal(stats.toJSON());
    expect(RunningStats.fromJSON(new RunningStats().toJSON()).count).to.equal(
      0
    );
    const json = stats.toJSON();
    expect(() => RunningStats.fromJSON({ ...json, version: 9 })).to.throw(
      RangeError,
      /'version' must be 1/
    );
    expect(() => RunningStats.fromJSON({ ...json, count: -1 })).to.throw(
      RangeError,
      /'count' must be an integer/
    );
    expect(() => RunningStats.fromJSON({ ...json, mean: 100 })).to.throw(
      RangeError,
      /min ≤ mean ≤ max/
    );
    expect(() => RunningStats.fromJSON({ ...json, m2: 'x' })).to.throw(
      TypeError,
      /'m2' must be a number/
    );
    expect(() => RunningStats.fromJSON(null)).to.throw(
      TypeError,
      /'json' must be an object/
    );
  });

  it('clones independently and rejects merging a foreign object', () => {
    const stats = statsOf([1, 2]);
    const copy = stats.clone();
    copy.record(3);
    expect(stats.count).to.equal(2);
    expect(copy.mean).to.equal(2);
    expect(() => stats.merge({} as RunningStats)).to.throw(
      TypeError,
      /RunningStats\.merge: expected a RunningStats/
    );
  });
});

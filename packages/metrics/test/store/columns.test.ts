import { expect } from 'chai';
import { ColumnSet } from '../../src/store/arena/columns';
import type { Column } from '../../src/store/arena/columns';

/** Four columns of an owner, filled with NaN, -1, 0 and 0. */
function owner() {
  const columns: Column[] = [
    new Float64Array(0),
    new Int32Array(0),
    new Uint8Array(0),
    new Float64Array(0),
  ];
  const fills = [NaN, -1, undefined, 0];
  const set = new ColumnSet(
    columns.map((_, i) => ({
      get: () => columns[i],
      set: (column: Column) => (columns[i] = column),
      fill: fills[i],
    }))
  );
  return { columns, set };
}

describe('ColumnSet', () => {
  it('grows its columns by a quarter, one per reserve once seven eighths are in use, keeping values and filling new elements', () => {
    const { columns, set } = owner();
    set.reserve(1);
    expect(set.length).to.equal(64);
    for (const column of columns) expect(column.length).to.equal(64);
    expect(columns[0][63]).to.be.NaN;
    expect(columns[1][63]).to.equal(-1);
    for (let i = 0; i < 64; i++) columns[3][i] = i + 0.5;
    // Up to seven eighths: nothing moves.
    let before = [...columns];
    for (let n = 2; n <= 56; n++) set.reserve(n);
    expect(columns.every((column, i) => column === before[i])).to.equal(true);
    // Past it: one column more per call, until all are grown: 64 · 1.25
    // rounded up to a multiple of 64.
    for (let n = 57; n <= 60; n++) {
      before = [...columns];
      set.reserve(n);
      const changed = columns.filter((column, i) => column !== before[i]);
      expect(changed, `reserve(${n})`).to.have.length(1);
      expect(changed[0].length).to.equal(128);
    }
    expect(set.length).to.equal(128);
    for (let i = 0; i < 64; i++) expect(columns[3][i]).to.equal(i + 0.5);
    expect(columns[0][100]).to.be.NaN;
    expect(columns[1][100]).to.equal(-1);
    expect(columns[2][100]).to.equal(0);
    // Nothing more until seven eighths of the new length.
    before = [...columns];
    set.reserve(112);
    expect(columns.every((column, i) => column === before[i])).to.equal(true);
  });

  it('grows by a quarter (in multiples of 64), not by doubling: under 30% unused', () => {
    const { columns, set } = owner();
    let expected = 64;
    set.reserve(1);
    for (let n = 2; n <= 200_000; n++) {
      set.reserve(n);
      if (set.length > expected) {
        expected = Math.ceil((expected * 1.25) / 64) * 64;
        expect(set.length, `at ${n}`).to.equal(expected);
      }
    }
    expect(columns[0].length).to.equal(set.length);
    // Grown ahead from seven eighths of the last length: 200,000 in use
    // are over 7/8 / 1.25 (70%) of the length, give or take the rounding.
    expect(200_000 / set.length).to.be.above(0.7 - 64 / set.length);
  });

  it('grows every column in one call when ids outrun the growth ahead', () => {
    const { columns, set } = owner();
    set.reserve(64);
    set.reserve(60);
    // One column is ahead; an id past the length takes the rest at once.
    set.reserve(1000);
    expect(set.length).to.equal(1000);
    for (const column of columns) expect(column.length).to.equal(1000);
    expect(columns[1][999]).to.equal(-1);
  });
});

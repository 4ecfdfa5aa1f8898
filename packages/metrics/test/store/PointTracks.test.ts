import { expect } from 'chai';
import { PointTracks } from '../../src/store/PointTracks';
import { SumAggregate } from '../../src/store/SumAggregate';

function sum(value: number): SumAggregate {
  const aggregate = new SumAggregate();
  aggregate.add(value);
  return aggregate;
}

/** Every point of a track as [start, total]. */
function pointsOf(tracks: PointTracks, series: number): number[][] {
  const seen: number[][] = [];
  const into = new SumAggregate();
  tracks.forEach(series, 0, (start, reader) => {
    into.clear();
    into.mergeFrom(reader);
    seen.push([start, into.total]);
  });
  return seen;
}

describe('PointTracks', () => {
  it('keeps every start exactly, whole or fractional, near or far apart, through merges and shifts', () => {
    const tracks = new PointTracks(1);
    tracks.reserve(2);
    const scratch = new SumAggregate();
    const starts = [1_796_601_600_000, 1_796_601_610_000, 1_796_601_610_000.5];
    starts.push(starts[2] + 2 ** 31, starts[2] + 2 ** 31 + 0.25, 2 ** 60);
    starts.forEach((start, i) => tracks.add(1, 0, start, sum(i + 1), scratch));
    // At or before the newest start: merged into the newest point.
    tracks.add(1, 0, 2 ** 60, sum(10), scratch);
    tracks.add(1, 0, 5, sum(100), scratch);
    const expected = starts.map((start, i) => [start, i + 1]);
    expected[5][1] += 110;
    expect(pointsOf(tracks, 1)).to.deep.equal(expected);
    expect(tracks.lastStart(1, 0)).to.equal(2 ** 60);
    for (let i = 0; i < starts.length; i++) {
      expect(tracks.firstStart(1, 0)).to.equal(starts[i]);
      expect(pointsOf(tracks, 1)).to.deep.equal(expected.slice(i));
      tracks.shift(1, 0, undefined);
    }
    expect(tracks.size(1, 0)).to.equal(0);
    // Series 0 was never touched.
    expect(pointsOf(tracks, 0)).to.deep.equal([]);
  });

  it('appends a point of its own at the same start, where add would merge', () => {
    const tracks = new PointTracks(1);
    tracks.reserve(1);
    const scratch = new SumAggregate();
    const start = 1_796_601_600_000;
    tracks.add(0, 0, start, sum(1), scratch);
    tracks.append(0, 0, start, sum(2));
    tracks.append(0, 0, start, sum(4));
    expect(tracks.size(0, 0)).to.equal(3);
    expect(pointsOf(tracks, 0)).to.deep.equal([
      [start, 1],
      [start, 2],
      [start, 4],
    ]);
    // add() still merges into the newest of them.
    tracks.add(0, 0, start, sum(8), scratch);
    expect(pointsOf(tracks, 0)).to.deep.equal([
      [start, 1],
      [start, 2],
      [start, 12],
    ]);
    expect(tracks.firstStart(0, 0)).to.equal(start);
    expect(tracks.lastStart(0, 0)).to.equal(start);
  });
});

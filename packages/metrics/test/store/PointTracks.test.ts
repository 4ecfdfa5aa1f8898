import { expect } from 'chai';
import { PointTracks } from '../../src/store/PointTracks';
import { SumAggregate } from '../../src/store/SumAggregate';
import { seededRandom } from '../tracing';

function sum(value: number): SumAggregate {
  const aggregate = new SumAggregate();
  aggregate.add(value);
  return aggregate;
}

/** Every point of a track as [start, total]. */
function pointsOf(tracks: PointTracks, series: number, track = 0): number[][] {
  const seen: number[][] = [];
  const into = new SumAggregate();
  tracks.forEach(series, track, (start, reader) => {
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

  it('matches a list model through a seeded mix of adds, appends, shifts, swaps and clears, an empty track costing its four-byte column', () => {
    const SERIES = 40;
    const TRACKS = 3;
    const tracks = new PointTracks(TRACKS);
    tracks.reserve(SERIES);
    // One int32 per slot (the column set grows by at most a quarter ahead).
    expect(tracks.columnBytes).to.be.at.most(4 * SERIES * TRACKS * 1.25 + 256);
    const model: number[][][] = Array.from(
      { length: SERIES * TRACKS },
      () => []
    );
    const scratch = new SumAggregate();
    const shifted = new SumAggregate();
    const random = seededRandom(22);
    const pick = (n: number) => Math.floor(random() * n);
    let now = 1_796_601_600_000;
    let shiftedTotal = 0;
    for (let step = 0; step < 20_000; step++) {
      const series = pick(SERIES);
      const track = pick(TRACKS);
      const points = model[series * TRACKS + track];
      const op = random();
      if (op < 0.45) {
        // A third at or before the newest start: merged into it.
        const newest = points[points.length - 1];
        const merged = newest !== undefined && random() < 1 / 3;
        const start = merged ? newest[0] - pick(2) * 1000 : (now += 1000);
        const value = 1 + pick(1000);
        if (merged) newest[1] += value;
        else points.push([start, value]);
        tracks.add(series, track, start, sum(value), scratch);
      } else if (op < 0.6) {
        const value = 1 + pick(1000);
        points.push([now, value]);
        tracks.append(series, track, now, sum(value));
      } else if (op < 0.85) {
        if (points.length === 0) continue;
        shiftedTotal += points.shift()![1];
        tracks.shift(series, track, shifted);
      } else if (op < 0.95) {
        const other = pick(TRACKS);
        const a = series * TRACKS + track;
        const b = series * TRACKS + other;
        [model[a], model[b]] = [model[b], model[a]];
        tracks.swap(series, track, other);
      } else {
        points.length = 0;
        tracks.clear(series, track);
      }
    }
    expect(shifted.total).to.equal(shiftedTotal);
    let held = 0;
    for (let series = 0; series < SERIES; series++)
      for (let track = 0; track < TRACKS; track++) {
        const points = model[series * TRACKS + track];
        expect(pointsOf(tracks, series, track)).to.deep.equal(points);
        expect(tracks.size(series, track)).to.equal(points.length);
        const first = points.length === 0 ? NaN : points[0][0];
        const last = points.length === 0 ? NaN : points[points.length - 1][0];
        expect(tracks.firstStart(series, track)).to.deep.equal(first);
        expect(tracks.lastStart(series, track)).to.deep.equal(last);
        if (points.length === 0)
          expect(tracks.bytesOf(series, track)).to.equal(0);
        held += tracks.bytesOf(series, track);
      }
    let blocks = 0;
    for (let track = 0; track < TRACKS; track++)
      blocks += tracks.blockBytesOf(track);
    expect(blocks).to.be.at.least(held);
    expect(tracks.arenaBytes).to.be.at.least(blocks);
  });
});

import { expect } from 'chai';
import { ExponentialSketch, RunningStats, SlidingWindow } from '../src';

function window(slots = 5) {
  return new SlidingWindow({
    slots,
    slotMillis: 1000,
    create: () => new RunningStats(),
  });
}

describe('SlidingWindow', () => {
  it('fills the current slot and merges the last k slots', () => {
    const w = window();
    w.rotate(10_500);
    w.current.record(1);
    expect(w.rotate(11_000)).to.equal(1);
    w.current.record(2);
    w.rotate(12_999);
    w.current.record(3);
    expect(w.currentStartMillis).to.equal(12_000);
    expect(w.merged().count).to.equal(3);
    expect(w.merged(1).mean).to.equal(3);
    expect(w.merged(2).mean).to.equal(2.5);
  });

  it('empties slots as they leave the window, and all of them after a long gap', () => {
    const w = window(3);
    w.rotate(0);
    w.current.record(1);
    w.rotate(1000);
    w.current.record(2);
    w.rotate(3000); // slot 0 leaves; slot 2 was skipped
    expect(w.merged().count).to.equal(1);
    expect(w.merged().mean).to.equal(2);
    expect(w.rotate(60_000)).to.equal(57);
    expect(w.merged().count).to.equal(0);
  });

  it('ignores a clock that steps back or is not finite', () => {
    const w = window();
    w.rotate(5000);
    w.current.record(1);
    expect(w.rotate(4000)).to.equal(0);
    expect(w.rotate(NaN)).to.equal(0);
    expect(w.rotate(Infinity)).to.equal(0);
    expect(w.currentStartMillis).to.equal(5000);
    expect(w.merged().count).to.equal(1);
  });

  it('keeps data recorded before its first tick', () => {
    const w = window();
    w.current.record(4);
    expect(w.rotate(123_456)).to.equal(0);
    expect(w.merged().count).to.equal(1);
  });

  it('merges sketches into an exact union', () => {
    const w = new SlidingWindow({
      slots: 3,
      slotMillis: 10,
      create: () => new ExponentialSketch(),
    });
    const all = new ExponentialSketch();
    for (let t = 0; t < 30; t++) {
      w.rotate(t);
      w.current.record(t + 1);
      all.record(t + 1);
    }
    expect(w.merged().toJSON()).to.deep.equal(all.toJSON());
  });

  it('makes a slot only when it is first used', () => {
    let made = 0;
    const w = new SlidingWindow({
      slots: 60,
      slotMillis: 1000,
      create: () => (made++, new RunningStats()),
    });
    w.rotate(0);
    w.rotate(30_000);
    expect(made).to.equal(0);
    w.current.record(1);
    w.current.record(2);
    expect(made).to.equal(1);
    expect(w.merged().count).to.equal(2);
    expect(made).to.equal(2); // merged() makes its result
  });

  it('validates its options and queries', () => {
    const create = () => new RunningStats();
    expect(
      () => new SlidingWindow({ slots: 0, slotMillis: 1, create })
    ).to.throw(
      RangeError,
      /SlidingWindow: option 'slots' must be an integer ≥ 1 and ≤ 100000, got 0/
    );
    expect(
      () => new SlidingWindow({ slots: 2, slotMillis: 0, create })
    ).to.throw(
      RangeError,
      /option 'slotMillis' must be a finite number > 0, got 0/
    );
    expect(
      () => new SlidingWindow({ slots: 2, slotMillis: NaN, create })
    ).to.throw(RangeError, /option 'slotMillis' must be a finite number > 0/);
    expect(
      () => new SlidingWindow({ slots: 2, slotMillis: 1, create: 5 } as never)
    ).to.throw(TypeError, /option 'create' must be a function/);
    expect(
      () =>
        new SlidingWindow({
          slots: 2,
          slotMillis: 1,
          create,
          extra: 1,
        } as never)
    ).to.throw(TypeError, /unknown option 'extra'/);
    expect(() => window(3).merged(4)).to.throw(
      RangeError,
      /SlidingWindow\.merged: 'lastSlots' must be an integer ≥ 1 and ≤ 3, got 4/
    );
  });
});

import { expect } from 'chai';
import { AnomalyDetector } from '../src';
import type { AnomalyDetectorOptions, AnomalyResult } from '../src';

/**
 * The z-score streak rule the breaker's latency detectors use (the
 * detector's defaults before the rank CUSUM): median/MAD of the last 60
 * values, 3 scores in a row at |z| ≥ 2.
 */
const streakDetector = (options: AnomalyDetectorOptions = {}) =>
  new AnomalyDetector({
    rule: 'consecutive',
    baseline: 'robust',
    windowSize: 60,
    minBaseline: Math.min(10, options.windowSize ?? 60),
    ...options,
  });

/** Feeds values one a second from `start` seconds and returns every result. */
function feed(
  detector: AnomalyDetector,
  values: number[],
  start = 0
): AnomalyResult[] {
  return values.map((v, i) => detector.observe(v, (start + i) * 1000));
}

/** 100 ± 5, deterministic. */
const noise = (n: number, offset = 0) =>
  Array.from({ length: n }, (_, i) => 100 + (((i + offset) * 37) % 11) - 5);

/** The median of `values`, by an exact sort. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

describe('AnomalyDetector episodes', () => {
  it('holds an episode as long as the values stay out of line, against the baseline from before it', () => {
    const detector = streakDetector();
    const before = noise(60);
    feed(detector, before);
    // Thirty minutes at 1.5× the level, one value a second.
    const during = feed(
      detector,
      noise(1800, 3).map(v => v * 1.5),
      60
    );
    expect(during.slice(0, 2).map(r => r.anomalous)).to.deep.equal([
      false,
      false,
    ]);
    expect(during[2]).to.include({ phase: 'start', anomalous: true });
    expect(during.slice(2).every(r => r.anomalous)).to.equal(true);
    // The baseline is frozen: the median of the values before the episode.
    const expected = median(before);
    for (const result of [during[2], during[900], during[1799]])
      expect(result.mean).to.equal(expected);
    expect(during[1799].episode!.startMillis).to.equal(60_000);
  });

  it('clears after clearAfter values back within bounds, reporting duration and peak', () => {
    const detector = streakDetector({ clearAfter: 5 });
    feed(detector, noise(60));
    const shifted = [150, 160, 170, 300, 155, 150];
    const during = feed(detector, shifted, 60);
    const after = feed(detector, noise(60, 7), 66);
    const end = after.findIndex(r => r.phase === 'end');
    expect(end, 'ends').to.be.at.least(4);
    expect(end, 'ends soon').to.be.below(20);
    expect(after.slice(0, end).every(r => r.anomalous)).to.equal(true);
    expect(after[end].anomalous).to.equal(false);
    const episode = after[end].episode!;
    expect(episode).to.include({
      endReason: 'cleared',
      startMillis: 60_000,
      endMillis: (66 + end) * 1000,
    });
    // The peak is the largest score seen during the episode: the 300.
    const scores = [...during, ...after.slice(0, end)].map(r => r.score);
    expect(episode.peakScore).to.equal(Math.max(...scores));
    expect(during[3].score).to.equal(Math.max(...scores));
    expect(after.slice(end + 1).some(r => r.anomalous)).to.equal(false);
  });

  it('does not chatter when the values hover at the edge (hysteresis)', () => {
    const detector = streakDetector();
    feed(detector, noise(60));
    const sigma = detector.observe(100, 60_000).stddev;
    // Three well out of line raise it; then values alternate just inside
    // and just outside the threshold for ten minutes.
    const edge = Array.from(
      { length: 600 },
      (_, i) => 100 + (i % 2 ? 1.8 : 2.2) * sigma
    );
    const results = feed(detector, [130, 130, 130, ...edge], 61);
    const phases = results.filter(r => r.phase !== undefined);
    expect(phases.map(r => r.phase)).to.deep.equal(['start']);
  });

  it('accepts a lasting new level after acceptAfterMillis, as an event of its own, and learns it', () => {
    const detector = streakDetector({ acceptAfterMillis: 600_000 });
    feed(detector, noise(60));
    const shifted = noise(1200, 5).map(v => v * 2);
    const results = feed(detector, shifted, 60);
    const accepted = results.findIndex(r => r.phase === 'end');
    // Raised at the third value (started at 60 s); accepted 600 s after its start.
    expect(accepted).to.equal(600);
    expect(results[accepted].episode).to.include({
      endReason: 'accepted',
      startMillis: 60_000,
      endMillis: 660_000,
    });
    // The new level is normal now: nothing more, and the baseline is it.
    expect(results.slice(accepted).some(r => r.anomalous)).to.equal(false);
    const last = results[results.length - 1];
    expect(last.mean).to.be.closeTo(median(shifted.slice(-60)), 10);
  });

  it('accepts at the next value with 0, never with Infinity, and by hand with accept()', () => {
    const atOnce = streakDetector({ acceptAfterMillis: 0 });
    feed(atOnce, noise(60));
    const quick = feed(atOnce, [200, 200, 200, 200], 60);
    expect(quick.map(r => r.phase)).to.deep.equal([
      undefined,
      undefined,
      'start',
      'end',
    ]);
    expect(quick[3].episode!.endReason).to.equal('accepted');

    const never = streakDetector({ acceptAfterMillis: Infinity });
    feed(never, noise(60));
    const day = feed(never, new Array(86_400).fill(200), 60);
    expect(day[day.length - 1].anomalous).to.equal(true);
    const ended = never.accept(86_460_000);
    expect(ended).to.include({ endReason: 'accepted', startMillis: 60_000 });
    expect(never.observe(200, 86_461_000).anomalous).to.equal(false);
  });

  it('lets the values of a streak that raised nothing into the baseline', () => {
    const withSpikes = streakDetector({ baseline: 'window' });
    const without = streakDetector({ baseline: 'window' });
    feed(withSpikes, [...noise(40), 200, 200, ...noise(10, 40)]);
    feed(without, [...noise(40), ...noise(10, 40)]);
    const a = withSpikes.observe(100, 52_000);
    const b = without.observe(100, 50_000);
    // Two values of 200 among 52: the mean is higher by their share.
    const expectedMean =
      [...noise(40), 200, 200, ...noise(10, 40)].reduce((x, y) => x + y) / 52;
    expect(a.mean).to.be.closeTo(expectedMean, 1e-9);
    expect(a.mean).to.be.above(b.mean + 3);
  });

  it('scores a doubling the same at 2 ms and at 2 s on a log scale, and rejects values ≤ 0', () => {
    const scores = [0.002, 2].map(level => {
      const detector = streakDetector({ transform: 'log' });
      feed(
        detector,
        noise(60).map(v => (v / 100) * level)
      );
      return detector.observe(2 * level, 60_000).score;
    });
    expect(scores[0]).to.be.closeTo(scores[1], 1e-9);
    expect(scores[0]).to.be.above(2);
    const detector = streakDetector({ transform: 'log' });
    for (const bad of [0, -1]) detector.observe(bad, 0);
    expect(detector.rejected).to.equal(2);
  });
});

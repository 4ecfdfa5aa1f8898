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

/** Feeds values one a second from t = 0 and returns the last result. */
function feed(detector: AnomalyDetector, values: number[], start = 0) {
  let last;
  values.forEach((v, i) => (last = detector.observe(v, (start + i) * 1000)));
  return last!;
}

/** n values around 100, ±5. */
const noise = (n: number) =>
  Array.from({ length: n }, (_, i) => 100 + ((i * 37) % 11) - 5);

describe('AnomalyDetector', () => {
  it('scores nothing until the baseline holds minBaseline values', () => {
    const detector = streakDetector();
    const early = feed(detector, [100, 100, 100, 1000]);
    expect(early).to.include({ ready: false, score: 0, anomalous: false });
  });

  it('scores against the baseline of earlier values and needs three in a row', () => {
    const detector = streakDetector();
    const baseline = feed(detector, noise(60));
    expect(baseline.anomalous).to.equal(false);
    const first = detector.observe(200, 60_000);
    expect(first.ready).to.equal(true);
    expect(first.score).to.be.above(10);
    expect(first).to.include({ direction: 'up', streak: 1, anomalous: false });
    expect(detector.observe(200, 61_000)).to.include({
      streak: 2,
      anomalous: false,
    });
    const raised = detector.observe(200, 62_000);
    expect(raised).to.include({ anomalous: true, phase: 'start' });
    // The episode starts with the first out-of-line value of the streak.
    expect(raised.episode).to.include({ direction: 'up', startMillis: 60_000 });
  });

  it('restarts the streak when a value is back in line or turns the other way', () => {
    const detector = streakDetector();
    feed(detector, noise(60));
    detector.observe(200, 60_000);
    detector.observe(200, 61_000);
    expect(detector.observe(100, 62_000)).to.include({
      streak: 0,
      anomalous: false,
    });
    detector.observe(200, 63_000);
    expect(detector.observe(0, 64_000)).to.include({
      direction: 'down',
      streak: 1,
    });
  });

  it('floors σ at a share of the mean, so a flat series is not alarmed by small steps', () => {
    const detector = streakDetector();
    feed(detector, new Array(30).fill(100));
    const step = detector.observe(104, 30_000);
    expect(step.stddev).to.equal(5);
    expect(step.score).to.be.closeTo(0.8, 1e-12);
    const absolute = streakDetector({
      sigmaFloorRatio: 0,
      sigmaFloor: 10,
    });
    feed(absolute, new Array(30).fill(100));
    expect(absolute.observe(115, 30_000).score).to.be.closeTo(1.5, 1e-12);
  });

  it('counts only the direction it is told to', () => {
    const detector = streakDetector({ direction: 'up', consecutive: 1 });
    feed(detector, noise(20));
    expect(detector.observe(0, 20_000)).to.include({
      anomalous: false,
      direction: undefined,
    });
    expect(detector.observe(1000, 21_000)).to.include({
      anomalous: true,
      direction: 'up',
    });
  });

  it('follows a drifting level with an EWMA baseline', () => {
    const detector = streakDetector({
      baseline: 'ewma',
      windowSize: 9,
      consecutive: 1,
    });
    const drift = Array.from({ length: 100 }, (_, i) => 100 + i + (i % 2));
    expect(feed(detector, drift).anomalous).to.equal(false);
    expect(detector.observe(400, 100_000).anomalous).to.equal(true);
    const windowed = streakDetector({ windowSize: 9, consecutive: 1 });
    feed(windowed, drift);
    expect(windowed.observe(205, 100_000).score).to.be.below(5);
  });

  it('drops and counts values that are not finite numbers', () => {
    const detector = streakDetector();
    for (const bad of [NaN, Infinity, -Infinity, '5', undefined]) {
      expect(detector.observe(bad as number, 0)).to.include({
        anomalous: false,
        ready: false,
      });
    }
    expect(detector.rejected).to.equal(5);
    detector.reset();
    expect(detector.observe(1, 0).ready).to.equal(false);
  });

  const invalid: [string, unknown, ErrorConstructor, RegExp][] = [
    [
      'a threshold of 0',
      { threshold: 0 },
      RangeError,
      /AnomalyDetector: option 'threshold' must be a finite number > 0, got 0/,
    ],
    [
      'a window of 1',
      { windowSize: 1 },
      RangeError,
      /option 'windowSize' must be an integer ≥ 2 and ≤ 100000, got 1/,
    ],
    [
      'a baseline larger than the window',
      { windowSize: 5, minBaseline: 6 },
      RangeError,
      /option 'minBaseline' must be ≤ 'windowSize' \(5\), got 6/,
    ],
    [
      'zero consecutive',
      { consecutive: 0 },
      RangeError,
      /option 'consecutive' must be an integer ≥ 1/,
    ],
    [
      'a negative floor ratio',
      { sigmaFloorRatio: -1 },
      RangeError,
      /option 'sigmaFloorRatio' must be a finite number ≥ 0, got -1/,
    ],
    [
      'a negative floor',
      { sigmaFloor: -1 },
      RangeError,
      /option 'sigmaFloor' must be a finite number ≥ 0, got -1/,
    ],
    [
      'an unknown direction',
      { direction: 'sideways' },
      RangeError,
      /option 'direction' must be one of 'up', 'down', 'both'/,
    ],
    [
      'an unknown baseline',
      { baseline: 'median' },
      RangeError,
      /option 'baseline' must be one of 'rank', 'robust', 'window', 'ewma'/,
    ],
    [
      'a negative acceptance period',
      { acceptAfterMillis: -1 },
      RangeError,
      /option 'acceptAfterMillis' must be a number \(Infinity allowed\) ≥ 0, got -1/,
    ],
    [
      'zero clearAfter',
      { clearAfter: 0 },
      RangeError,
      /option 'clearAfter' must be an integer ≥ 1/,
    ],
    [
      'an unknown transform',
      { transform: 'sqrt' },
      RangeError,
      /option 'transform' must be one of 'none', 'log'/,
    ],
    [
      'a misspelt option',
      { treshold: 3 },
      TypeError,
      /unknown option 'treshold'/,
    ],
  ];
  for (const [name, options, type, message] of invalid) {
    it(`throws for ${name}`, () => {
      expect(() => new AnomalyDetector(options as never)).to.throw(
        type,
        message
      );
    });
  }
});

describe('AnomalyDetector baselines, reset and re-learning', () => {
  // Independent statistics, written out here.
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1
      ? sorted[middle]
      : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const mean = (values: number[]) =>
    values.reduce((a, b) => a + b, 0) / values.length;
  /** σ from the median absolute deviation of a normal distribution; from the mean one when that is 0. */
  const robustSigma = (values: number[]) => {
    const centre = median(values);
    const deviations = values.map(v => Math.abs(v - centre));
    const mad = median(deviations);
    return mad > 0 ? 1.4826 * mad : Math.sqrt(Math.PI / 2) * mean(deviations);
  };
  const populationSigma = (values: number[]) => {
    const centre = mean(values);
    return Math.sqrt(mean(values.map(v => (v - centre) ** 2)));
  };
  /** Nothing is ever out of line, so every value joins the baseline. */
  const quiet = (baseline: 'robust' | 'window') =>
    streakDetector({ baseline, threshold: 1e9, sigmaFloorRatio: 0 });
  const odd = [3, 9, 4, 7, 12, 5, 8, 6, 10, 11, 2];
  const even = [...odd, 30];
  const flat = [5, 5, 5, 5, 5, 5, 5, 9, 13, 21, 5];

  it('reports the median and MAD of the values before (robust), for odd and even counts and a MAD of 0', () => {
    for (const values of [odd, even, flat]) {
      const detector = quiet('robust');
      feed(detector, values);
      const result = detector.observe(6, values.length * 1000);
      expect(result.mean, `${values.length} values`).to.equal(median(values));
      expect(result.stddev).to.be.closeTo(robustSigma(values), 1e-3);
      expect(result.score).to.be.closeTo(
        (6 - median(values)) / robustSigma(values),
        1e-3
      );
    }
  });

  it('reports the mean and σ of the values before (window)', () => {
    const detector = quiet('window');
    feed(detector, even);
    const result = detector.observe(6, even.length * 1000);
    expect(result.mean).to.be.closeTo(mean(even), 1e-12);
    expect(result.stddev).to.be.closeTo(populationSigma(even), 1e-12);
  });

  it('forgets everything on reset(), a streak it was holding back included', () => {
    const detector = streakDetector();
    feed(detector, noise(20));
    feed(detector, [1000, 1000], 20); // a streak, held back from the baseline
    detector.reset();
    expect(detector.observe(100, 22_000).ready).to.equal(false);
    const fresh = Array.from({ length: 13 }, (_, i) => 100 + i);
    feed(detector, fresh.slice(1), 23);
    expect(detector.observe(100, 40_000).mean).to.equal(median(fresh));
  });

  it('raises a new shift at once after reset(), even right after an accepted episode', () => {
    const detector = streakDetector({ acceptAfterMillis: 0 });
    feed(detector, noise(20));
    feed(detector, [1000, 1000, 1000, 1000], 20); // raised, then accepted
    detector.reset();
    feed(detector, noise(10), 30); // the baseline; nothing scored yet
    const shift = [5000, 5000, 5000].map((v, i) =>
      detector.observe(v, (40 + i) * 1000)
    );
    expect(shift.map(r => r.phase)).to.deep.equal([
      undefined,
      undefined,
      'start',
    ]);
  });

  it('lets a streak go into the baseline when a new one starts the other way', () => {
    const detector = streakDetector({ windowSize: 10, sigmaFloorRatio: 0 });
    const one = Array.from({ length: 10 }, (_, i) => i + 1);
    feed(detector, one); // 1…10
    detector.observe(200, 10_000); // a streak up, held back
    detector.observe(200, 11_000);
    // A streak down: its first value is scored against 1…10, then lets the two 200s in.
    expect(detector.observe(-200, 12_000).mean).to.equal(median(one));
    expect(detector.observe(5, 13_000).mean).to.equal(
      median([...one.slice(2), 200, 200])
    );
  });

  it('scores 0 for the centre itself and ±Infinity beyond it when σ is 0 and unfloored', () => {
    const detector = quiet('robust');
    feed(detector, new Array(12).fill(5));
    expect(detector.observe(5, 12_000).score).to.equal(0);
    expect(detector.observe(6, 13_000).score).to.equal(Infinity);
    expect(detector.observe(4, 14_000).score).to.equal(-Infinity);
  });

  it('reports the exponentially weighted mean and deviation (ewma)', () => {
    // α = 2 / (3 + 1) = 0.5: after 0 and 10, mean 5, variance (1 − α)(0 + α·100) = 25.
    const detector = streakDetector({
      baseline: 'ewma',
      windowSize: 3,
      minBaseline: 2,
      sigmaFloorRatio: 0,
    });
    feed(detector, [0, 10]);
    expect(detector.observe(5, 2000)).to.include({ mean: 5, stddev: 5 });
  });

  it("reports σ on a log scale in the values' unit (the delta method)", () => {
    // ln values 0 and 4: mean 2, σ 2; back: e², σ ≈ e² · 2.
    const detector = streakDetector({
      baseline: 'window',
      transform: 'log',
      minBaseline: 2,
      sigmaFloorRatio: 0,
      threshold: 1e9,
    });
    feed(detector, [1, Math.exp(4)]);
    const result = detector.observe(Math.exp(2), 2000);
    expect(result.mean).to.be.closeTo(Math.exp(2), 1e-9);
    expect(result.stddev).to.be.closeTo(2 * Math.exp(2), 1e-9);
  });

  it('keeps its baseline when accept() finds no episode', () => {
    const detector = new AnomalyDetector();
    feed(detector, noise(40));
    expect(detector.accept(40_000)).to.equal(undefined);
    expect(detector.observe(100, 41_000)).to.include({
      ready: true,
      mean: median(noise(40)),
    });
  });

  it('re-learns an accepted level from the values it held back and those of its episode', () => {
    const detector = new AnomalyDetector({
      acceptAfterMillis: 10_000,
      minBaseline: 10,
    });
    feed(detector, noise(40));
    const level = Array.from({ length: 30 }, (_, i) => 1000 + 7 * i);
    let accepted = -1;
    for (let i = 0; i < level.length && accepted < 0; i++)
      if (detector.observe(level[i], (40 + i) * 1000).phase === 'end')
        accepted = i;
    // Every value from the first of the shift to the one that ended it: fewer than a window.
    expect(accepted).to.be.within(10, 20);
    expect(detector.observe(1100, 80_000).mean).to.equal(
      median(level.slice(0, accepted + 1))
    );
  });

  it('re-learns an accepted level from the last windowSize values of its episode', () => {
    const detector = streakDetector({
      windowSize: 20,
      acceptAfterMillis: 60_000,
    });
    feed(detector, noise(40)); // ~100
    // A level of ~1000 from t = 40 s, accepted 60 s later.
    const level = Array.from({ length: 80 }, (_, i) => 1000 + i);
    let accepted: number | undefined;
    for (let i = 0; accepted === undefined && i < level.length; i++)
      if (detector.observe(level[i], (40 + i) * 1000).phase === 'end')
        accepted = i;
    expect(accepted, 'the level accepted').to.be.a('number');
    // The baseline is now the episode's last 20 values, the one that ended it included.
    const next = detector.observe(1000, 120_000);
    expect(next.anomalous).to.equal(false);
    expect(next.mean).to.equal(
      median(level.slice(0, accepted! + 1).slice(-20))
    );
  });
});

describe('AnomalyDetector defaults: rank score and CUSUM', () => {
  /** Φ(z) by numerical integration of the normal density (Simpson), independent of the detector. */
  const phi = (z: number) => {
    const steps = 2000;
    const a = -10;
    const h = (z - a) / steps;
    const f = (x: number) => Math.exp(-(x * x) / 2) / Math.sqrt(2 * Math.PI);
    let sum = f(a) + f(z);
    for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
    return (sum * h) / 3;
  };
  /** 30 distinct values 1…30 in a scrambled order. */
  const ranks = Array.from({ length: 30 }, (_, i) => ((i * 7) % 30) + 1);

  it('scores a value by its mid-rank among the baseline, as a normal quantile', () => {
    const cases: [number, number][] = [
      [0.5, 0.5 / 31], // below all 30
      [10, (9 + 0.5 + 0.5) / 31], // ties one of them
      [15.5, (15 + 0.5) / 31], // between
      [100, 30.5 / 31], // above all
    ];
    for (const [value, p] of cases) {
      const detector = new AnomalyDetector({ sigmaFloorRatio: 0 });
      feed(detector, ranks);
      const { score, ready } = detector.observe(value, 30_000);
      expect(ready).to.equal(true);
      expect(phi(score), `value ${value}`).to.be.closeTo(p, 1e-6);
    }
  });

  it('moves a value sigmaFloorRatio towards the median before ranking it (0 within), and reports median and robust σ', () => {
    const detector = new AnomalyDetector();
    feed(detector, ranks); // median 15.5, floor 0.775
    const near = detector.observe(16.2, 30_000);
    expect(near.score).to.equal(0);
    const below = new AnomalyDetector();
    feed(below, ranks);
    // Within the floor, not ranked at all (15.6 − 0.775 would rank below the median).
    expect(below.observe(15.6, 30_000).score).to.equal(0);
    expect(near.mean).to.equal(15.5);
    // 16.2 joined: 31 values, median 16, floor 0.8; 17 is ranked as 16.2,
    // above 1…16 and level with 16.2.
    const beyond = detector.observe(17, 31_000);
    expect(beyond.mean).to.equal(16);
    expect(phi(beyond.score)).to.be.closeTo((16 + 0.5 + 0.5) / 32, 1e-6);
  });

  it('adds (score − 0.75) per value and raises at evidence 6, both ways', () => {
    for (const [value, sign] of [
      [1000, 1],
      [-1000, -1],
    ]) {
      const detector = new AnomalyDetector();
      feed(detector, ranks);
      // Φ⁻¹(30.5 / 31), by bisection on the independent Φ.
      let lo = 0;
      let hi = 5;
      for (let i = 0; i < 60; i++) {
        const mid = (lo + hi) / 2;
        if (phi(mid) < 30.5 / 31) lo = mid;
        else hi = mid;
      }
      const top = lo;
      let evidence = 0;
      let raisedAt = 0;
      for (let k = 1; k <= 10 && raisedAt === 0; k++) {
        const result = detector.observe(value, (30 + k) * 1000);
        evidence = Math.min(6, evidence + top - 0.75);
        expect(result.evidence, `value ${k}`).to.be.closeTo(
          sign * evidence,
          1e-4
        );
        expect(result.streak).to.equal(result.anomalous ? 0 : k);
        if (result.phase === 'start') raisedAt = k;
      }
      expect(raisedAt).to.equal(Math.ceil(6 / (top - 0.75)));
    }
  });

  it('counts only the direction it is told to, and takes reference and decisionInterval', () => {
    const up = new AnomalyDetector({ direction: 'up' });
    feed(up, ranks);
    for (let k = 0; k < 10; k++)
      expect(up.observe(-1000, (30 + k) * 1000)).to.include({
        evidence: 0,
        anomalous: false,
      });
    const quick = new AnomalyDetector({ reference: 0, decisionInterval: 4 });
    feed(quick, ranks);
    expect(quick.observe(1000, 30_000).anomalous).to.equal(false);
    expect(quick.observe(1000, 31_000).phase).to.equal('start');
  });

  it('lets values that built evidence into the baseline once it is spent', () => {
    const detector = new AnomalyDetector({ windowSize: 30 });
    feed(detector, ranks);
    detector.observe(31, 30_000); // adds evidence: held back
    expect(detector.observe(15, 31_000).evidence).to.be.above(0);
    // Enough values in line spend it; the held 31 then joins the baseline.
    let t = 32;
    let spent = false;
    for (let i = 0; i < 50 && !spent; i++)
      spent = detector.observe(15, t++ * 1000).evidence === 0;
    expect(spent, 'evidence spent').to.equal(true);
    expect(detector.observe(31, t * 1000).score).to.be.below(
      detector.observe(1000, (t + 1) * 1000).score
    );
  });

  it('under direction down, accumulates only the down side', () => {
    const down = new AnomalyDetector({ direction: 'down' });
    feed(down, ranks);
    for (let k = 0; k < 10; k++)
      expect(down.observe(1000, (30 + k) * 1000)).to.include({
        evidence: 0,
        anomalous: false,
      });
    let raised: AnomalyResult | undefined;
    for (let k = 10; k < 20 && !raised; k++) {
      const result = down.observe(-1000, (30 + k) * 1000);
      expect(result.evidence).to.be.below(0);
      if (result.phase === 'start') raised = result;
    }
    expect(raised?.episode?.direction).to.equal('down');
  });

  it('scores the median itself 0 and mirrors values around it', () => {
    const detector = new AnomalyDetector({ sigmaFloorRatio: 0 });
    const symmetric = Array.from({ length: 30 }, (_, i) => i - 14.5); // −14.5…14.5
    feed(detector, symmetric);
    const one = new AnomalyDetector({ sigmaFloorRatio: 0 });
    feed(one, symmetric);
    const other = new AnomalyDetector({ sigmaFloorRatio: 0 });
    feed(other, symmetric);
    expect(detector.observe(0, 30_000).score).to.be.closeTo(0, 1e-9);
    expect(one.observe(7.5, 30_000).score).to.be.closeTo(
      -other.observe(-7.5, 30_000).score,
      1e-9
    );
  });

  it('lets held values into the baseline, oldest first, once a window of them waits', () => {
    // Evidence that never raises (an unreachable decision interval) holds
    // every value above the median back, up to windowSize of them.
    const detector = new AnomalyDetector({
      windowSize: 30,
      reference: 0,
      decisionInterval: 1e9,
    });
    feed(detector, ranks);
    for (let k = 0; k < 40; k++) detector.observe(1000, (30 + k) * 1000);
    // The 10 oldest of the 40 replaced the 10 oldest of the window.
    const expected = [...ranks.slice(10), ...new Array(10).fill(1000)].sort(
      (a, b) => a - b
    );
    expect(detector.observe(1000, 70_000).mean).to.equal(
      (expected[14] + expected[15]) / 2
    );
  });

  it('starts the evidence afresh on accept() and on reset()', () => {
    for (const end of ['accept', 'reset'] as const) {
      const detector = new AnomalyDetector({ acceptAfterMillis: Infinity });
      feed(detector, ranks);
      let t = 30;
      while (!detector.episode && t < 60) detector.observe(1000, t++ * 1000);
      expect(detector.episode, end).not.to.equal(undefined);
      if (end === 'accept')
        expect(detector.accept(t * 1000)).to.include({ endReason: 'accepted' });
      else {
        detector.reset();
        feed(detector, ranks, t);
        t += 30;
      }
      // A value at the baseline's median: score 0, so no evidence unless some was left.
      const median = detector.observe(end === 'accept' ? 1000 : 15.5, t * 1000);
      expect(median.score, end).to.equal(0);
      expect(median.evidence, end).to.equal(0);
    }
  });

  it('ranks across the whole range, tails included, as Φ⁻¹ of the mid-rank', () => {
    const thousand = Array.from({ length: 999 }, (_, i) => i + 1);
    for (const k of [0, 1, 10, 30, 100, 300, 500, 700, 900, 970, 990, 999]) {
      const detector = new AnomalyDetector({
        windowSize: 999,
        minBaseline: 999,
        sigmaFloorRatio: 0,
      });
      feed(detector, thousand);
      const { score } = detector.observe(k + 0.5, 999_000); // above k values
      expect(phi(score), `above ${k}`).to.be.closeTo((k + 0.5) / 1000, 1e-8);
    }
  });

  it("marks a value's direction at |score| ≥ threshold, up or down", () => {
    const fresh = (threshold?: number) => {
      const detector = new AnomalyDetector({ threshold, sigmaFloorRatio: 0 });
      feed(detector, ranks);
      return detector;
    };
    expect(fresh().observe(16, 30_000).direction).to.equal(undefined);
    expect(fresh().observe(1000, 30_000).direction).to.equal('up');
    expect(fresh().observe(-1000, 30_000).direction).to.equal('down');
    // Exactly at the threshold counts.
    const top = fresh().observe(1000, 30_000).score;
    expect(fresh(top).observe(1000, 30_000).direction).to.equal('up');
  });

  const invalid: [unknown, RegExp][] = [
    [{ rule: 'streak' }, /option 'rule' must be one of 'cusum', 'consecutive'/],
    [
      { reference: -1 },
      /option 'reference' must be a finite number ≥ 0, got -1/,
    ],
    [
      { decisionInterval: 0 },
      /option 'decisionInterval' must be a finite number > 0, got 0/,
    ],
  ];
  for (const [options, message] of invalid)
    it(`throws for ${JSON.stringify(options)}`, () => {
      expect(() => new AnomalyDetector(options as never)).to.throw(
        RangeError,
        message
      );
    });
});

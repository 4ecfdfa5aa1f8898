import { OptionReader } from '@datapunk/otel-common';
import { Streak } from './Streak';

/** Options of {@link AnomalyDetector}; the analyzer uses the same defaults. */
export interface AnomalyDetectorOptions {
  /** |z| at or above which an observation is out of line. Default 2.0 (standard deviations). */
  threshold?: number;
  /** Observations in the rolling baseline. Default 60 (one minute of 1 s buckets). */
  windowSize?: number;
  /** Baseline observations needed before anything is scored. Default 10. */
  minBaseline?: number;
  /** Out-of-line observations in a row, in one direction, before it is an anomaly. Default 3. */
  consecutive?: number;
  /** σ is at least this share of |mean| (flat or quantised series). Default 0.05. */
  sigmaFloorRatio?: number;
  /** σ is at least this, in the values' unit. Default 0. */
  sigmaFloor?: number;
  /** Which deviations count: 'up', 'down' or 'both'. Default 'both'. */
  direction?: 'up' | 'down' | 'both';
  /**
   * 'window': mean and σ of the last windowSize observations (default);
   * 'ewma': exponentially weighted mean and deviation with α = 2 / (windowSize + 1),
   * O(1) memory, quicker to follow a drifting level.
   */
  baseline?: 'window' | 'ewma';
}

/** What one observation means against the baseline before it. */
export interface AnomalyResult {
  /** Out of line for `consecutive` observations in a row, in one direction. */
  anomalous: boolean;
  /** z = (value − mean) / σ against the baseline; 0 until the baseline is ready or for a rejected value. */
  score: number;
  direction: 'up' | 'down' | undefined;
  /** Baseline mean and the σ used (after the floors). */
  mean: number;
  stddev: number;
  /** Out-of-line observations in a row so far, in `direction`. */
  streak: number;
  /** Whether the baseline had minBaseline observations. */
  ready: boolean;
  value: number;
  timestampMillis: number;
}

const OWNER = 'AnomalyDetector';

/**
 * A streaming z-score detector over a rolling baseline, built to keep false
 * alarms rare on stationary data: a plain |z| ≥ 2 check fires on ~4.6% of
 * Gaussian observations (about 164 an hour at one a second). Requiring
 * `consecutive` (3) out-of-line observations in one direction, a floor on σ,
 * and a minimum baseline brings that to about 0.09 an hour, while a real
 * shift of the level is found after `consecutive` observations.
 *
 * Each observation is scored against the baseline of those before it, then
 * joins it; a lasting shift therefore becomes the new normal after about a
 * window. Never throws on input: a non-finite value is not scored and is
 * counted in {@link rejected}.
 */
export class AnomalyDetector {
  private readonly _minBaseline: number;
  private readonly _sigmaFloorRatio: number;
  private readonly _sigmaFloor: number;
  private readonly _streak: Streak;
  private readonly _baselineKind: 'window' | 'ewma';
  private readonly _window: Float64Array;
  private readonly _alpha: number;
  /** EWMA state. */
  private _ewmaMean = 0;
  private _ewmaVariance = 0;
  private _size = 0;
  private _next = 0;
  private _rejected = 0;

  /** @throws {TypeError|RangeError} naming the option and the rule. */
  constructor(options: AnomalyDetectorOptions = {}) {
    const reader = new OptionReader(OWNER, options, [
      'threshold',
      'windowSize',
      'minBaseline',
      'consecutive',
      'sigmaFloorRatio',
      'sigmaFloor',
      'direction',
      'baseline',
    ]);
    const threshold = reader.number('threshold', 2.0, { above: 0 });
    const windowSize = reader.integer('windowSize', 60, {
      min: 2,
      max: 100_000,
    });
    this._minBaseline = reader.integer(
      'minBaseline',
      Math.min(10, windowSize),
      { min: 2 }
    );
    reader.ordered(
      'minBaseline',
      this._minBaseline,
      '≤',
      'windowSize',
      windowSize
    );
    const consecutive = reader.integer('consecutive', 3, { min: 1, max: 1000 });
    this._sigmaFloorRatio = reader.number('sigmaFloorRatio', 0.05, { min: 0 });
    this._sigmaFloor = reader.number('sigmaFloor', 0, { min: 0 });
    this._streak = new Streak(
      threshold,
      consecutive,
      reader.oneOf('direction', ['up', 'down', 'both'], 'both')
    );
    this._baselineKind = reader.oneOf('baseline', ['window', 'ewma'], 'window');
    this._window = new Float64Array(
      this._baselineKind === 'window' ? windowSize : 0
    );
    this._alpha = 2 / (windowSize + 1);
  }

  /** Values not scored because they were not finite numbers. */
  get rejected(): number {
    return this._rejected;
  }

  /** Scores `value` against the baseline, then adds it to the baseline. */
  observe(value: number, timestampMillis: number): AnomalyResult {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this._rejected++;
      return {
        anomalous: false,
        score: 0,
        direction: undefined,
        mean: NaN,
        stddev: NaN,
        streak: 0,
        ready: false,
        value,
        timestampMillis,
      };
    }
    const ready = this._size >= this._minBaseline;
    let mean = NaN;
    let stddev = NaN;
    let score = 0;
    if (ready) {
      [mean, stddev] = this._baseline();
      stddev = Math.max(
        stddev,
        this._sigmaFloorRatio * Math.abs(mean),
        this._sigmaFloor
      );
      const deviation = value - mean;
      score =
        stddev > 0
          ? deviation / stddev
          : deviation === 0
            ? 0
            : Math.sign(deviation) * Infinity;
    }
    const { direction, length, anomalous } = this._streak.update(score);
    this._push(value);
    return {
      anomalous,
      score,
      direction,
      mean,
      stddev,
      streak: length,
      ready,
      value,
      timestampMillis,
    };
  }

  /** Forgets the baseline and the streak. */
  reset(): void {
    this._size = 0;
    this._next = 0;
    this._ewmaMean = 0;
    this._ewmaVariance = 0;
    this._streak.reset();
  }

  private _push(value: number): void {
    if (this._baselineKind === 'ewma') {
      if (this._size === 0) {
        this._ewmaMean = value;
      } else {
        const deviation = value - this._ewmaMean;
        this._ewmaMean += this._alpha * deviation;
        this._ewmaVariance =
          (1 - this._alpha) *
          (this._ewmaVariance + this._alpha * deviation * deviation);
      }
      this._size++;
      return;
    }
    this._window[this._next] = value;
    this._next = (this._next + 1) % this._window.length;
    if (this._size < this._window.length) this._size++;
  }

  /** Mean and population σ of the baseline (the window's by two passes, O(window)). */
  private _baseline(): [number, number] {
    if (this._baselineKind === 'ewma')
      return [this._ewmaMean, Math.sqrt(this._ewmaVariance)];
    const n = this._size;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this._window[i];
    const mean = sum / n;
    let squares = 0;
    for (let i = 0; i < n; i++) squares += (this._window[i] - mean) ** 2;
    return [mean, Math.sqrt(squares / n)];
  }
}

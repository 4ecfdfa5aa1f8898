import { OptionReader } from '@datapunk/otel-common';
import type { Baseline } from './Baseline';
import { EpisodeTracker } from './EpisodeTracker';
import type { Direction, Episode, EpisodePhase } from './EpisodeTracker';
import { EwmaBaseline } from './EwmaBaseline';
import { WindowBaseline } from './WindowBaseline';

/** Options of {@link AnomalyDetector}; the analyzer uses the same defaults. */
export interface AnomalyDetectorOptions {
  /** |score| at or above which an observation is out of line. Default 2.0 (standard deviations). */
  threshold?: number;
  /** Normal observations the baseline is learned from. Default 60 (one minute of 1 s buckets). */
  windowSize?: number;
  /** Baseline observations needed before anything is scored. Default 10. */
  minBaseline?: number;
  /** Out-of-line observations in a row, in one direction, that raise an anomaly. Default 3. */
  consecutive?: number;
  /** Observations in a row back within bounds that end an anomaly. Default 5. */
  clearAfter?: number;
  /**
   * An anomaly lasting this long ends as accepted: its level becomes the
   * new normal. Default 3600000 (an hour); 0 accepts a new level at the
   * next observation, Infinity never (see accept()).
   */
  acceptAfterMillis?: number;
  /** σ is at least this share of |centre| (flat or quantised series); under 'log', ln(1 + it). Default 0.05. */
  sigmaFloorRatio?: number;
  /** σ is at least this, in the values' unit (after the transform). Default 0. */
  sigmaFloor?: number;
  /** Which deviations count: 'up', 'down' or 'both'. Default 'both'. */
  direction?: Direction | 'both';
  /**
   * 'robust': median and MAD of the last windowSize normal observations
   * (default); 'window': their mean and σ; 'ewma': exponentially weighted
   * mean and deviation with α = 2 / (windowSize + 1), O(1) memory.
   */
  baseline?: 'robust' | 'window' | 'ewma';
  /**
   * 'log' scores ln(value), for positive, skewed data such as latency: a
   * doubling is the same step at 2 ms and at 2 s (values ≤ 0 are rejected).
   * Default 'none'.
   */
  transform?: 'none' | 'log';
}

/** What one observation means against the baseline before it. */
export interface AnomalyResult {
  /** Whether an anomaly episode is under way after this observation. */
  anomalous: boolean;
  /**
   * (value − centre) / σ against the baseline, after the transform: grows
   * with how far out of line the value is, for ranking or a threshold of
   * one's own. 0 until the baseline is ready, or for a rejected value.
   */
  score: number;
  /** The direction of this observation, when out of line. */
  direction: Direction | undefined;
  /** The baseline's centre and σ, back in the values' unit (σ by the delta method under 'log'). */
  mean: number;
  stddev: number;
  /** Out-of-line observations in a row so far, before an episode starts. */
  streak: number;
  /** Whether the baseline had minBaseline observations. */
  ready: boolean;
  value: number;
  timestampMillis: number;
  /** 'start' when this observation raised an episode, 'end' when it ended one. */
  phase: EpisodePhase;
  /** The episode under way, or the one this observation ended. */
  episode: Episode | undefined;
}

const OWNER = 'AnomalyDetector';

/**
 * A streaming anomaly detector with episodes. Each observation is scored
 * against a baseline of earlier *normal* observations (robust by default:
 * median and MAD). `consecutive` (3) out-of-line scores in a row raise an
 * episode; while it lasts the baseline is frozen, so the anomaly is held as
 * long as the values stay out of line, however long that is; it clears
 * after `clearAfter` observations back within bounds (hysteresis), or is
 * accepted as the new normal after `acceptAfterMillis` (or by
 * {@link accept}), which re-learns the baseline from the episode's values.
 *
 * Observations of a streak that raises nothing join the baseline once the
 * streak breaks, so the baseline is not biased by their exclusion. A σ
 * floor (a share of the centre) keeps flat and quantised series from
 * alarming on small steps. Never throws on input: a non-finite value (or
 * ≤ 0 under 'log') is not scored and is counted in {@link rejected}.
 */
export class AnomalyDetector {
  private readonly _minBaseline: number;
  private readonly _sigmaFloorRatio: number;
  private readonly _sigmaFloor: number;
  private readonly _log: boolean;
  private readonly _baseline: Baseline;
  private readonly _tracker: EpisodeTracker;
  private readonly _windowSize: number;
  /** Values of a streak, held back from the baseline until it breaks. */
  private _held: number[] = [];
  /** The latest values of the episode under way, to re-learn from if accepted. */
  private _episodeValues: number[] = [];
  private _rejected = 0;

  /** @throws {TypeError|RangeError} naming the option and the rule. */
  constructor(options: AnomalyDetectorOptions = {}) {
    const reader = new OptionReader(OWNER, options, [
      'threshold',
      'windowSize',
      'minBaseline',
      'consecutive',
      'clearAfter',
      'acceptAfterMillis',
      'sigmaFloorRatio',
      'sigmaFloor',
      'direction',
      'baseline',
      'transform',
    ]);
    const threshold = reader.number('threshold', 2.0, { above: 0 });
    this._windowSize = reader.integer('windowSize', 60, {
      min: 2,
      max: 100_000,
    });
    this._minBaseline = reader.integer(
      'minBaseline',
      Math.min(10, this._windowSize),
      { min: 2 }
    );
    reader.ordered(
      'minBaseline',
      this._minBaseline,
      '≤',
      'windowSize',
      this._windowSize
    );
    this._tracker = new EpisodeTracker({
      threshold,
      consecutive: reader.integer('consecutive', 3, { min: 1, max: 1000 }),
      clearAfter: reader.integer('clearAfter', 5, { min: 1, max: 1000 }),
      acceptAfterMillis: reader.number('acceptAfterMillis', 3_600_000, {
        min: 0,
        infinite: true,
      }),
      counted: reader.oneOf('direction', ['up', 'down', 'both'], 'both'),
    });
    this._sigmaFloorRatio = reader.number('sigmaFloorRatio', 0.05, { min: 0 });
    this._sigmaFloor = reader.number('sigmaFloor', 0, { min: 0 });
    const kind = reader.oneOf(
      'baseline',
      ['robust', 'window', 'ewma'],
      'robust'
    );
    this._baseline =
      kind === 'ewma'
        ? new EwmaBaseline(this._windowSize)
        : new WindowBaseline(
            this._windowSize,
            kind === 'robust' ? 'robust' : 'mean'
          );
    this._log = reader.oneOf('transform', ['none', 'log'], 'none') === 'log';
  }

  /** Values not scored: not finite numbers, or ≤ 0 under 'log'. */
  get rejected(): number {
    return this._rejected;
  }

  /** The episode under way, if any. */
  get episode(): Episode | undefined {
    return this._tracker.active;
  }

  /** Scores `value` against the baseline, then learns from it if it is normal. */
  observe(value: number, timestampMillis: number): AnomalyResult {
    const x =
      typeof value !== 'number' || !Number.isFinite(value)
        ? NaN
        : this._log
          ? value > 0
            ? Math.log(value)
            : NaN
          : value;
    if (Number.isNaN(x)) {
      this._rejected++;
      return this._result(value, timestampMillis, false, 0, NaN, NaN, {
        phase: undefined,
      });
    }
    const baseline = this._baseline;
    const ready = baseline.size >= this._minBaseline;
    if (!ready) {
      baseline.add(x);
      return this._result(value, timestampMillis, false, 0, NaN, NaN, {
        phase: undefined,
      });
    }
    const center = baseline.center();
    // On a log scale a share of the level is a constant step: ln(1 + ratio).
    const relativeFloor = this._log
      ? Math.log1p(this._sigmaFloorRatio)
      : this._sigmaFloorRatio * Math.abs(center);
    const sigma = Math.max(
      baseline.spread(center),
      relativeFloor,
      this._sigmaFloor
    );
    const deviation = x - center;
    const score =
      sigma > 0
        ? deviation / sigma
        : deviation === 0
          ? 0
          : Math.sign(deviation) * Infinity;
    const change = this._tracker.update(score, timestampMillis);
    this._learn(x, change.phase, change.ended);
    return this._result(
      value,
      timestampMillis,
      true,
      score,
      center,
      sigma,
      change
    );
  }

  /**
   * Ends the episode under way as accepted: its level is normal from now,
   * and the baseline is re-learned from its values. Returns that episode.
   */
  accept(timestampMillis: number): Episode | undefined {
    const ended = this._tracker.accept(timestampMillis);
    if (ended) this._relearn();
    return ended;
  }

  /** Forgets the baseline and any episode. */
  reset(): void {
    this._baseline.replaceWith([]);
    this._tracker.reset();
    this._held = [];
    this._episodeValues = [];
  }

  private _learn(
    x: number,
    phase: EpisodePhase,
    ended: Episode | undefined
  ): void {
    const tracker = this._tracker;
    if (phase === 'start') {
      // The streak that raised it is the episode's first stretch.
      this._episodeValues = [...this._held, x];
      this._held = [];
    } else if (tracker.active) {
      this._episodeValues.push(x);
      if (this._episodeValues.length > this._windowSize)
        this._episodeValues.shift();
    } else if (phase === 'end') {
      this._episodeValues.push(x);
      if (ended?.endReason === 'accepted') this._relearn();
      else this._episodeValues = [];
    } else if (tracker.holding) {
      // A new streak (the other way) lets the previous one go.
      if (tracker.streak === 1) this._release();
      this._held.push(x);
    } else {
      this._release();
      this._baseline.add(x);
    }
  }

  private _release(): void {
    for (const held of this._held) this._baseline.add(held);
    this._held = [];
  }

  private _relearn(): void {
    this._baseline.replaceWith(this._episodeValues);
    this._episodeValues = [];
    this._held = [];
  }

  private _result(
    value: number,
    timestampMillis: number,
    ready: boolean,
    score: number,
    center: number,
    sigma: number,
    change: { phase: EpisodePhase; ended?: Episode }
  ): AnomalyResult {
    const mean = this._log ? Math.exp(center) : center;
    return {
      anomalous: this._tracker.active !== undefined,
      score,
      direction: this._tracker.outOfLine(score),
      mean,
      stddev: this._log ? mean * sigma : sigma,
      streak: this._tracker.streak,
      ready,
      value,
      timestampMillis,
      phase: change.phase,
      episode: change.ended ?? this._tracker.active,
    };
  }
}

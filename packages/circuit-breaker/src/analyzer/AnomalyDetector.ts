import { OptionReader } from '@datapunk/otel-common';
import { RingBuffer } from '../window/RingBuffer';
import type { Baseline } from './Baseline';
import { Cusum } from './Cusum';
import { EpisodeTracker } from './EpisodeTracker';
import type { Direction, Episode, EpisodePhase } from './EpisodeTracker';
import { EwmaBaseline } from './EwmaBaseline';
import { WindowBaseline } from './WindowBaseline';

/** Options of {@link AnomalyDetector}. */
export interface AnomalyDetectorOptions {
  /**
   * How an episode is raised. 'cusum' (default): each observation's score
   * adds evidence beyond `reference`, and evidence reaching
   * `decisionInterval` raises it (a two-sided CUSUM). 'consecutive':
   * `consecutive` scores in a row at or beyond `threshold`, one direction.
   */
  rule?: 'cusum' | 'consecutive';
  /** Under 'cusum': the score an observation must exceed to add evidence. Default 0.75. */
  reference?: number;
  /** Under 'cusum': the evidence that raises an episode. Default 6. */
  decisionInterval?: number;
  /** |score| at or above which an observation is out of line (its `direction`); under 'consecutive' what raises. Default 2.0. */
  threshold?: number;
  /** Normal observations the baseline is learned from. Default 120. */
  windowSize?: number;
  /** Baseline observations needed before anything is scored. Default 30 (at most windowSize). */
  minBaseline?: number;
  /** Under 'consecutive': out-of-line observations in a row, in one direction, that raise an anomaly. Default 3. */
  consecutive?: number;
  /** Observations in a row back within bounds that end an anomaly. Default 5. */
  clearAfter?: number;
  /**
   * An anomaly lasting this long ends as accepted: its level becomes the
   * new normal. Default 3600000 (an hour); 0 accepts a new level at the
   * next observation, Infinity never (see accept()).
   */
  acceptAfterMillis?: number;
  /**
   * Changes smaller than this share of |centre| are no change: σ is at
   * least this; under 'rank' a value is moved this much towards the median
   * before it is ranked (within it, it scores 0). Under 'log', ln(1 + it).
   * Default 0.05.
   */
  sigmaFloorRatio?: number;
  /** The same floor in the values' unit (after the transform). Default 0. */
  sigmaFloor?: number;
  /** Which deviations count: 'up', 'down' or 'both'. Default 'both'. */
  direction?: Direction | 'both';
  /**
   * 'rank' (default): the score is where the value falls among the last
   * windowSize normal observations, as a normal quantile (no distribution
   * assumed); 'robust': (value − median) / (1.4826 MAD) of them; 'window':
   * (value − mean) / σ; 'ewma': against an exponentially weighted mean and
   * deviation with α = 2 / (windowSize + 1), O(1) memory.
   */
  baseline?: 'rank' | 'robust' | 'window' | 'ewma';
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
   * How far out of line the value is against the baseline, after the
   * transform: under 'rank' the normal quantile of its rank, otherwise
   * (value − centre) / σ; for ranking or a threshold of one's own. 0 until
   * the baseline is ready, or for a rejected value.
   */
  score: number;
  /** Under 'cusum': the evidence so far, + up, − down (0 under 'consecutive'). */
  evidence: number;
  /** The direction of this observation, when out of line. */
  direction: Direction | undefined;
  /** The baseline's centre and σ, back in the values' unit (σ by the delta method under 'log'). */
  mean: number;
  stddev: number;
  /** Observations held back from the baseline so far (a streak, or evidence building), before an episode starts. */
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
 * A streaming anomaly detector with episodes, for any stream of numbers:
 * latencies, counts, rates, gauges. By default each value is scored by its
 * rank among the last 120 normal values (a normal quantile: skew, heavy
 * tails, ties and single spikes change nothing), and the scores feed a
 * two-sided CUSUM: evidence grows by (score − 0.75) per value and an
 * episode is raised when it reaches 6. Held while the evidence stays up
 * against a baseline frozen meanwhile, however long that is; cleared once
 * it has been under 3/4 of the decision interval for `clearAfter`
 * observations; or accepted as the new normal after `acceptAfterMillis`
 * (or by {@link accept}), which re-learns the baseline from the episode's
 * values.
 *
 * Observations that add evidence (or, under 'consecutive', make a streak)
 * are held back from the baseline and let in once the evidence is spent,
 * so a shift is scored against the level before it and the baseline is not
 * biased by their exclusion. Never throws on input: a non-finite value (or
 * ≤ 0 under 'log') is not scored and is counted in {@link rejected}.
 */
export class AnomalyDetector {
  private readonly _minBaseline: number;
  private readonly _sigmaFloorRatio: number;
  private readonly _sigmaFloor: number;
  private readonly _log: boolean;
  private readonly _rank: boolean;
  private readonly _baseline: Baseline;
  private readonly _tracker: EpisodeTracker;
  /** Under 'cusum'; undefined under 'consecutive'. */
  private readonly _cusum: Cusum | undefined;
  private readonly _counted: Direction | 'both';
  private readonly _threshold: number;
  /** Values held back from the baseline until the streak or evidence is spent (the oldest let in when full). */
  private readonly _held: RingBuffer<number>;
  /** The latest values of the episode under way, to re-learn from if accepted. */
  private readonly _episodeValues: RingBuffer<number>;
  private _rejected = 0;

  /** @throws {TypeError|RangeError} naming the option and the rule. */
  constructor(options: AnomalyDetectorOptions = {}) {
    const reader = new OptionReader(OWNER, options, [
      'rule',
      'reference',
      'decisionInterval',
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
    const cusum = reader.oneOf('rule', ['cusum', 'consecutive'], 'cusum');
    const reference = reader.number('reference', 0.75, { min: 0 });
    const decision = reader.number('decisionInterval', 6, { above: 0 });
    const threshold = reader.number('threshold', 2.0, { above: 0 });
    const windowSize = reader.integer('windowSize', 120, {
      min: 2,
      max: 100_000,
    });
    this._minBaseline = reader.integer(
      'minBaseline',
      Math.min(30, windowSize),
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
    this._counted = reader.oneOf('direction', ['up', 'down', 'both'], 'both');
    const rules = {
      clearAfter: reader.integer('clearAfter', 5, { min: 1, max: 1000 }),
      acceptAfterMillis: reader.number('acceptAfterMillis', 3_600_000, {
        min: 0,
        infinite: true,
      }),
      counted: this._counted,
    };
    // Under 'cusum' the tracker is fed the evidence, raised at one value.
    this._cusum =
      cusum === 'cusum' ? new Cusum(reference, decision) : undefined;
    this._tracker = new EpisodeTracker(
      this._cusum
        ? { ...rules, threshold: decision, consecutive: 1 }
        : { ...rules, threshold, consecutive }
    );
    this._threshold = threshold;
    this._sigmaFloorRatio = reader.number('sigmaFloorRatio', 0.05, { min: 0 });
    this._sigmaFloor = reader.number('sigmaFloor', 0, { min: 0 });
    const kind = reader.oneOf(
      'baseline',
      ['rank', 'robust', 'window', 'ewma'],
      'rank'
    );
    this._rank = kind === 'rank';
    this._baseline =
      kind === 'ewma'
        ? new EwmaBaseline(windowSize)
        : new WindowBaseline(windowSize, kind === 'window' ? 'mean' : 'robust');
    this._log = reader.oneOf('transform', ['none', 'log'], 'none') === 'log';
    this._held = new RingBuffer(windowSize);
    this._episodeValues = new RingBuffer(windowSize);
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
    // Number.isFinite is false for anything but a finite number, and reads nothing of it.
    const x = !Number.isFinite(value)
      ? NaN
      : this._log
        ? value > 0
          ? Math.log(value)
          : NaN
        : value;
    if (Number.isNaN(x)) {
      this._rejected++;
      return this._result(value, timestampMillis, false, 0, NaN, NaN);
    }
    const baseline = this._baseline;
    if (baseline.size < this._minBaseline) {
      baseline.add(x);
      return this._result(value, timestampMillis, false, 0, NaN, NaN);
    }
    const center = baseline.center();
    // On a log scale a share of the level is a constant step: ln(1 + ratio).
    const floor = Math.max(
      this._log
        ? Math.log1p(this._sigmaFloorRatio)
        : this._sigmaFloorRatio * Math.abs(center),
      this._sigmaFloor
    );
    const sigma = Math.max(baseline.spread(center), floor);
    const deviation = x - center;
    // Under 'rank' a deviation counts less the floor: a level that drifts
    // by a few percent (a cycle the window lags) is not out of line.
    const score = this._rank
      ? Math.abs(deviation) <= floor
        ? 0
        : (baseline as WindowBaseline).normalScore(
            x - Math.sign(deviation) * floor
          )
      : sigma > 0
        ? deviation / sigma
        : deviation === 0
          ? 0
          : Math.sign(deviation) * Infinity;
    const cusum = this._cusum;
    const change = cusum
      ? (cusum.add(score),
        this._tracker.update(cusum.evidence(this._counted), timestampMillis))
      : this._tracker.update(score, timestampMillis);
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
    this._cusum?.reset();
    this._held.clear();
  }

  /** Whether observations are being held back: a streak, or evidence not yet spent. */
  private _holding(): boolean {
    return this._cusum
      ? this._cusum.evidence(this._counted) !== 0
      : this._tracker.holding;
  }

  private _learn(
    x: number,
    phase: EpisodePhase,
    ended: Episode | undefined
  ): void {
    const episodeValues = this._episodeValues;
    if (phase === 'start') {
      // What was held back is the episode's first stretch.
      episodeValues.clear();
      this._held.forEach(held => episodeValues.push(held));
      episodeValues.push(x);
      this._held.clear();
    } else if (this._tracker.active) {
      episodeValues.push(x);
    } else if (phase === 'end') {
      if (ended!.endReason === 'accepted') {
        episodeValues.push(x);
        this._relearn();
      }
    } else if (this._holding()) {
      // A new streak (the other way) lets the previous one go.
      if (!this._cusum && this._tracker.streak === 1) this._release();
      const oldest = this._held.push(x);
      if (oldest !== undefined) this._baseline.add(oldest);
    } else {
      this._release();
      this._baseline.add(x);
    }
  }

  private _release(): void {
    this._held.forEach(held => this._baseline.add(held));
    this._held.clear();
  }

  /** The baseline becomes the episode's values (nothing is held back during one). */
  private _relearn(): void {
    this._baseline.replaceWith(this._episodeValues.toArray());
    this._cusum?.reset();
  }

  private _result(
    value: number,
    timestampMillis: number,
    ready: boolean,
    score: number,
    center: number,
    sigma: number,
    change?: { phase: EpisodePhase; ended?: Episode }
  ): AnomalyResult {
    const mean = this._log ? Math.exp(center) : center;
    const counted = this._counted;
    const direction: Direction | undefined =
      Math.abs(score) < this._threshold ? undefined : score > 0 ? 'up' : 'down';
    return {
      anomalous: this._tracker.active !== undefined,
      score,
      evidence: this._cusum ? this._cusum.evidence(counted) : 0,
      direction:
        counted === 'both' || counted === direction ? direction : undefined,
      mean,
      stddev: this._log ? mean * sigma : sigma,
      streak: this._cusum ? this._held.size : this._tracker.streak,
      ready,
      value,
      timestampMillis,
      phase: change?.phase,
      episode: change?.ended ?? this._tracker.active,
    };
  }
}

/** Which deviations count. */
export type Direction = 'up' | 'down';

/** How an episode ended. */
export type EpisodeEnd = 'cleared' | 'accepted';

/** An anomaly from its start to its end. */
export interface Episode {
  direction: Direction;
  /** Time of the first out-of-line observation of the streak that raised it. */
  startMillis: number;
  /** Score of largest magnitude seen during the episode (signed). */
  peakScore: number;
  /** Set once it ended. */
  endMillis?: number;
  endReason?: EpisodeEnd;
}

/** What one observation did: started or ended an episode, or neither. */
export type EpisodePhase = 'start' | 'end' | undefined;

export interface EpisodeRules {
  /** |score| at or above which an observation is out of line. */
  threshold: number;
  /** Out-of-line observations in a row, in one direction, that raise an episode. */
  consecutive: number;
  /** Observations in a row back within bounds that end it. */
  clearAfter: number;
  /** An episode this old ends as accepted: its level is the new normal. 0: at the next observation; Infinity: never. */
  acceptAfterMillis: number;
  /** The directions that count. */
  counted: Direction | 'both';
  /** Weight of the newest score in the smoothed score that holds an episode; 1: none. Default 0.3. */
  smoothing?: number;
  /** An episode is back within bounds under this share of the threshold. Default 0.75. */
  clearRatio?: number;
}

/**
 * Default weight of the newest score in the smoothed score an episode is
 * held by: ~6 observations of memory, so one quiet bucket in a noisy fault
 * does not end it, and a fault that stops is seen within a few.
 */
const SMOOTHING = 0.3;
/**
 * By default an episode is back within bounds when its smoothed score falls
 * under this share of the threshold (1.5σ at 2): lower, and a small count
 * such as calls in flight, whose normal values sit near 1σ, never clears.
 */
const CLEAR_RATIO = 0.75;

/**
 * The life of an anomaly, shared by every detector: raised when
 * `consecutive` scores in a row are out of line in one direction; held while
 * the scores (against a baseline the detector keeps frozen meanwhile) stay
 * out of line, smoothed so that one quiet observation in a noisy fault does
 * not end it; cleared when the smoothed score has been back under 3/4 of the
 * threshold for `clearAfter` observations (hysteresis: no chattering at the
 * boundary); or accepted as the new normal once `acceptAfterMillis` old.
 *
 * It also says what the detector may learn from: observations of a streak
 * that has not raised anything yet are held back, and let into the baseline
 * only if the streak breaks; nothing of an episode is.
 *
 * Every episode of the analyzer runs on it: anomalies (scores against a
 * baseline), the error rate (CUSUM evidence, raised at one score) and SLO
 * breaches (value / SLO, no smoothing, cleared at the first close back
 * under). After an accepted episode nothing is raised until a score is back
 * in line once: an accepted level is not re-raised at the next observation.
 */
export class EpisodeTracker {
  private readonly _rules: EpisodeRules;
  private readonly _smoothing: number;
  private readonly _clearRatio: number;
  private _armed = true;
  private _streak = 0;
  private _streakDirection: Direction | undefined;
  private _streakStart = 0;
  private _streakPeak = 0;
  private _episode: Episode | undefined;
  private _smoothed = 0;
  private _quiet = 0;

  constructor(rules: EpisodeRules) {
    this._rules = rules;
    this._smoothing = rules.smoothing ?? SMOOTHING;
    this._clearRatio = rules.clearRatio ?? CLEAR_RATIO;
  }

  /** The episode under way, if any. */
  get active(): Episode | undefined {
    return this._episode;
  }

  /** Out-of-line observations in a row so far (0 during an episode). */
  get streak(): number {
    return this._streak;
  }

  /** Whether observations are being held back from the baseline (a streak is under way). */
  get holding(): boolean {
    return this._streak > 0;
  }

  /** The direction a score counts in, if it is out of line. */
  outOfLine(score: number): Direction | undefined {
    if (!(Math.abs(score) >= this._rules.threshold)) return undefined;
    const direction: Direction = score > 0 ? 'up' : 'down';
    const counted = this._rules.counted;
    return counted === 'both' || counted === direction ? direction : undefined;
  }

  /**
   * Takes one scored observation. Returns what it did to the episode and,
   * when an episode ended, that episode.
   */
  update(
    score: number,
    timestampMillis: number
  ): { phase: EpisodePhase; ended?: Episode } {
    const episode = this._episode;
    if (episode !== undefined) {
      if (
        timestampMillis - episode.startMillis >=
        this._rules.acceptAfterMillis
      ) {
        return { phase: 'end', ended: this._end(timestampMillis, 'accepted') };
      }
      const signed = episode.direction === 'up' ? score : -score;
      this._smoothed += this._smoothing * (signed - this._smoothed);
      if (signed > Math.abs(episode.peakScore)) episode.peakScore = score;
      if (this._smoothed < this._clearRatio * this._rules.threshold)
        this._quiet++;
      else this._quiet = 0;
      if (this._quiet >= this._rules.clearAfter)
        return { phase: 'end', ended: this._end(timestampMillis, 'cleared') };
      return { phase: undefined };
    }
    const direction = this.outOfLine(score);
    if (direction === undefined || !this._armed) {
      this._armed ||= direction === undefined;
      this._streak = 0;
      this._streakDirection = undefined;
      return { phase: undefined };
    }
    if (direction === this._streakDirection) {
      this._streak++;
      if (Math.abs(score) > Math.abs(this._streakPeak))
        this._streakPeak = score;
    } else {
      this._streak = 1;
      this._streakDirection = direction;
      this._streakStart = timestampMillis;
      this._streakPeak = score;
    }
    if (this._streak < this._rules.consecutive) return { phase: undefined };
    this._episode = {
      direction,
      startMillis: this._streakStart,
      peakScore: this._streakPeak,
    };
    this._smoothed = Math.abs(this._streakPeak);
    this._quiet = 0;
    this._streak = 0;
    this._streakDirection = undefined;
    return { phase: 'start' };
  }

  /** Ends the episode under way as accepted (someone decided its level is normal). */
  accept(timestampMillis: number): Episode | undefined {
    return this._episode && this._end(timestampMillis, 'accepted');
  }

  reset(): void {
    this._armed = true;
    this._streak = 0;
    this._streakDirection = undefined;
    this._episode = undefined;
  }

  private _end(timestampMillis: number, reason: EpisodeEnd): Episode {
    const episode = this._episode!;
    episode.endMillis = timestampMillis;
    episode.endReason = reason;
    this._episode = undefined;
    this._armed = reason === 'cleared';
    return episode;
  }
}

import { RingBuffer } from '../window/RingBuffer';
import { Cusum } from './Cusum';
import { EpisodeTracker } from './EpisodeTracker';
import type { Episode, EpisodePhase, EpisodeRules } from './EpisodeTracker';

/** Calls the baseline must hold before an interval's errors are judged against it. */
const BASELINE_CALLS = 200;
/**
 * Failures the baseline rate starts from (a prior, added to the counted
 * ones): a rate learned from a few hundred calls leans high, never low, so
 * an episode frozen on it can always clear, and one error on a clean
 * service is no surprise.
 */
const PRIOR_FAILURES = 2;
/**
 * Failures the baseline rate must expect of an interval before it is judged:
 * fewer, and the count is mostly 0 or 1, whose z swings wildly. At a 1%
 * rate that is 100 calls: two seconds at 50 calls/s, twenty at 5.
 */
const MIN_EXPECTED_FAILURES = 1;
/** …unless it already holds this many failures: a burst is judged at once. */
const BURST_FAILURES = 3;
/**
 * CUSUM reference, in σ of one interval's z: only intervals more than one σ
 * out of line add evidence. With the decision interval below, stationary
 * traffic essentially never accumulates to an episode, while a rate that
 * keeps every interval ~2σ high (1% → 5% at 50 calls/s) raises one in ~6.
 */
const REFERENCE = 1;
/** Accumulated evidence (in σ) that raises an episode. */
const DECISION = 6;
/** Evidence is capped at the decision interval, so that a fault that stops is let go within seconds. */
const CAP = DECISION;

/** One interval's errors against the baseline rate. */
export interface ErrorRateResult {
  /** Continuity-corrected binomial z of the interval's failures. */
  score: number;
  /** The interval's failure rate. */
  rate: number;
  /** The baseline failure rate and the σ of an interval's rate at this volume. */
  baselineRate: number;
  stddev: number;
  phase: EpisodePhase;
  episode: Episode | undefined;
}

/**
 * Episodes of the failure rate. Errors are counts, not Gaussian: one failed
 * call among ten is a 10% interval, yet common at a 1% rate, and a rate four
 * points up at 50 calls/s is only ~2σ per second. So an interval is scored
 * by the binomial z of its failures against the baseline rate (continuity
 * correction, a prior of two failures), and the evidence is accumulated by a
 * two-sided CUSUM (Page 1954): S ← min(cap, max(0, S + |z| − 1)) per side.
 * S reaching 6 raises an episode; while it lasts the baseline (the last
 * `windowBuckets` normal intervals) is frozen, so a rate that stays up keeps
 * S up; S back under 4.5 for clearAfter intervals clears it.
 */
export class ErrorRateDetector {
  /** The baseline's intervals: [calls, failures]. */
  private readonly _intervals: RingBuffer<[number, number]>;
  private readonly _tracker: EpisodeTracker;
  private readonly _cusum = new Cusum(REFERENCE, CAP);
  private _totalCalls = 0;
  private _totalFailures = 0;
  /** Calls and failures gathered until an interval is large enough to judge. */
  private _pendingCalls = 0;
  private _pendingFailures = 0;
  /** Intervals that added evidence, held back from the baseline until it is spent (the oldest let in when full). */
  private readonly _held: RingBuffer<[number, number]>;

  constructor(windowBuckets: number, rules: EpisodeRules) {
    this._intervals = new RingBuffer(windowBuckets);
    this._held = new RingBuffer(windowBuckets);
    this._tracker = new EpisodeTracker({
      ...rules,
      threshold: DECISION,
      consecutive: 1,
    });
  }

  get episode(): Episode | undefined {
    return this._tracker.active;
  }

  /**
   * Takes one interval's calls; scores them once they (with those gathered
   * before) are enough to judge. Undefined meanwhile, and while the
   * baseline holds too few calls.
   */
  observe(
    newCalls: number,
    newFailures: number,
    nowMillis: number
  ): ErrorRateResult | undefined {
    if (this._totalCalls < BASELINE_CALLS) {
      this._learn(newCalls, newFailures);
      return undefined;
    }
    const baselineRate =
      (this._totalFailures + PRIOR_FAILURES) /
      (this._totalCalls + PRIOR_FAILURES);
    const calls = (this._pendingCalls += newCalls);
    const failures = (this._pendingFailures += newFailures);
    if (
      calls * baselineRate < MIN_EXPECTED_FAILURES &&
      failures < BURST_FAILURES
    )
      return undefined;
    this._pendingCalls = this._pendingFailures = 0;
    const expected = calls * baselineRate;
    const sigma = Math.sqrt(calls * baselineRate * (1 - baselineRate));
    const excess = failures - expected;
    const corrected = Math.sign(excess) * Math.max(0, Math.abs(excess) - 0.5);
    const score = corrected / sigma;
    const evidence = this._cusum.add(score);
    const tracker = this._tracker;
    const { phase, ended } = tracker.update(evidence, nowMillis);
    if (phase === 'end' && ended?.endReason === 'accepted') {
      this._forget(); // the new rate is learned from here on
    } else if (tracker.active || phase !== undefined) {
      this._held.clear();
    } else if (evidence !== 0) {
      // Evidence that lingers without ever raising is let in, oldest first.
      const oldest = this._held.push([calls, failures]);
      if (oldest) this._learn(...oldest);
    } else {
      this._release();
      this._learn(calls, failures);
    }
    return {
      score,
      rate: failures / calls,
      baselineRate,
      stddev: sigma / calls,
      phase,
      episode: ended ?? tracker.active,
    };
  }

  /** Ends the episode under way as accepted; the baseline starts over. */
  accept(nowMillis: number): Episode | undefined {
    const ended = this._tracker.accept(nowMillis);
    if (ended) this._forget();
    return ended;
  }

  private _release(): void {
    this._held.forEach(([calls, failures]) => this._learn(calls, failures));
    this._held.clear();
  }

  private _learn(calls: number, failures: number): void {
    const oldest = this._intervals.push([calls, failures]);
    this._totalCalls += calls - (oldest?.[0] ?? 0);
    this._totalFailures += failures - (oldest?.[1] ?? 0);
  }

  private _forget(): void {
    this._intervals.clear();
    this._totalCalls = 0;
    this._totalFailures = 0;
    this._cusum.reset();
    this._pendingCalls = this._pendingFailures = 0;
    this._held.clear();
  }
}

import { RingBuffer } from '../window/RingBuffer';

/** Settings of trip pattern detection. */
export interface TripPatternOptions {
  /** Intervals between trips needed to call tripping periodic. */
  periodicMinIntervals: number;
  /** Largest coefficient of variation (σ / mean) of those intervals for periodic. */
  periodicMaxVariation: number;
  /** The span transitions are counted over for flapping. */
  flapWindowMillis: number;
  /** Transitions in the span that raise flapping. */
  flapRaiseTransitions: number;
  /** Transitions in the span at or below which flapping clears (hysteresis). */
  flapClearTransitions: number;
}

/** What the trip history shows now. */
export interface TripPatternState {
  /** Trips in the last hour. */
  tripsPerHour: number;
  /** Whether recent intervals (at least periodicMinIntervals, up to twice that) are regular, and tripping goes on. */
  periodic: boolean;
  /** Mean of those intervals, NaN when there are too few. */
  periodMillis: number;
  /** Their coefficient of variation: ≈ 0 clockwork, ≈ 1 random (Poisson), NaN when too few. */
  regularity: number;
  flapping: boolean;
  /** State transitions within flapWindowMillis. */
  transitionsInWindow: number;
}

/** A change of pattern: periodic tripping or flapping starting or ending. */
export type PatternChange = {
  pattern: 'periodic' | 'flapping';
  active: boolean;
};

const HOUR = 3_600_000;
/** Trip times kept: an hour of trips for most breakers, flapping ones included. */
const TRIP_HISTORY = 256;

/**
 * Trip and transition timelines of one breaker: inter-trip regularity
 * (periodic once ≥ N intervals, judged on up to the last 2N, have a
 * coefficient of variation below a bound), flapping with separate raise and
 * clear levels (hysteresis), and trips per hour.
 */
export class TripPatterns {
  private readonly _options: TripPatternOptions;
  private readonly _trips = new RingBuffer<number>(TRIP_HISTORY);
  private _transitions: number[] = [];
  private _periodic = false;
  private _flapping = false;

  constructor(options: TripPatternOptions) {
    this._options = options;
  }

  recordTrip(timestampMillis: number): void {
    this._trips.push(timestampMillis);
  }

  recordTransition(timestampMillis: number): void {
    this._transitions.push(timestampMillis);
  }

  /** The state as of `nowMillis`, and the patterns that started or ended since the last call. */
  evaluate(nowMillis: number): {
    state: TripPatternState;
    changes: PatternChange[];
  } {
    const options = this._options;
    const windowStart = nowMillis - options.flapWindowMillis;
    this._transitions = this._transitions.filter(t => t > windowStart);
    const transitionsInWindow = this._transitions.length;

    const trips = this._trips.toArray();
    const tripsPerHour = trips.filter(t => t > nowMillis - HOUR).length;

    let periodMillis = NaN;
    let regularity = NaN;
    let periodic = false;
    const needed = options.periodicMinIntervals;
    if (trips.length > needed) {
      // Judge on up to twice the minimum: one random run of 5 looks regular
      // 1.2% of the time, so a long random history would be called periodic
      // by chance (16% of 20-trip Poisson sequences at 5, 2.3% at up to 10).
      const used = Math.min(trips.length - 1, 2 * needed);
      const recent = trips.slice(-(used + 1));
      const intervals = recent.slice(1).map((t, i) => t - recent[i]);
      periodMillis = intervals.reduce((a, b) => a + b, 0) / intervals.length;
      const variance =
        intervals.reduce((a, d) => a + (d - periodMillis) ** 2, 0) /
        intervals.length;
      regularity = periodMillis > 0 ? Math.sqrt(variance) / periodMillis : NaN;
      // Regular, and still going: no trip missed by more than half a period.
      const stale = nowMillis - recent[recent.length - 1] > 1.5 * periodMillis;
      periodic = regularity < options.periodicMaxVariation && !stale;
    }

    const flapping = this._flapping
      ? transitionsInWindow > options.flapClearTransitions
      : transitionsInWindow >= options.flapRaiseTransitions;

    const changes: PatternChange[] = [];
    if (periodic !== this._periodic)
      changes.push({ pattern: 'periodic', active: periodic });
    if (flapping !== this._flapping)
      changes.push({ pattern: 'flapping', active: flapping });
    this._periodic = periodic;
    this._flapping = flapping;
    return {
      state: {
        tripsPerHour,
        periodic,
        periodMillis,
        regularity,
        flapping,
        transitionsInWindow,
      },
      changes,
    };
  }
}

import { BreakerState } from './types';
import { RingBuffer } from './window/RingBuffer';
import type { BreakerTransitions, Transition } from './types';

/** Transitions kept with their time: enough to read a flapping episode. */
const RECENT = 32;

/**
 * A breaker's state changes: counts since it was attached (trips, recovery
 * attempts, recoveries) and the latest few with their times, in a fixed ring.
 */
export class TransitionLog {
  private _trips = 0;
  private _recoveryAttempts = 0;
  private _recoveries = 0;
  private readonly _recent = new RingBuffer<Transition>(RECENT);

  record(from: BreakerState, to: BreakerState, timestampMillis: number): void {
    if (to === BreakerState.OPEN) this._trips++;
    else if (to === BreakerState.HALF_OPEN) this._recoveryAttempts++;
    else if (to === BreakerState.CLOSED && from === BreakerState.HALF_OPEN)
      this._recoveries++;
    this._recent.push({ from, to, timestampMillis });
  }

  history(): BreakerTransitions {
    const recent = this._recent.toArray();
    return {
      trips: this._trips,
      recoveryAttempts: this._recoveryAttempts,
      recoveries: this._recoveries,
      recent,
    };
  }
}

import { TransitionLog } from './TransitionLog';
import { BreakerState } from './types';
import type { BreakerTransitions } from './types';

export const STATES: readonly BreakerState[] = Object.values(BreakerState);
const STATE_SET = new Set<string>(STATES);

/** A breaker's state over time: the current one and since when, time spent in each, transitions. */
export class StateTimeline {
  private _state: BreakerState;
  private _since: number;
  private readonly _millisIn = new Float64Array(STATES.length);
  private readonly _transitions = new TransitionLog();

  constructor(state: BreakerState, nowMillis: number) {
    this._state = state;
    this._since = nowMillis;
  }

  static isState(value: unknown): value is BreakerState {
    return STATE_SET.has(value as string);
  }

  get state(): BreakerState {
    return this._state;
  }

  get sinceMillis(): number {
    return this._since;
  }

  /** Moves to `state` at `nowMillis`; false when it is the state already. */
  enter(state: BreakerState, nowMillis: number): boolean {
    if (state === this._state) return false;
    this._millisIn[STATES.indexOf(this._state)] += nowMillis - this._since;
    this._transitions.record(this._state, state, nowMillis);
    this._state = state;
    this._since = nowMillis;
    return true;
  }

  secondsInState(nowMillis: number): Record<BreakerState, number> {
    const seconds = {} as Record<BreakerState, number>;
    STATES.forEach((state, i) => {
      const current = state === this._state ? nowMillis - this._since : 0;
      seconds[state] = (this._millisIn[i] + current) / 1000;
    });
    return seconds;
  }

  transitions(): BreakerTransitions {
    return this._transitions.history();
  }
}

/** What the downstream does wrong for a while. */
export type FaultKind = 'slow' | 'fail' | 'flap';

export interface Fault {
  /** The downstream route, which is also the name of the breaker in front of it. */
  route: string;
  kind: FaultKind;
  fromSeconds: number;
  toSeconds: number;
  description: string;
}

/** How one request to a route should go at a moment. */
export interface Behaviour {
  latencyFactor: number;
  failureProbability: number;
}

/** Seconds of normal traffic first: the analyzer's warm-up and baseline. */
export const WARM_UP_SECONDS = 15;
const FLAP_HALF_PERIOD_SECONDS = 3;
const NORMAL: Behaviour = { latencyFactor: 1, failureProbability: 0.005 };

/**
 * The scripted faults of a run: after the warm-up, payments slows down 5×,
 * then inventory fails 60% of its calls, then payments flaps (all calls
 * failing and all succeeding, alternately every 3 s). Placed in
 * proportion to the run's length, so shorter runs see the same story.
 */
export class FaultSchedule {
  readonly faults: readonly Fault[];

  constructor(durationSeconds: number) {
    const span = durationSeconds - WARM_UP_SECONDS;
    const at = (fraction: number) =>
      Math.round((WARM_UP_SECONDS + fraction * span) * 10) / 10;
    this.faults = [
      {
        route: 'payments',
        kind: 'slow',
        fromSeconds: at(0.05),
        toSeconds: at(0.3),
        description: 'payments 5× slower',
      },
      {
        route: 'inventory',
        kind: 'fail',
        fromSeconds: at(0.38),
        toSeconds: at(0.6),
        description: 'inventory fails 60% of calls',
      },
      {
        route: 'payments',
        kind: 'flap',
        fromSeconds: at(0.68),
        toSeconds: at(0.98),
        description: `payments flaps (down/up every ${FLAP_HALF_PERIOD_SECONDS} s)`,
      },
    ];
  }

  /** The fault on `route` at `seconds` into the run, if any. */
  faultAt(route: string, seconds: number): Fault | undefined {
    return this.faults.find(
      f =>
        f.route === route && seconds >= f.fromSeconds && seconds < f.toSeconds
    );
  }

  behaviourAt(route: string, seconds: number): Behaviour {
    const fault = this.faultAt(route, seconds);
    switch (fault?.kind) {
      case undefined:
        return NORMAL;
      case 'slow':
        return { ...NORMAL, latencyFactor: 5 };
      case 'fail':
        return { ...NORMAL, failureProbability: 0.6 };
      case 'flap': {
        const phase = Math.floor(
          (seconds - fault.fromSeconds) / FLAP_HALF_PERIOD_SECONDS
        );
        return phase % 2 === 0 ? { ...NORMAL, failureProbability: 1 } : NORMAL;
      }
    }
  }
}

import { CallOutcome } from '../src';
import type { BreakerRecorder } from '../src';

/** Calls a simulated downstream answers in one second. */
export interface Traffic {
  callsPerSecond: number;
  medianMillis: number;
  /** σ of log latency (lognormal around the median). */
  spread: number;
  errorRate: number;
}

export const STEADY: Traffic = {
  callsPerSecond: 50,
  medianMillis: 20,
  spread: 0.3,
  errorRate: 0.01,
};

/** Reports one second of `traffic` to `breaker`: lognormal latencies, random errors. */
export function oneSecondOf(
  traffic: Traffic,
  breaker: BreakerRecorder,
  random: () => number
): void {
  const calls = Math.round(traffic.callsPerSecond);
  for (let i = 0; i < calls; i++) {
    const z =
      Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    breaker.recordCall(
      random() < traffic.errorRate ? CallOutcome.FAILURE : CallOutcome.SUCCESS,
      traffic.medianMillis * Math.exp(traffic.spread * z)
    );
  }
}

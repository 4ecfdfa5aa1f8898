import { CallOutcome } from '../types';

/** Outcome → slot in the per-bucket counters. */
export const OUTCOMES: readonly CallOutcome[] = Object.values(CallOutcome);
export const OUTCOME_INDEX: Readonly<Record<string, number>> =
  Object.fromEntries(OUTCOMES.map((o, i) => [o, i]));
export const SUCCESS = OUTCOME_INDEX[CallOutcome.SUCCESS];
export const FAILURE = OUTCOME_INDEX[CallOutcome.FAILURE];
export const TIMEOUT = OUTCOME_INDEX[CallOutcome.TIMEOUT];
const CAPACITY = OUTCOME_INDEX[CallOutcome.CAPACITY];
/** Per-bucket tallies: the outcomes, then what is counted apart from them. */
export const FALLBACK = OUTCOMES.length;
export const HEALTH_CHECK_FAILED = OUTCOMES.length + 1;
export const TALLIES = OUTCOMES.length + 2;

/** Calls that ran and failed among tallies: rejected and ignored calls left out. */
export function callsOf(tallies: ArrayLike<number>): {
  ranCalls: number;
  failedCalls: number;
  failureRate: number;
} {
  const failed = tallies[FAILURE] + tallies[TIMEOUT] + tallies[CAPACITY];
  const ran = tallies[SUCCESS] + failed;
  return {
    ranCalls: ran,
    failedCalls: failed,
    failureRate: ran > 0 ? failed / ran : NaN,
  };
}

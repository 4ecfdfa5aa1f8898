import { OUTCOME_INDEX } from '../Breaker';
import type { Breaker, BreakerRecorder } from '../Breaker';
import type { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import { BreakerState, CallOutcome } from '../types';
import type { CockatielInstrumentOptions } from '../types';
import { attachOnce, requireCollector } from './attach';
import type { RegisterBreaker } from './attach';

interface Disposable {
  dispose(): void;
}
type CockatielEvent<T> = (listener: (value: T) => void) => Disposable;

/** The part of a cockatiel CircuitBreakerPolicy (3.2 or 4) this adapter uses. */
export interface CockatielLike {
  readonly onSuccess: CockatielEvent<{ duration: number }>;
  readonly onFailure: CockatielEvent<{ duration: number; handled: boolean }>;
  readonly onStateChange: CockatielEvent<number>;
  readonly state: number;
  /** cockatiel's IDefaultPolicyContext is `{ signal }` in 3.2 and 4. */
  execute<T>(
    fn: (context: { signal: AbortSignal }) => T | PromiseLike<T>,
    signal?: AbortSignal
  ): Promise<T>;
}

const SUCCESS = OUTCOME_INDEX[CallOutcome.SUCCESS];
const FAILURE = OUTCOME_INDEX[CallOutcome.FAILURE];
const IGNORED = OUTCOME_INDEX[CallOutcome.IGNORED];
const REJECTED = OUTCOME_INDEX[CallOutcome.REJECTED];
/** cockatiel's CircuitState: Closed, Open, HalfOpen, Isolated. */
const STATES = [
  BreakerState.CLOSED,
  BreakerState.OPEN,
  BreakerState.HALF_OPEN,
  BreakerState.ISOLATED,
];

/**
 * Reports a cockatiel CircuitBreakerPolicy (3.2 or 4) to a collector: calls
 * from onSuccess and onFailure (unhandled errors as ignored) with the
 * durations cockatiel measures, and states from onStateChange (which follows
 * each onBreak, onReset and onHalfOpen), Isolated included.
 *
 * cockatiel emits nothing for a call it rejects while open or isolated (it
 * throws BrokenCircuitError). With `countRejections`, this policy's
 * `execute` is wrapped on the instance to count them and the calls in
 * flight; dispose() removes the wrapper. Without it, rejections show only as
 * time in the open state. A cockatiel policy has no name: `name` is required.
 * Attaching a policy again returns the same recorder, or a new one once
 * the first was disposed.
 * @throws {TypeError} if `policy` is not a cockatiel circuit breaker, or `name` or `options.collector` is missing.
 */
export function instrumentCockatiel(
  policy: CockatielLike,
  options: CockatielInstrumentOptions & { collector: CircuitBreakerMetrics }
): BreakerRecorder {
  const collector = requireCollector('instrumentCockatiel', options);
  requireCockatiel(policy);
  if (typeof options.name !== 'string' || options.name.length === 0) {
    throw new TypeError(
      'instrumentCockatiel: options.name is required (a cockatiel policy has no name of its own)'
    );
  }
  return attachOnce(collector, policy, true, register =>
    connectCockatiel(
      policy,
      register,
      options as CockatielInstrumentOptions & { name: string }
    )
  )!;
}

/** @throws {TypeError} unless `policy` looks like a cockatiel CircuitBreakerPolicy. */
export function requireCockatiel(policy: CockatielLike): void {
  if (
    typeof policy?.onSuccess !== 'function' ||
    typeof policy.onFailure !== 'function' ||
    typeof policy.onStateChange !== 'function' ||
    typeof policy.execute !== 'function' ||
    !('state' in policy)
  ) {
    throw new TypeError(
      'instrumentCockatiel: expected a cockatiel CircuitBreakerPolicy (with onSuccess, onFailure, onStateChange, execute and state)'
    );
  }
}

/** Registers `policy` and subscribes to its events: its recorder. */
export function connectCockatiel(
  policy: CockatielLike,
  register: RegisterBreaker,
  options: CockatielInstrumentOptions & { name: string }
): Breaker {
  const probe = () => STATES[policy.state];
  const recorder = register(
    options.name,
    options.attributes ?? {},
    probe() ?? BreakerState.CLOSED,
    probe
  );
  const subscriptions = [
    policy.onSuccess(({ duration }) =>
      recorder.recordOutcome(SUCCESS, duration)
    ),
    policy.onFailure(({ duration, handled }) =>
      recorder.recordOutcome(handled ? FAILURE : IGNORED, duration)
    ),
    policy.onStateChange(state => {
      const mapped = STATES[state];
      if (mapped !== undefined) recorder.recordStateChange(mapped);
    }),
  ];
  recorder.onDispose(() => subscriptions.forEach(s => s.dispose()));
  if (options.countRejections) wrapExecute(policy, recorder);
  return recorder;
}

/** Calls `run` as one execution: in flight until it settles, counted rejected if the breaker refused it. */
export function trackExecution<T>(
  recorder: Breaker,
  run: () => Promise<T>
): Promise<T> {
  recorder.recordCallStart();
  let running: Promise<T>;
  try {
    running = run();
  } catch (error) {
    running = Promise.reject(error);
  }
  return running.catch((error: unknown) => {
    // BrokenCircuitError and IsolatedCircuitError carry this brand, across package copies.
    if (
      (error as { isBrokenCircuitError?: unknown } | null)
        ?.isBrokenCircuitError === true
    ) {
      recorder.recordOutcome(REJECTED, undefined);
    }
    throw error;
  });
}

function wrapExecute(policy: CockatielLike, recorder: Breaker): void {
  const original = policy.execute;
  const wrapped: CockatielLike['execute'] = <T>(
    fn: Parameters<CockatielLike['execute']>[0],
    signal?: AbortSignal
  ) =>
    trackExecution(
      recorder,
      () => original.call(policy, fn, signal) as Promise<T>
    );
  Object.defineProperty(policy, 'execute', {
    value: wrapped,
    configurable: true,
    writable: true,
  });
  recorder.onDispose(() => {
    if (policy.execute === wrapped)
      delete (policy as { execute?: unknown }).execute;
  });
}

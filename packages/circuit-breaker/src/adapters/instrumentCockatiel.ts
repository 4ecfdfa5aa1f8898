import { OUTCOME_INDEX } from '../Breaker';
import type { Breaker, BreakerRecorder } from '../Breaker';
import type { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import { BreakerState, CallOutcome } from '../types';
import type { CockatielInstrumentOptions } from '../types';
import { attachOnce, requireCollector } from './attach';
import type { RegisterBreaker } from './attach';

/** A cockatiel event: subscribing returns what unsubscribes. */
export type CockatielEvent<T> = (listener: (value: T) => void) => {
  dispose(): void;
};

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

type Execute = CockatielLike['execute'];
type Task = Parameters<Execute>[0];

/** The recorders already tracking a task: set on the task our wrapper passes on. */
const TRACKED_BY = Symbol('datapunk.trackedBy');
type TrackedTask = Task & { [TRACKED_BY]?: readonly Breaker[] };

/**
 * `policy.execute(fn, signal)` through `execute`, counted by `recorder` as
 * one call: in flight until it settles; if `fn` never ran (cockatiel emits
 * nothing then), rejected when the breaker refused it, else ignored
 * (cancelled while queued behind the half-open test). cockatiel calls
 * `this.execute` again for a call queued behind the half-open test; that
 * call, and one through a second wrapper for the same recorder, carries
 * the task tagged here and is passed straight through.
 */
export function executeTracked<T>(
  recorder: Breaker,
  policy: CockatielLike,
  execute: Execute,
  fn: Task,
  signal: AbortSignal | undefined
): Promise<T> {
  const trackedBy = (fn as TrackedTask)[TRACKED_BY];
  if (trackedBy?.includes(recorder))
    return execute.call(policy, fn, signal) as Promise<T>;
  let ran = false;
  const task: TrackedTask = context => {
    ran = true;
    return fn(context);
  };
  task[TRACKED_BY] = trackedBy ? [...trackedBy, recorder] : [recorder];
  recorder.recordCallStart();
  let running: Promise<T>;
  try {
    running = execute.call(policy, task, signal) as Promise<T>;
  } catch (error) {
    running = Promise.reject(error);
  }
  return running.catch((error: unknown) => {
    if (!ran) {
      // BrokenCircuitError and IsolatedCircuitError carry this brand, across package copies.
      const refused =
        (error as { isBrokenCircuitError?: unknown } | null)
          ?.isBrokenCircuitError === true;
      recorder.recordOutcome(refused ? REJECTED : IGNORED, undefined);
    }
    throw error;
  });
}

function wrapExecute(policy: CockatielLike, recorder: Breaker): void {
  const original = policy.execute;
  const wrapped: Execute = <T>(fn: Task, signal?: AbortSignal) =>
    executeTracked<T>(recorder, policy, original, fn, signal);
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

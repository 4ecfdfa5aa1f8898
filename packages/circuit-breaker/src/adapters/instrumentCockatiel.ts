import type { Attributes } from '@opentelemetry/api';
import { OUTCOME_INDEX } from '../Breaker';
import type { Breaker, BreakerRecorder } from '../Breaker';
import type { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import { UNREADABLE, errorText, readProperty } from '../readForeign';
import { BreakerState, CallOutcome } from '../types';
import type { CockatielInstrumentOptions } from '../types';
import { attachOnce, guarded, readAdapterOptions } from './attach';
import type { RegisterBreaker } from './attach';

const OWNER = 'instrumentCockatiel';

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
 * the first was disposed. Whatever a call is given or gives (a Proxy, an
 * object whose getters throw), it settles as it would without this adapter.
 * @throws {TypeError|RangeError} if `policy` is not a cockatiel circuit
 *   breaker, without `name` or `collector`, or for any other bad or unknown option.
 */
export function instrumentCockatiel(
  policy: CockatielLike,
  options: CockatielInstrumentOptions & { collector: CircuitBreakerMetrics }
): BreakerRecorder {
  const { collector, name, attributes, reader } = readAdapterOptions(
    OWNER,
    options,
    ['countRejections']
  );
  if (name === undefined) {
    throw new TypeError(
      `${OWNER}: option 'name' is required (a cockatiel policy has no name of its own)`
    );
  }
  const countRejections = reader.boolean('countRejections', false);
  requireCockatiel(policy);
  return attachOnce(collector, policy, true, register =>
    connectCockatiel(policy, register, { name, attributes, countRejections })
  )!;
}

/** @throws {TypeError} unless `policy` looks like a cockatiel CircuitBreakerPolicy. */
export function requireCockatiel(policy: CockatielLike): void {
  let hasState: boolean;
  try {
    hasState = 'state' in policy;
  } catch {
    hasState = false; // not an object, or a Proxy whose `has` throws
  }
  if (
    typeof readProperty(policy, 'onSuccess') !== 'function' ||
    typeof readProperty(policy, 'onFailure') !== 'function' ||
    typeof readProperty(policy, 'onStateChange') !== 'function' ||
    typeof readProperty(policy, 'execute') !== 'function' ||
    !hasState
  ) {
    throw new TypeError(
      `${OWNER}: expected a cockatiel CircuitBreakerPolicy (with onSuccess, onFailure, onStateChange, execute and state)`
    );
  }
}

/** Registers `policy` and subscribes to its events: its recorder. `attributes` are read already. */
export function connectCockatiel(
  policy: CockatielLike,
  register: RegisterBreaker,
  options: { name: unknown; attributes?: Attributes; countRejections?: boolean }
): Breaker {
  const probe = () => stateOf(policy.state);
  let state: BreakerState | undefined;
  try {
    state = probe();
  } catch {
    // reconciled at the first bucket close
  }
  const recorder = register(
    options.name as string,
    options.attributes ?? {},
    state ?? BreakerState.CLOSED,
    probe
  );
  try {
    subscribe(policy, recorder);
    if (options.countRejections) wrapExecute(policy, recorder);
  } catch (error) {
    recorder.dispose();
    throw new TypeError(
      `${OWNER}: could not subscribe to the policy's events: ${errorText(error)}`,
      { cause: error }
    );
  }
  return recorder;
}

function stateOf(state: unknown): BreakerState | undefined {
  return typeof state === 'number' ? STATES[state] : undefined;
}

/** The events' payloads are cockatiel's own; read defensively all the same. */
function subscribe(policy: CockatielLike, recorder: Breaker): void {
  const subscriptions = [
    policy.onSuccess(
      guarded(recorder, 'onSuccess', (payload: unknown) =>
        recorder.recordOutcome(SUCCESS, durationOf(payload, recorder))
      )
    ),
    policy.onFailure(
      guarded(recorder, 'onFailure', (payload: unknown) => {
        const handled = readProperty(payload, 'handled');
        if (handled === UNREADABLE)
          recorder.rejectUnreadable("an 'onFailure' event's handled");
        recorder.recordOutcome(
          handled === false ? IGNORED : FAILURE,
          durationOf(payload, recorder)
        );
      })
    ),
    policy.onStateChange(
      guarded(recorder, 'onStateChange', (state: unknown) => {
        const mapped = stateOf(state);
        if (mapped !== undefined) recorder.recordStateChange(mapped);
      })
    ),
  ];
  for (const subscription of subscriptions)
    recorder.onDispose(() => subscription.dispose());
}

function durationOf(payload: unknown, recorder: Breaker): number | undefined {
  const duration = readProperty(payload, 'duration');
  if (duration !== UNREADABLE) return duration as number;
  recorder.rejectUnreadable('an event duration');
  return undefined;
}

type Execute = CockatielLike['execute'];
type Task = Parameters<Execute>[0];

/**
 * The recorders already tracking each task our wrappers passed on (a
 * WeakMap, not a property: nothing is read from the caller's function).
 */
const trackedBy = new WeakMap<Task, readonly Breaker[]>();

/**
 * `policy.execute(fn, signal)` through `execute`, counted by `recorder` as
 * one call: in flight until it settles; if `fn` never ran (cockatiel emits
 * nothing then), rejected when the breaker refused it, else ignored
 * (cancelled while queued behind the half-open test). cockatiel calls
 * `this.execute` again for a call queued behind the half-open test; that
 * call, and one through a second wrapper for the same recorder, carries
 * the task made here and is passed straight through. The caller gets
 * exactly what cockatiel gives: the same value or error, and a task that
 * is no function (cockatiel's to refuse) is passed on untouched.
 */
export function executeTracked<T>(
  recorder: Breaker,
  policy: CockatielLike,
  execute: Execute,
  fn: Task,
  signal: AbortSignal | undefined
): Promise<T> {
  if (typeof fn !== 'function')
    return execute.call(policy, fn, signal) as Promise<T>;
  const tracked = trackedBy.get(fn) ?? [];
  if (tracked.includes(recorder))
    return execute.call(policy, fn, signal) as Promise<T>;
  let ran = false;
  const task: Task = context => {
    ran = true;
    return fn(context);
  };
  trackedBy.set(task, [...tracked, recorder]);
  recorder.recordCallStart();
  const ended = (error: unknown) => {
    if (ran) return; // counted from cockatiel's events
    // BrokenCircuitError and IsolatedCircuitError carry this brand, across package copies.
    const refused = readProperty(error, 'isBrokenCircuitError') === true;
    recorder.recordOutcome(refused ? REJECTED : IGNORED, undefined);
  };
  let running: Promise<T>;
  try {
    running = execute.call(policy, task, signal) as Promise<T>;
  } catch (error) {
    guarded(recorder, 'execute', ended)(error);
    throw error;
  }
  return running.then(undefined, (error: unknown) => {
    guarded(recorder, 'execute', ended)(error);
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

import type { Attributes } from '@opentelemetry/api';
import { RateLimitedDiag } from '@datapunk/otel-common';
import { OUTCOME_INDEX } from '../Breaker';
import type { Breaker, BreakerRecorder } from '../Breaker';
import type { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import { UNREADABLE, errorText, isError, readProperty } from '../readForeign';
import { BreakerState, CallOutcome } from '../types';
import type { InstrumentOptions } from '../types';
import { attachOnce, guarded, readAdapterOptions } from './attach';
import type { RegisterBreaker } from './attach';

const OWNER = 'instrumentOpossum';
const diag = new RateLimitedDiag(OWNER);

/** The part of an opossum CircuitBreaker (8–10) this adapter uses. */
export interface OpossumLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(
    event: string,
    listener: (...args: unknown[]) => void
  ): unknown;
  fire(...args: unknown[]): unknown;
  readonly name?: string;
  readonly group?: string;
  readonly opened: boolean;
  readonly halfOpen: boolean;
  readonly enabled: boolean;
}

const SUCCESS = OUTCOME_INDEX[CallOutcome.SUCCESS];
const FAILURE = OUTCOME_INDEX[CallOutcome.FAILURE];
const TIMEOUT = OUTCOME_INDEX[CallOutcome.TIMEOUT];
const CAPACITY = OUTCOME_INDEX[CallOutcome.CAPACITY];
const REJECTED = OUTCOME_INDEX[CallOutcome.REJECTED];
const IGNORED = OUTCOME_INDEX[CallOutcome.IGNORED];
/** Longest name taken from opossum; a longer one is no usable name. */
const MAX_NAME_LENGTH = 256;

/**
 * Reports an opossum CircuitBreaker (8, 9 or 10) to a collector, from its
 * events: every call counted once by how it ended (opossum emits `timeout`
 * and `semaphoreLocked` followed by `failure` for the same call: the
 * failure's code says which it was), errors its `errorFilter` passes as
 * ignored, cache hits as successes, fallbacks and failed health checks
 * apart, and state changes.
 * Listeners are added by name and removed on dispose() or when the breaker
 * shuts down (once the event under way has reached them all). Attaching the same breaker twice returns the first recorder.
 * Whatever the breaker's action returns or throws (a Proxy, an object whose
 * getters throw), the call settles as it would without this adapter: what
 * cannot be read is counted in the collector's `rejectedInputs`.
 * @throws {TypeError|RangeError} if `breaker` is not an opossum breaker, or
 *   for a missing collector or any other bad or unknown option.
 */
export function instrumentOpossum(
  breaker: OpossumLike,
  options: InstrumentOptions & { collector: CircuitBreakerMetrics }
): BreakerRecorder {
  const { collector, name, attributes } = readAdapterOptions(OWNER, options);
  requireOpossum(breaker);
  return attachOnce(collector, breaker, true, register =>
    connectOpossum(breaker, register, { name, attributes })
  )!;
}

/** @throws {TypeError} unless `breaker` looks like an opossum CircuitBreaker. */
export function requireOpossum(breaker: OpossumLike): void {
  if (
    typeof readProperty(breaker, 'on') !== 'function' ||
    typeof readProperty(breaker, 'removeListener') !== 'function' ||
    typeof readProperty(breaker, 'fire') !== 'function' ||
    typeof readProperty(breaker, 'opened') !== 'boolean'
  ) {
    throw new TypeError(
      `${OWNER}: expected an opossum CircuitBreaker (with on, removeListener, fire and opened)`
    );
  }
}

/**
 * Registers `breaker` and listens to its events: its recorder. `name`
 * undefined takes opossum's; `attributes` are read already.
 */
export function connectOpossum(
  breaker: OpossumLike,
  register: RegisterBreaker,
  options: { name?: unknown; attributes?: Attributes }
): Breaker {
  const probe = () => stateOf(breaker);
  const name = options.name ?? nameOf(breaker);
  // opossum's group defaults to the breaker's own name: not a group then.
  const group = readProperty(breaker, 'group');
  const attributes: Attributes = {
    ...(typeof group === 'string' &&
    group.length > 0 &&
    group !== readProperty(breaker, 'name') &&
    group !== name
      ? { 'circuit_breaker.group': group }
      : {}),
    ...options.attributes,
  };
  let state: BreakerState;
  try {
    state = probe();
  } catch {
    state = BreakerState.CLOSED; // reconciled at the first bucket close
  }
  const recorder = register(name as string, attributes, state, probe);
  try {
    listen(breaker, recorder);
  } catch (error) {
    recorder.dispose();
    throw new TypeError(
      `${OWNER}: could not listen to the breaker's events: ${errorText(error)}`,
      { cause: error }
    );
  }
  return recorder;
}

/** opossum names a breaker of an anonymous action with a random UUID. */
const RANDOM_NAME =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * The breaker's own name, unless opossum made one up: a random UUID would
 * make new series at every restart, so such a breaker is 'opossum' (then
 * 'opossum#2'…, in the order they are attached), which is reported once.
 * So is a breaker whose name is no usable string.
 */
function nameOf(breaker: OpossumLike): string {
  const name = readProperty(breaker, 'name');
  if (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= MAX_NAME_LENGTH &&
    !RANDOM_NAME.test(name)
  )
    return name;
  diag.warn(
    'unnamed_opossum',
    `an opossum breaker has no name (its action is anonymous) or none usable: reported as 'opossum'; give it options.name so that its series are the same after a restart`
  );
  return 'opossum';
}

function stateOf(breaker: OpossumLike): BreakerState {
  if (!breaker.enabled) return BreakerState.DISABLED;
  if (breaker.opened) return BreakerState.OPEN;
  if (breaker.halfOpen) return BreakerState.HALF_OPEN;
  return BreakerState.CLOSED;
}

/**
 * Listens to `breaker` for `recorder`. The arguments of an event are the
 * action's own result or error: read only where the outcome depends on
 * them (an error's `code`, whether a success carries an Error), defensively.
 */
function listen(breaker: OpossumLike, recorder: Breaker): void {
  const listeners: Record<string, (...args: unknown[]) => void> = {
    fire: () => recorder.recordCallStart(),
    success: (result, latency) => {
      const error = isError(result);
      if (error === UNREADABLE)
        recorder.rejectUnreadable("a 'success' event's result");
      recorder.recordOutcome(
        error === true ? IGNORED : SUCCESS,
        latency as number
      );
    },
    failure: (error, latency) => {
      const code = readProperty(error, 'code');
      // opossum's own errors (timeout, capacity) are plain Errors: one that
      // cannot be read is the action's, a failure.
      if (code === UNREADABLE)
        recorder.rejectUnreadable("a 'failure' event's error");
      // A capacity refusal never ran: its 0 ms is not a latency.
      if (code === 'ESEMLOCKED') recorder.recordOutcome(CAPACITY, undefined);
      else
        recorder.recordOutcome(
          code === 'ETIMEDOUT' ? TIMEOUT : FAILURE,
          latency as number
        );
    },
    reject: () => recorder.recordOutcome(REJECTED, undefined),
    cacheHit: () => recorder.recordOutcome(SUCCESS, undefined),
    coalesceCacheHit: () => recorder.recordOutcome(SUCCESS, undefined),
    fallback: () => recorder.recordFallback(),
    healthCheckFailed: () => recorder.recordHealthCheckFailure(),
    open: () => recorder.recordStateChange(BreakerState.OPEN),
    halfOpen: () => recorder.recordStateChange(BreakerState.HALF_OPEN),
    close: () => recorder.recordStateChange(BreakerState.CLOSED),
    // Listeners after ours in the emit under way (a `fallback` whose
    // earlier listener shut the breaker down) still report what happened.
    shutdown: () =>
      queueMicrotask(guarded(recorder, 'shutdown', () => recorder.dispose())),
  };
  for (const [event, listener] of Object.entries(listeners)) {
    const own = guarded(recorder, event, listener);
    recorder.onDispose(() => breaker.removeListener(event, own));
    breaker.on(event, own);
  }
}

import type { Attributes } from '@opentelemetry/api';
import { OUTCOME_INDEX } from '../Breaker';
import type { Breaker, BreakerRecorder } from '../Breaker';
import type { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import { BreakerState, CallOutcome } from '../types';
import type { InstrumentOptions } from '../types';
import { RateLimitedDiag } from '@datapunk/otel-common';
import { attachOnce, requireCollector } from './attach';
import type { RegisterBreaker } from './attach';

const diag = new RateLimitedDiag('instrumentOpossum');

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

/**
 * Reports an opossum CircuitBreaker (8, 9 or 10) to a collector, from its
 * events: every call counted once by how it ended (opossum emits `timeout`
 * and `semaphoreLocked` followed by `failure` for the same call: the
 * failure's code says which it was), errors its `errorFilter` passes as
 * ignored, cache hits as successes, fallbacks and failed health checks
 * apart, and state changes.
 * Listeners are added by name and removed on dispose() or when the breaker
 * shuts down (once the event under way has reached them all). Attaching the same breaker twice returns the first recorder.
 * @throws {TypeError} if `breaker` is not an opossum breaker or `options.collector` is missing.
 */
export function instrumentOpossum(
  breaker: OpossumLike,
  options: InstrumentOptions & { collector: CircuitBreakerMetrics }
): BreakerRecorder {
  const collector = requireCollector('instrumentOpossum', options);
  requireOpossum(breaker);
  return attachOnce(collector, breaker, true, register =>
    connectOpossum(breaker, register, options)
  )!;
}

/** @throws {TypeError} unless `breaker` looks like an opossum CircuitBreaker. */
export function requireOpossum(breaker: OpossumLike): void {
  if (
    typeof breaker?.on !== 'function' ||
    typeof breaker.removeListener !== 'function' ||
    typeof breaker.fire !== 'function' ||
    typeof breaker.opened !== 'boolean'
  ) {
    throw new TypeError(
      'instrumentOpossum: expected an opossum CircuitBreaker (with on, removeListener, fire and opened)'
    );
  }
}

/** Registers `breaker` and listens to its events: its recorder. */
export function connectOpossum(
  breaker: OpossumLike,
  register: RegisterBreaker,
  options: InstrumentOptions
): Breaker {
  const probe = () => stateOf(breaker);
  const name = options.name ?? nameOf(breaker);
  // opossum's group defaults to the breaker's own name: not a group then.
  const group = breaker.group;
  const attributes: Attributes = {
    ...(group && group !== breaker.name && group !== name
      ? { 'circuit_breaker.group': group }
      : {}),
    ...options.attributes,
  };
  const recorder = register(name, attributes, probe(), probe);
  listen(breaker, recorder);
  return recorder;
}

/** opossum names a breaker of an anonymous action with a random UUID. */
const RANDOM_NAME =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * The breaker's own name, unless opossum made one up: a random UUID would
 * make new series at every restart, so such a breaker is 'opossum' (then
 * 'opossum#2'…, in the order they are attached), which is reported once.
 */
function nameOf(breaker: OpossumLike): string {
  const name = breaker.name;
  if (name && !RANDOM_NAME.test(name)) return name;
  diag.warn(
    'unnamed_opossum',
    `an opossum breaker has no name (its action is anonymous): reported as 'opossum'; give it options.name so that its series are the same after a restart`
  );
  return 'opossum';
}

function stateOf(breaker: OpossumLike): BreakerState {
  if (!breaker.enabled) return BreakerState.DISABLED;
  if (breaker.opened) return BreakerState.OPEN;
  if (breaker.halfOpen) return BreakerState.HALF_OPEN;
  return BreakerState.CLOSED;
}

function listen(breaker: OpossumLike, recorder: Breaker): void {
  const errorCode = (error: unknown) =>
    (error as { code?: unknown } | undefined)?.code;
  const listeners: Record<string, (...args: unknown[]) => void> = {
    fire: () => recorder.recordCallStart(),
    success: (result, latency) =>
      recorder.recordOutcome(
        result instanceof Error ? IGNORED : SUCCESS,
        latency as number
      ),
    failure: (error, latency) => {
      const code = errorCode(error);
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
    shutdown: () => queueMicrotask(() => recorder.dispose()),
  };
  for (const [event, listener] of Object.entries(listeners))
    breaker.on(event, listener);
  recorder.onDispose(() => {
    for (const [event, listener] of Object.entries(listeners))
      breaker.removeListener(event, listener);
  });
}

import type { Attributes } from '@opentelemetry/api';
import type { Breaker, StateProbe } from '../Breaker';
import { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import type { BreakerState } from '../types';

/** Per collector, the recorder each library object was attached to. */
const attached = new WeakMap<CircuitBreakerMetrics, WeakMap<object, Breaker>>();

/** The collector an adapter's options name. */
export function requireCollector(
  owner: string,
  options: { collector?: unknown } | undefined
): CircuitBreakerMetrics {
  const collector = options?.collector;
  if (!(collector instanceof CircuitBreakerMetrics)) {
    throw new TypeError(
      `${owner}: options.collector must be a CircuitBreakerMetrics`
    );
  }
  return collector;
}

/**
 * The one place a library object is attached to a collector: the first time
 * `attach` makes its recorder; afterwards the same recorder is returned.
 * Once that recorder is disposed (the breaker shut down, or its user
 * disposed it), an explicit call (`again`) attaches anew, while an
 * automatic one (an instrumentation's wrapper) gets undefined: a shut-down
 * breaker is never attached behind its user's back.
 */
export function attachOnce(
  collector: CircuitBreakerMetrics,
  target: object,
  again: boolean,
  attach: (register: RegisterBreaker) => Breaker
): Breaker | undefined {
  let byTarget = attached.get(collector);
  if (byTarget === undefined) {
    byTarget = new WeakMap();
    attached.set(collector, byTarget);
  }
  const existing = byTarget.get(target);
  if (existing !== undefined && (!existing.disposed || !again))
    return existing.disposed ? undefined : existing;
  const recorder = attach((name, attributes, state, probe) =>
    collector['_attach'](name, attributes, state, probe)
  );
  byTarget.set(target, recorder);
  return recorder;
}

/** Registers a library's breaker: its name, attributes, state and a probe of its state. */
export type RegisterBreaker = (
  name: string,
  attributes: Attributes,
  state: BreakerState,
  probe: StateProbe
) => Breaker;

import type { Attributes } from '@opentelemetry/api';
import { OptionReader, isPlainObject } from '@datapunk/otel-common';
import type { Breaker, StateProbe } from '../Breaker';
import { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import { copyOptions } from '../options';
import type { BreakerState } from '../types';

/** Per collector, the recorder each library object was attached to. */
const attached = new WeakMap<CircuitBreakerMetrics, WeakMap<object, Breaker>>();

/** Whether `value` is a collector; false for a Proxy whose traps throw. */
export function isCollector(value: unknown): value is CircuitBreakerMetrics {
  try {
    return value instanceof CircuitBreakerMetrics;
  } catch {
    return false;
  }
}

/** The options of instrumentOpossum and instrumentCockatiel, read and checked. */
export interface AdapterOptions {
  collector: CircuitBreakerMetrics;
  /** Undefined: the library's own name, where it has one. */
  name: string | undefined;
  /** Read and bounded by the collector's limits. */
  attributes: Attributes;
  /** For the options only one adapter has. */
  reader: OptionReader;
}

/**
 * Reads an adapter's options (`collector`, `name`, `attributes` and the
 * adapter's own `more`) from one copy of them.
 * @throws {TypeError|RangeError} naming the option, for an unknown option
 *   (`metrics`, the name `collector` once had, with that hint) or a bad value.
 */
export function readAdapterOptions(
  owner: string,
  options: unknown,
  more: readonly string[] = []
): AdapterOptions {
  const copy = copyOptions(owner, options);
  if (isPlainObject(copy) && 'metrics' in copy && !('collector' in copy)) {
    throw new TypeError(
      `${owner}: option 'metrics' is now 'collector' (a CircuitBreakerMetrics)`
    );
  }
  const reader = new OptionReader(owner, copy, [
    'collector',
    'name',
    'attributes',
    ...more,
  ]);
  const collector = reader.raw('collector');
  if (!isCollector(collector))
    return reader.failType('collector', 'a CircuitBreakerMetrics', collector);
  return {
    collector,
    name: reader.raw('name') == null ? undefined : reader.string('name'),
    attributes: collector['_readAttributes'](reader),
    reader,
  };
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

/**
 * `listener` as a library's event listener: whatever it meets (a getter or
 * Proxy trap that throws, a diag logger that throws), nothing escapes into
 * the library's emit, which would turn the caller's call into another
 * outcome (opossum rejects, cockatiel counts a success as a failure).
 */
export function guarded<A extends unknown[]>(
  recorder: Breaker,
  event: string,
  listener: (...args: A) => void
): (...args: A) => void {
  return (...args) => {
    try {
      listener(...args);
    } catch (error) {
      try {
        recorder.rejectUnreadable(`a '${event}' event`, error);
      } catch {
        // Only a diag logger of the host's that throws gets here.
      }
    }
  };
}

import type { Breaker } from '../Breaker';
import { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';

/** Per collector, the recorder of each library object already attached. */
const attached = new WeakMap<CircuitBreakerMetrics, WeakMap<object, Breaker>>();

/** The collector of an adapter's options. */
export function requireCollector(
  owner: string,
  options: { metrics?: unknown } | undefined
): CircuitBreakerMetrics {
  const metrics = options?.metrics;
  if (!(metrics instanceof CircuitBreakerMetrics)) {
    throw new TypeError(
      `${owner}: options.metrics must be a CircuitBreakerMetrics`
    );
  }
  return metrics;
}

/**
 * The recorder of `target` in `metrics`: made by `attach` the first time,
 * the same one afterwards (until it is disposed).
 */
export function attachOnce(
  metrics: CircuitBreakerMetrics,
  target: object,
  attach: () => Breaker
): Breaker {
  let byTarget = attached.get(metrics);
  if (byTarget === undefined) {
    byTarget = new WeakMap();
    attached.set(metrics, byTarget);
  }
  const existing = byTarget.get(target);
  if (existing !== undefined && !existing.disposed) return existing;
  const recorder = attach();
  byTarget.set(target, recorder);
  return recorder;
}

import { describeValue } from '@datapunk/otel-common';

/** Starts timing on a monotonic clock; the stop() returned records once and returns seconds. */
export function startTimer(record: (seconds: number) => void): () => number {
  const start = performance.now();
  let elapsed: number | undefined;
  return () => {
    if (elapsed === undefined) {
      elapsed = (performance.now() - start) / 1000;
      record(elapsed);
    }
    return elapsed;
  };
}

/**
 * Times `fn`, sync or until its promise settles, and records the seconds;
 * the result (or error) is `fn`'s own.
 * @throws {TypeError} when `fn` is not a function (there is nothing to run).
 */
export function time<T>(
  owner: string,
  fn: () => T,
  record: (seconds: number) => void
): T {
  if (typeof fn !== 'function')
    throw new TypeError(
      `${owner}.time() needs a function to time, got ${describeValue(fn)}`
    );
  const stop = startTimer(record);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    stop();
    throw error;
  }
  if (isThenable(result)) {
    return result.then(
      value => (stop(), value),
      error => {
        stop();
        throw error;
      }
    ) as T;
  }
  stop();
  return result;
}

/** Whether `value` is a thenable; a `then` that throws when read makes it a plain value. */
function isThenable<T>(value: T): value is T & PromiseLike<Awaited<T>> {
  try {
    return typeof (value as { then?: unknown } | null)?.then === 'function';
  } catch {
    return false;
  }
}

import { describeValue } from '@datapunk/otel-common';

/**
 * Reading values that come from the host or a breaker library (errors,
 * results, event payloads, the breaker object itself): any of them may be a
 * Proxy whose traps throw or have a throwing getter, and nothing read here
 * may throw into the library's call under way. Only what is needed is
 * read, once.
 */

/** What a read gives when the value threw. */
export const UNREADABLE: unique symbol = Symbol('unreadable');
export type Unreadable = typeof UNREADABLE;

/** `value[key]`; undefined for a primitive or null; UNREADABLE when the read throws. */
export function readProperty(
  value: unknown,
  key: PropertyKey
): unknown | Unreadable {
  if (
    value === null ||
    (typeof value !== 'object' && typeof value !== 'function')
  )
    return undefined;
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

/** Whether `value` is an Error by its prototype chain; UNREADABLE when a Proxy trap throws. */
export function isError(value: unknown): boolean | Unreadable {
  if (value === null || typeof value !== 'object') return false;
  try {
    return value instanceof Error;
  } catch {
    return UNREADABLE;
  }
}

/** A short text of a thrown value, for a diag message; never throws. */
export function errorText(error: unknown): string {
  if (isError(error) === true) {
    const message = readProperty(error, 'message');
    if (typeof message === 'string')
      return message.length > 200 ? `${message.slice(0, 200)}…` : message;
  }
  return describeValue(error);
}

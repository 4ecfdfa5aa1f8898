import type { Attributes } from '@opentelemetry/api';
import { OptionReader, describeValue } from '@datapunk/otel-common';
import type { AttributeReader } from '@datapunk/otel-common';
import type { SyncInstrument } from '../provider/SyncInstrument';

/** Where a rejected measurement is counted and reported. */
export type Reject = (reason: string, message: string) => void;

/** One instrument's values: recorded with attributes, or bound to a set. */
export interface Sink {
  record(value: unknown, attributes: unknown): void;
  /** @throws {TypeError} for attributes that are no valid attributes object. */
  bind(attributes: unknown): BoundSink;
}

/** A sink bound to one attribute set. */
export interface BoundSink {
  /** Records a value (checked: a bad one is rejected and counted). */
  record(value: number): void;
}

/**
 * Into the store of our provider (or a reader), through its own
 * instrument: it checks and counts (in the store's self-metrics) what it
 * rejects; the facade counts that it did.
 */
export function directSink(
  owner: string,
  instrument: SyncInstrument,
  counted: () => void
): Sink {
  return {
    record: (value, attributes) => {
      if (!instrument.tryRecord(value, attributes)) counted();
    },
    // The instrument's own handle: one object per bound set.
    bind: attributes => instrument.bind(checkBound(owner, attributes), counted),
  };
}

/**
 * Through any OpenTelemetry meter: values and attributes checked here,
 * since an SDK may throw on some (a gauge given null attributes did).
 */
export function apiSink(
  owner: string,
  record: (value: number, attributes: Attributes | undefined) => void,
  nonNegative: boolean,
  reader: AttributeReader,
  reject: Reject,
  dropped: (reason: string, count: number) => void
): Sink {
  const checked = (value: unknown): value is number => {
    if (
      typeof value === 'number' &&
      value - value === 0 &&
      (value >= 0 || !nonNegative)
    )
      return true;
    reject(
      typeof value !== 'number'
        ? 'not_a_number'
        : value - value !== 0
          ? 'not_finite'
          : 'negative',
      `got ${describeValue(value)}`
    );
    return false;
  };
  const send = (value: number, attributes: Attributes | undefined) => {
    try {
      record(value, attributes);
    } catch (error) {
      reject('record_failed', describeError(error));
    }
  };
  return {
    record: (value, attributes) => {
      if (!checked(value)) return;
      if (attributes === undefined || attributes === null) {
        send(value, undefined);
        return;
      }
      const read = reader.read(attributes);
      if (read === undefined) {
        reject(
          'invalid_attributes',
          `got ${describeValue(attributes)} as attributes`
        );
        return;
      }
      dropped('invalid', read.invalid);
      dropped('too_long', read.truncated);
      dropped('over_limit', read.dropped);
      send(value, read.attributes);
    },
    bind: attributes => {
      const given = checkBound(owner, attributes);
      const own =
        given === undefined ? undefined : reader.read(given)!.attributes;
      return {
        record: value => {
          if (checked(value)) send(value, own);
        },
      };
    },
  };
}

/**
 * A bound handle's attributes: absent, or an attributes object whose every
 * value the API allows.
 * @throws {TypeError} naming the instrument and the attribute.
 */
function checkBound(
  owner: string,
  attributes: unknown
): Attributes | undefined {
  if (attributes === undefined) return undefined;
  return new OptionReader(`${owner}.bind()`, { attributes }, [
    'attributes',
  ]).attributes('attributes');
}

function describeError(error: unknown): string {
  try {
    return String(error);
  } catch {
    return 'an unprintable error';
  }
}

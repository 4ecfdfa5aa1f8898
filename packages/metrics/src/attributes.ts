import type { Attributes } from '@opentelemetry/api';
import type { IAttributesProcessor } from '@opentelemetry/sdk-metrics';
import { AttributeReader, OptionReader } from '@datapunk/otel-common';
import type { AttributeBounds, AttributeReading } from '@datapunk/otel-common';
import { DEFAULTS } from './options';

/** The attribute every folded-in series carries, as in the SDK. */
export const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({
  'otel.metric.overflow': true,
});

/** Limits on each attribute set; the reader's `limits` take the same names. */
export interface AttributeLimits {
  /** Attributes kept per set: the first N keys in sorted order. Default 32. */
  maxAttributesPerSeries?: number;
  /** Longest string value kept, in UTF-16 units; longer ones are cut. Default 1024. */
  maxAttributeValueLength?: number;
  /** Estimated bytes of one set's keys and values; attributes past it are dropped. Default 16384. */
  maxAttributeBytesPerSeries?: number;
}

/**
 * Reads the attribute sets data arrives with, under the limits, caching the
 * result per attributes object, so a set the SDK hands over again costs one
 * WeakMap lookup. A value that is no attributes object counts as none.
 */
export class AttributeLimiter {
  private readonly _reader: AttributeReader;
  private readonly _empty: AttributeReading;
  private readonly _cache = new WeakMap<object, AttributeReading>();

  constructor(bounds: AttributeBounds) {
    this._reader = new AttributeReader(bounds);
    this._empty = this._reader.read(undefined)!;
  }

  limit(attributes: unknown): AttributeReading {
    if (typeof attributes !== 'object' || attributes === null)
      return this._empty;
    let limited = this._cache.get(attributes);
    if (limited === undefined) {
      limited = this._reader.read(attributes) ?? this._empty;
      this._cache.set(attributes, limited);
    }
    return limited;
  }
}

/**
 * An `IAttributesProcessor` applying the same attribute rules and limits
 * before the SDK hashes a measurement's attributes, for a View's
 * `attributesProcessors`: invalid values (nested objects, BigInts…) are
 * dropped, long ones cut, sets bounded. Valid sets within the limits pass
 * through untouched.
 * @throws {TypeError|RangeError} for invalid limits.
 */
export function createAttributeLimitProcessor(
  limits: AttributeLimits = {}
): IAttributesProcessor {
  const options = new OptionReader('createAttributeLimitProcessor', limits, [
    'maxAttributesPerSeries',
    'maxAttributeValueLength',
    'maxAttributeBytesPerSeries',
  ]);
  const reader = new AttributeReader({
    maxAttributesPerSeries: options.integer(
      'maxAttributesPerSeries',
      DEFAULTS.maxAttributesPerSeries,
      { min: 1 }
    ),
    maxAttributeValueLength: options.integer(
      'maxAttributeValueLength',
      DEFAULTS.maxAttributeValueLength,
      { min: 1 }
    ),
    maxAttributeBytesPerSeries: options.integer(
      'maxAttributeBytesPerSeries',
      DEFAULTS.maxAttributeBytesPerSeries,
      { min: 64 }
    ),
  });
  return {
    process(incoming: Attributes): Attributes {
      const read = reader.read(incoming);
      if (read === undefined) return {};
      return read.invalid + read.truncated + read.dropped === 0
        ? incoming
        : read.attributes;
    },
  };
}

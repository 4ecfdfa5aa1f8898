import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { IAttributesProcessor } from '@opentelemetry/sdk-metrics';
import { OptionReader } from '@datapunk/otel-common';
import { DEFAULTS } from './options';

/**
 * Longest attribute key kept. Keys come from instrumentation code, so this
 * only guards against hostile or broken input; it is not configurable.
 */
export const MAX_ATTRIBUTE_KEY_LENGTH = 256;

/** The attribute every folded-in series carries, as in the SDK. */
export const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({
  'otel.metric.overflow': true,
});

const NO_ATTRIBUTES: Attributes = Object.freeze({});

/** Limits on each attribute set; the reader's `limits` take the same names. */
export interface AttributeLimits {
  /** Attributes kept per set: the first N keys in sorted order. Default 32. */
  maxAttributesPerSeries?: number;
  /** Longest string value kept, in UTF-16 units; longer ones are cut. Default 1024. */
  maxAttributeValueLength?: number;
}

type ResolvedAttributeLimits = Required<AttributeLimits>;

/** An attribute set after the limits, with its series key. */
export interface LimitedAttributes {
  attributes: Attributes;
  /** A stable key: equal for equal sets whatever their key order. */
  key: string;
  /** Keys dropped beyond maxAttributesPerSeries. */
  droppedKeys: number;
  /** String values (or array elements) cut to maxAttributeValueLength. */
  truncatedValues: number;
}

/**
 * Applies the attribute limits deterministically: the first N keys in sorted
 * order are kept, longer strings are cut (keys at MAX_ATTRIBUTE_KEY_LENGTH). Results are cached per attributes
 * object, so a set the SDK hands over again costs one WeakMap lookup.
 */
export class AttributeLimiter {
  private readonly _limits: ResolvedAttributeLimits;
  private readonly _cache = new WeakMap<Attributes, LimitedAttributes>();

  constructor(limits: ResolvedAttributeLimits) {
    this._limits = limits;
  }

  limit(attributes: Attributes): LimitedAttributes {
    // The SDK passes on whatever the caller gave: a string or number would
    // break the WeakMap and mean nothing as attributes, so it counts as none.
    if (typeof attributes !== 'object' || attributes === null)
      return this.limit(NO_ATTRIBUTES);
    let limited = this._cache.get(attributes);
    if (limited === undefined) {
      limited = limitAttributes(attributes, this._limits);
      this._cache.set(attributes, limited);
    }
    return limited;
  }
}

function limitAttributes(
  attributes: Attributes,
  limits: ResolvedAttributeLimits
): LimitedAttributes {
  const keys = Object.keys(attributes).sort();
  const kept = keys.slice(0, limits.maxAttributesPerSeries);
  let truncatedValues = 0;
  const entries: [string, AttributeValue][] = [];
  for (const key of kept) {
    const value = attributes[key];
    if (value === undefined) continue;
    const cut = truncate(value, limits.maxAttributeValueLength);
    if (cut !== value) truncatedValues++;
    entries.push([key.slice(0, MAX_ATTRIBUTE_KEY_LENGTH), cut]);
  }
  return {
    // fromEntries defines own properties, so a '__proto__' key stays a key.
    attributes: Object.fromEntries(entries),
    key: JSON.stringify(entries),
    droppedKeys: keys.length - kept.length,
    truncatedValues,
  };
}

function truncate(value: AttributeValue, maxLength: number): AttributeValue {
  if (typeof value === 'string') {
    return value.length > maxLength ? value.slice(0, maxLength) : value;
  }
  if (
    Array.isArray(value) &&
    value.some(v => typeof v === 'string' && v.length > maxLength)
  ) {
    return value.map(v =>
      typeof v === 'string' ? v.slice(0, maxLength) : v
    ) as AttributeValue;
  }
  return value;
}

/**
 * An `IAttributesProcessor` applying the same attribute limits before the
 * SDK hashes a measurement's attributes, for a View's `attributesProcessors`.
 * Sets within the limits pass through untouched (and unallocated).
 * @throws {TypeError|RangeError} for invalid limits.
 */
export function createAttributeLimitProcessor(
  limits: AttributeLimits = {}
): IAttributesProcessor {
  const reader = new OptionReader('createAttributeLimitProcessor', limits, [
    'maxAttributesPerSeries',
    'maxAttributeValueLength',
  ]);
  const resolved: ResolvedAttributeLimits = {
    maxAttributesPerSeries: reader.integer(
      'maxAttributesPerSeries',
      DEFAULTS.maxAttributesPerSeries,
      { min: 1 }
    ),
    maxAttributeValueLength: reader.integer(
      'maxAttributeValueLength',
      DEFAULTS.maxAttributeValueLength,
      { min: 1 }
    ),
  };
  return {
    process(incoming: Attributes): Attributes {
      let count = 0;
      for (const key in incoming) {
        const value = incoming[key];
        if (
          ++count > resolved.maxAttributesPerSeries ||
          key.length > MAX_ATTRIBUTE_KEY_LENGTH ||
          (typeof value === 'string' &&
            value.length > resolved.maxAttributeValueLength) ||
          Array.isArray(value)
        ) {
          return limitAttributes(incoming, resolved).attributes;
        }
      }
      return incoming;
    },
  };
}

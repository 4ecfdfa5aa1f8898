import type { Attributes, MeterProvider } from '@opentelemetry/api';
import {
  AttributeReader,
  DEFAULT_ATTRIBUTE_BOUNDS,
  OptionReader,
  describeValue,
  isPlainObject,
} from '@datapunk/otel-common';
import type { AttributeBounds, AttributeReading } from '@datapunk/otel-common';
import type { TripPatternOptions } from './analyzer/TripPatterns';
import { errorText, readProperty } from './readForeign';
import { globalLoggerProvider } from './collector/EpisodeLog';
import type { CircuitBreakerMetricsOptions, LoggerProviderLike } from './types';

const OWNER = 'CircuitBreakerMetrics';
/** Buckets a window may hold: an hour of 1 s buckets. */
const MAX_BUCKETS = 3600;
/** Entries an array option may have before it is not even read. */
const MAX_ARRAY_OPTION = 1000;

/**
 * A breaker's attributes are copied into every one of its ~40 series (an
 * outcome, a state, a quantile each…) and hashed by the SDK at every
 * export, so a set is kept smaller than the OTel default: 4 KiB (as
 * estimated, 2 bytes a character) holds a handful of identifying strings.
 */
export const DEFAULT_BREAKER_ATTRIBUTE_BOUNDS: Readonly<AttributeBounds> =
  Object.freeze({
    ...DEFAULT_ATTRIBUTE_BOUNDS,
    maxAttributeBytesPerSeries: 4096,
  });

export interface ResolvedOptions extends TripPatternOptions {
  /** Undefined: the global one, followed when it is set later. */
  meterProvider: MeterProvider | undefined;
  /** Bounds on each breaker's attribute set (the collector's attributes included). */
  attributeBounds: AttributeBounds;
  /** The collector's own attributes, read and bounded. */
  attributes: Attributes;
  windowMillis: number;
  bucketMillis: number;
  /** As quantiles in (0, 1), sorted. */
  quantiles: number[];
  durationHistogram: boolean;
  anomalyThreshold: number;
  trendWindowMillis: number;
  consecutiveBuckets: number;
  minCallsPerBucket: number;
  clearAfterBuckets: number;
  acceptAfterMillis: number;
  errorRateSlo: number | undefined;
  latencySloMillis: number | undefined;
  /** Where episodes and trips go as log records; undefined: not logged. */
  loggerProvider: LoggerProviderLike | undefined;
}

/**
 * Applies defaults and checks every option and the rules between them.
 * @throws {TypeError|RangeError} naming the option and the rule.
 */
export function resolveOptions(
  given: CircuitBreakerMetricsOptions = {},
  owner = OWNER,
  path = ''
): ResolvedOptions {
  const options = copyOptions(owner, given, path);
  if (isPlainObject(options) && 'percentiles' in options) {
    throw new TypeError(
      `${owner}: option '${path ? `${path}.` : ''}percentiles' is now 'quantiles', in (0, 1) as in every Datapunk package: [50, 99] becomes [0.5, 0.99]`
    );
  }
  const reader = new OptionReader(
    owner,
    options,
    [
      'meterProvider',
      'attributes',
      'limits',
      'windowMillis',
      'bucketMillis',
      'quantiles',
      'durationHistogram',
      'anomalyThreshold',
      'trendWindowMillis',
      'consecutiveBuckets',
      'minCallsPerBucket',
      'clearAfterBuckets',
      'acceptAfterMillis',
      'errorRateSlo',
      'latencySloMillis',
      'periodicMinIntervals',
      'periodicMaxVariation',
      'flapWindowMillis',
      'flapRaiseTransitions',
      'flapClearTransitions',
      'logEvents',
      'loggerProvider',
    ],
    path
  );
  const bucketMillis = reader.integer('bucketMillis', 1000, { min: 10 });
  const windowMillis = reader.integer('windowMillis', 60_000, { min: 1 });
  multipleOf(reader, 'windowMillis', windowMillis, bucketMillis);
  reader.ordered(
    'windowMillis',
    windowMillis,
    '≤',
    'bucketMillis × 3600',
    bucketMillis * MAX_BUCKETS
  );
  reader.ordered(
    'windowMillis',
    windowMillis,
    '≥',
    'bucketMillis × 2',
    bucketMillis * 2
  );
  // The default shrinks to fit short buckets; a given value must fit.
  const trendWindowMillis = reader.integer(
    'trendWindowMillis',
    Math.max(windowMillis, Math.min(300_000, bucketMillis * MAX_BUCKETS)),
    { min: 1 }
  );
  multipleOf(reader, 'trendWindowMillis', trendWindowMillis, bucketMillis);
  reader.ordered(
    'trendWindowMillis',
    trendWindowMillis,
    '≥',
    'windowMillis',
    windowMillis
  );
  reader.ordered(
    'trendWindowMillis',
    trendWindowMillis,
    '≤',
    'bucketMillis × 3600',
    bucketMillis * MAX_BUCKETS
  );
  const flapRaiseTransitions = reader.integer('flapRaiseTransitions', 6, {
    min: 2,
    max: 1000,
  });
  const flapClearTransitions = reader.integer('flapClearTransitions', 2, {
    min: 0,
  });
  reader.ordered(
    'flapClearTransitions',
    flapClearTransitions,
    '≤',
    'flapRaiseTransitions − 1',
    flapRaiseTransitions - 1
  );
  const provider = reader.raw('meterProvider');
  if (
    provider != null &&
    typeof readProperty(provider, 'getMeter') !== 'function'
  ) {
    reader.failType('meterProvider', 'a MeterProvider', provider);
  }
  const loggerProvider = resolveLoggerProvider(reader);
  const attributeBounds = resolveLimits(owner, reader);
  const attributes = readAttributeOption(
    reader,
    'attributes',
    new AttributeReader(attributeBounds)
  ).attributes;
  return {
    meterProvider: (provider ?? undefined) as MeterProvider | undefined,
    attributeBounds,
    attributes,
    windowMillis,
    bucketMillis,
    quantiles: reader.quantiles('quantiles', [0.5, 0.9, 0.95, 0.99], {
      minLength: 1,
      maxLength: 16,
    }),
    durationHistogram: reader.boolean('durationHistogram', false),
    anomalyThreshold: reader.number('anomalyThreshold', 2.0, {
      above: 0,
      max: 100,
    }),
    trendWindowMillis,
    consecutiveBuckets: reader.integer('consecutiveBuckets', 3, {
      min: 1,
      max: windowMillis / bucketMillis,
    }),
    minCallsPerBucket: reader.integer('minCallsPerBucket', 5, { min: 1 }),
    clearAfterBuckets: reader.integer('clearAfterBuckets', 5, {
      min: 1,
      max: windowMillis / bucketMillis,
    }),
    acceptAfterMillis: reader.number('acceptAfterMillis', 3_600_000, {
      min: 0,
      infinite: true,
    }),
    errorRateSlo: optional(reader, 'errorRateSlo', { above: 0, max: 1 }),
    latencySloMillis: optional(reader, 'latencySloMillis', { above: 0 }),
    periodicMinIntervals: reader.integer('periodicMinIntervals', 5, {
      min: 2,
      max: 100,
    }),
    periodicMaxVariation: reader.number('periodicMaxVariation', 0.3, {
      above: 0,
      max: 2,
    }),
    flapWindowMillis: reader.integer('flapWindowMillis', 60_000, {
      min: bucketMillis,
    }),
    flapRaiseTransitions,
    flapClearTransitions,
    loggerProvider,
  };
}

/**
 * The LoggerProvider episodes and trips go to: the one given, else the
 * logs API's global one if `logEvents` is on; undefined if off (the
 * default without `loggerProvider`).
 */
function resolveLoggerProvider(
  reader: OptionReader
): LoggerProviderLike | undefined {
  const given = reader.raw('loggerProvider') ?? undefined;
  if (
    given !== undefined &&
    typeof readProperty(given, 'getLogger') !== 'function'
  )
    reader.failType('loggerProvider', 'a LoggerProvider', given);
  if (!reader.boolean('logEvents', given !== undefined)) return undefined;
  if (given !== undefined) return given as LoggerProviderLike;
  const global = globalLoggerProvider();
  if (global === undefined)
    reader.fail(
      'logEvents',
      "needs the logs API: give 'loggerProvider', or use @opentelemetry/api 1.10 or later, or install @opentelemetry/api-logs",
      true
    );
  return global;
}

function resolveLimits(owner: string, reader: OptionReader): AttributeBounds {
  const path = reader.pathOf('limits');
  const limits = new OptionReader(
    owner,
    copyOptions(owner, reader.raw('limits') ?? undefined, path),
    [
      'maxAttributesPerSeries',
      'maxAttributeValueLength',
      'maxAttributeBytesPerSeries',
    ],
    path
  );
  const defaults = DEFAULT_BREAKER_ATTRIBUTE_BOUNDS;
  return {
    maxAttributesPerSeries: limits.integer(
      'maxAttributesPerSeries',
      defaults.maxAttributesPerSeries,
      { min: 1 }
    ),
    maxAttributeValueLength: limits.integer(
      'maxAttributeValueLength',
      defaults.maxAttributeValueLength,
      { min: 1 }
    ),
    maxAttributeBytesPerSeries: limits.integer(
      'maxAttributeBytesPerSeries',
      defaults.maxAttributeBytesPerSeries,
      { min: 1 }
    ),
  };
}

/**
 * An options object copied once into plain data, so that the checks after
 * read nothing of the caller's: a getter or Proxy trap that throws becomes
 * a TypeError naming the option. Arrays are copied too (up to 1000
 * entries); other values (a MeterProvider, a function, a nested object,
 * read by its own reader) are kept as they are. Anything but a plain
 * object is returned as is, for the reader to refuse.
 */
export function copyOptions(
  owner: string,
  options: unknown,
  path = ''
): unknown {
  if (!isPlainObject(options)) return options;
  const entries: [string, unknown][] = [];
  let key: string | undefined;
  let tooLong: unknown;
  try {
    for (key of Object.keys(options)) {
      let value = options[key];
      if (Array.isArray(value)) {
        if (value.length > MAX_ARRAY_OPTION) {
          tooLong = value;
          break;
        }
        value = Array.from(value as unknown[]);
      }
      entries.push([key, value]);
    }
  } catch (error) {
    const field = key === undefined ? 'options' : `option '${join(path, key)}'`;
    throw new TypeError(
      `${owner}: ${field} could not be read: ${errorText(error)}`,
      { cause: error }
    );
  }
  if (tooLong !== undefined) {
    throw new TypeError(
      `${owner}: option '${join(path, key!)}' must hold at most ${MAX_ARRAY_OPTION} entries, got ${describeValue(tooLong)}`
    );
  }
  // fromEntries defines own properties: a '__proto__' key stays a key (and is refused as unknown).
  return Object.fromEntries(entries);
}

/**
 * The attributes option `name` of `reader`: checked as the OpenTelemetry
 * API defines them (OptionReader.attributes: primitives or homogeneous
 * arrays of primitives, anything else a TypeError naming the entry), then
 * read and bounded by `attributes`.
 */
export function readAttributeOption(
  reader: OptionReader,
  name: string,
  attributes: AttributeReader
): AttributeReading {
  const value = reader.attributes(name);
  const reading = attributes.read(value);
  // Only getters that answer differently the second time get here.
  if (reading === undefined || reading.invalid > 0)
    return reader.failType(name, 'attributes that read the same twice', value);
  return reading;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function multipleOf(
  reader: OptionReader,
  name: string,
  value: number,
  bucketMillis: number
): void {
  if (value % bucketMillis !== 0) {
    reader.fail(
      name,
      `must be a multiple of 'bucketMillis' (${bucketMillis})`,
      value
    );
  }
}

function optional(
  reader: OptionReader,
  name: string,
  rule: { above: number; max?: number }
): number | undefined {
  return reader.raw(name) == null
    ? undefined
    : reader.number(name, undefined, rule);
}

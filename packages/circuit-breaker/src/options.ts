import type { Attributes, MeterProvider } from '@opentelemetry/api';
import { OptionReader, isPlainObject } from '@datapunk/otel-common';
import type { TripPatternOptions } from './analyzer/TripPatterns';
import type { CircuitBreakerMetricsOptions } from './types';

const OWNER = 'CircuitBreakerMetrics';
/** Buckets a window may hold: an hour of 1 s buckets. */
const MAX_BUCKETS = 3600;

export interface ResolvedOptions extends TripPatternOptions {
  /** Undefined: the global one, followed when it is set later. */
  meterProvider: MeterProvider | undefined;
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
}

/**
 * Applies defaults and checks every option and the rules between them.
 * @throws {TypeError|RangeError} naming the option and the rule.
 */
export function resolveOptions(
  options: CircuitBreakerMetricsOptions = {}
): ResolvedOptions {
  if (isPlainObject(options) && 'percentiles' in options) {
    throw new TypeError(
      `${OWNER}: option 'percentiles' is now 'quantiles', in (0, 1) as in every Datapunk package: [50, 99] becomes [0.5, 0.99]`
    );
  }
  const reader = new OptionReader(OWNER, options, [
    'meterProvider',
    'attributes',
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
  ]);
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
    provider !== undefined &&
    typeof (provider as MeterProvider)?.getMeter !== 'function'
  ) {
    reader.failType('meterProvider', 'a MeterProvider', provider);
  }
  const attributes = reader.object(
    'attributes',
    {},
    'an object of attribute values'
  );
  return {
    meterProvider: provider as MeterProvider | undefined,
    attributes: attributes as Attributes,
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
  };
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

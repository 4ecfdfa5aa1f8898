import type { OptionReader } from '@datapunk/otel-common';
import { DEFAULT_CLASSIC_BOUNDARIES } from './classicBuckets';

/** At most this many classic boundaries per histogram (Prometheus' own defaults have 11). */
export const MAX_CLASSIC_BOUNDARIES = 256;

/** The `histogramBoundaries` option: 1 to 256 finite numbers, sorted, without repeats. */
export function readHistogramBoundaries(reader: OptionReader): number[] {
  return reader.numberList('histogramBoundaries', DEFAULT_CLASSIC_BOUNDARIES, {
    minLength: 1,
    maxLength: MAX_CLASSIC_BOUNDARIES,
    above: -Infinity,
    below: Infinity,
  });
}

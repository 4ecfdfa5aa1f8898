/** The five metric types of the {@link Instruments} facade. */
export enum MetricType {
  /** A monotonic sum of non-negative increments. */
  COUNTER = 'counter',
  /** The current value of something, any finite number. */
  GAUGE = 'gauge',
  /** A distribution of non-negative values: exponential histogram and percentiles. */
  HISTOGRAM = 'histogram',
  /** A distribution kept for its percentiles (recorded as a histogram). */
  SUMMARY = 'summary',
  /** Durations in seconds, with timing helpers (recorded as a histogram). */
  TIMER = 'timer',
}

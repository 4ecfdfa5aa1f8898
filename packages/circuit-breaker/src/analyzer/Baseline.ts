/** What is normal for a stream: a centre and a spread, learned from normal observations. */
export interface Baseline {
  /** Observations learned so far (capped at the window). */
  readonly size: number;
  add(value: number): void;
  /** The centre (mean or median); NaN when empty. */
  center(): number;
  /** The spread around `center` (from center()): a standard deviation or its robust estimate; NaN when empty. */
  spread(center: number): number;
  /** Forgets everything and learns `values` instead. */
  replaceWith(values: Iterable<number>): void;
}

/** Bounds a number option must keep; all optional. */
export interface RangeRule {
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive upper bound. */
  below?: number;
  integer?: boolean;
  /** Infinity is allowed too (for "never"), when within the bounds. */
  infinite?: boolean;
}

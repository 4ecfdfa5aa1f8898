import { RingBuffer } from '../window/RingBuffer';
import type { Baseline } from './Baseline';
import { normalQuantile } from './normalQuantile';

/** MAD × this estimates σ for Gaussian data. */
const MAD_TO_SIGMA = 1.4826;
/** Mean absolute deviation × this estimates σ for Gaussian data. */
const MEAN_DEVIATION_TO_SIGMA = 1.2533;

/**
 * The last `size` normal observations. 'robust': median and 1.4826 × MAD,
 * which a burst of outliers inside the window cannot drag (falling back to
 * the mean absolute deviation when more than half the values are equal, as
 * in quantised or flat series, where the MAD is 0); 'mean': mean and σ.
 * Either can also rank a value among them ({@link normalScore}).
 */
export class WindowBaseline implements Baseline {
  private readonly _values: RingBuffer<number>;
  /** The values in a plain array (refreshed after a change), read several times per observation. */
  private readonly _copy: Float64Array;
  private _copied = false;
  private readonly _scratch: Float64Array;
  private readonly _deviations: Float64Array;
  private readonly _robust: boolean;

  constructor(size: number, estimate: 'robust' | 'mean') {
    this._values = new RingBuffer(size);
    this._copy = new Float64Array(size);
    this._scratch = new Float64Array(size);
    this._deviations = new Float64Array(size);
    this._robust = estimate === 'robust';
  }

  get size(): number {
    return this._values.size;
  }

  add(value: number): void {
    this._values.push(value);
    this._copied = false;
  }

  center(): number {
    if (this.size === 0) return NaN;
    return this._robust ? this._median(this._view()) : this._mean();
  }

  spread(center: number): number {
    const n = this.size;
    if (n === 0) return NaN;
    const values = this._view();
    if (!this._robust) {
      let squares = 0;
      for (let i = 0; i < n; i++) squares += (values[i] - center) ** 2;
      return Math.sqrt(squares / n);
    }
    const deviations = this._deviations;
    let total = 0;
    for (let i = 0; i < n; i++) {
      deviations[i] = Math.abs(values[i] - center);
      total += deviations[i];
    }
    const mad = this._median(deviations);
    return mad > 0 ? MAD_TO_SIGMA * mad : (MEAN_DEVIATION_TO_SIGMA * total) / n;
  }

  /**
   * Where `value` falls among the observations, as a standard normal score:
   * Φ⁻¹ of its mid-rank (below + half the ties + ½) / (n + 1). Free of any
   * distribution: as likely to be ≥ 2 for skewed, heavy-tailed or discrete
   * values as for Gaussian ones, and bounded (±2.64 at 120 observations),
   * so one wild value weighs no more than any value beyond the range.
   */
  normalScore(value: number): number {
    const n = this.size;
    const values = this._view();
    let below = 0;
    let ties = 0;
    for (let i = 0; i < n; i++) {
      if (values[i] < value) below++;
      else if (values[i] === value) ties++;
    }
    return normalQuantile((below + ties / 2 + 0.5) / (n + 1));
  }

  replaceWith(values: Iterable<number>): void {
    this._values.clear();
    for (const value of values) this.add(value); // add() marks the copy stale
  }

  private _view(): Float64Array {
    if (!this._copied) {
      this._values.copyTo(this._copy);
      this._copied = true;
    }
    return this._copy;
  }

  private _mean(): number {
    const values = this._view();
    let sum = 0;
    for (let i = 0; i < this.size; i++) sum += values[i];
    return sum / this.size;
  }

  /** The median of the first `size` entries of `values`. */
  private _median(values: Float64Array): number {
    const n = this.size;
    const sorted = this._scratch.subarray(0, n);
    sorted.set(values.subarray(0, n));
    sorted.sort();
    const middle = n >> 1;
    return n % 2 === 1
      ? sorted[middle]
      : (sorted[middle - 1] + sorted[middle]) / 2;
  }
}

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
  private readonly _scratch: Float64Array;
  private readonly _robust: boolean;

  constructor(size: number, estimate: 'robust' | 'mean') {
    this._values = new RingBuffer(size);
    this._scratch = new Float64Array(size);
    this._robust = estimate === 'robust';
  }

  get size(): number {
    return this._values.size;
  }

  add(value: number): void {
    this._values.push(value);
  }

  center(): number {
    if (this.size === 0) return NaN;
    return this._robust ? this._median(this._values) : this._mean();
  }

  spread(center: number): number {
    const n = this.size;
    if (n === 0) return NaN;
    if (!this._robust) {
      let squares = 0;
      for (const value of this._values) squares += (value - center) ** 2;
      return Math.sqrt(squares / n);
    }
    const deviations: number[] = [];
    let total = 0;
    for (const value of this._values) {
      const deviation = Math.abs(value - center);
      deviations.push(deviation);
      total += deviation;
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
    let below = 0;
    let ties = 0;
    for (const other of this._values) {
      if (other < value) below++;
      else if (other === value) ties++;
    }
    return normalQuantile((below + ties / 2 + 0.5) / (this.size + 1));
  }

  replaceWith(values: Iterable<number>): void {
    this._values.clear();
    for (const value of values) this.add(value);
  }

  private _mean(): number {
    let sum = 0;
    for (const value of this._values) sum += value;
    return sum / this.size;
  }

  /** The median of `values` (as many as the window holds). */
  private _median(values: Iterable<number>): number {
    const n = this.size;
    const sorted = this._scratch.subarray(0, n);
    let i = 0;
    for (const value of values) sorted[i++] = value;
    sorted.sort();
    const middle = n >> 1;
    return n % 2 === 1
      ? sorted[middle]
      : (sorted[middle - 1] + sorted[middle]) / 2;
  }
}

import type { Baseline } from './Baseline';

/** MAD × this estimates σ for Gaussian data. */
const MAD_TO_SIGMA = 1.4826;
/** Mean absolute deviation × this estimates σ for Gaussian data. */
const MEAN_DEVIATION_TO_SIGMA = 1.2533;

/**
 * The last `size` normal observations. 'robust': median and 1.4826 × MAD,
 * which a burst of outliers inside the window cannot drag (falling back to
 * the mean absolute deviation when more than half the values are equal, as
 * in quantised or flat series, where the MAD is 0); 'mean': mean and σ.
 */
export class WindowBaseline implements Baseline {
  private readonly _values: Float64Array;
  private readonly _scratch: Float64Array;
  private readonly _deviations: Float64Array;
  private readonly _robust: boolean;
  private _size = 0;
  private _next = 0;

  constructor(size: number, estimate: 'robust' | 'mean') {
    this._values = new Float64Array(size);
    this._scratch = new Float64Array(size);
    this._deviations = new Float64Array(size);
    this._robust = estimate === 'robust';
  }

  get size(): number {
    return this._size;
  }

  add(value: number): void {
    this._values[this._next] = value;
    this._next = (this._next + 1) % this._values.length;
    if (this._size < this._values.length) this._size++;
  }

  center(): number {
    if (this._size === 0) return NaN;
    return this._robust ? this._median(this._values) : this._mean();
  }

  spread(center: number): number {
    if (this._size === 0) return NaN;
    const n = this._size;
    if (!this._robust) {
      let squares = 0;
      for (let i = 0; i < n; i++) squares += (this._values[i] - center) ** 2;
      return Math.sqrt(squares / n);
    }
    const deviations = this._deviations;
    let total = 0;
    for (let i = 0; i < n; i++) {
      deviations[i] = Math.abs(this._values[i] - center);
      total += deviations[i];
    }
    const mad = this._median(deviations);
    return mad > 0 ? MAD_TO_SIGMA * mad : (MEAN_DEVIATION_TO_SIGMA * total) / n;
  }

  replaceWith(values: Iterable<number>): void {
    this._size = 0;
    this._next = 0;
    for (const value of values) this.add(value);
  }

  private _mean(): number {
    let sum = 0;
    for (let i = 0; i < this._size; i++) sum += this._values[i];
    return sum / this._size;
  }

  /** The median of the first `size` entries of `values`. */
  private _median(values: Float64Array): number {
    const n = this._size;
    const sorted = this._scratch.subarray(0, n);
    sorted.set(values.subarray(0, n));
    sorted.sort();
    const middle = n >> 1;
    return n % 2 === 1
      ? sorted[middle]
      : (sorted[middle - 1] + sorted[middle]) / 2;
  }
}

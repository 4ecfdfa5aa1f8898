import type { Baseline } from './Baseline';

/**
 * An exponentially weighted mean and deviation, α = 2 / (size + 1): O(1)
 * memory, and it follows a slowly drifting level (resources such as
 * connections in use).
 */
export class EwmaBaseline implements Baseline {
  private readonly _alpha: number;
  private readonly _cap: number;
  private _mean = 0;
  private _variance = 0;
  private _size = 0;

  constructor(size: number) {
    this._alpha = 2 / (size + 1);
    this._cap = size;
  }

  get size(): number {
    return this._size;
  }

  add(value: number): void {
    if (this._size === 0) {
      this._mean = value;
    } else {
      const deviation = value - this._mean;
      this._mean += this._alpha * deviation;
      this._variance =
        (1 - this._alpha) * (this._variance + this._alpha * deviation ** 2);
    }
    if (this._size < this._cap) this._size++;
  }

  center(): number {
    return this._size === 0 ? NaN : this._mean;
  }

  spread(): number {
    return this._size === 0 ? NaN : Math.sqrt(this._variance);
  }

  replaceWith(values: Iterable<number>): void {
    this._size = 0;
    this._mean = 0;
    this._variance = 0;
    for (const value of values) this.add(value);
  }
}

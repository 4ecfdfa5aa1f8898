import { grow } from '../store/arena/columns';
import type { ExemplarBudget } from './ExemplarBudget';
import { ExemplarReservoir } from './ExemplarReservoir';

/**
 * The specification's SimpleFixedSizeExemplarReservoir: uniform reservoir
 * sampling of each series' measurements over a collection cycle. With
 * `seen` measurements so far this cycle, the next takes cell `seen` while
 * `seen < size`, else cell `random_integer(0, seen)` if that is below
 * `size` (else it is not kept); `seen` starts over at every collection.
 * Sums, gauges (size 1) and exponential histograms (min(20, maxBuckets)).
 */
export class SimpleFixedSizeExemplarReservoir extends ExemplarReservoir {
  /** Measurements offered this cycle, per series. */
  private _seen = new Int32Array(0);

  constructor(size: number, budget: ExemplarBudget, random: () => number) {
    super(size, budget, random);
  }

  protected _cellFor(series: number): number {
    const seen = this._seen[series];
    this._seen[series] = seen + 1;
    if (seen < this.size) return seen;
    const cell = this._randomInteger(seen);
    return cell < this.size ? cell : -1;
  }

  protected _resetCycleState(series: number): void {
    this._seen[series] = 0;
  }

  protected _reserveCycleState(length: number): void {
    this._seen = grow(this._seen, length);
  }

  protected _cycleStateBytes(): number {
    return this._seen.byteLength;
  }
}

import { bucketIndex } from '../export/prometheus/exemplars';
import type { ExemplarBudget } from './ExemplarBudget';
import { ExemplarReservoir } from './ExemplarReservoir';

/**
 * The specification's AlignedHistogramBucketExemplarReservoir, for
 * histograms exported with explicit buckets: one cell per bucket (the
 * first whose upper boundary is ≥ the value; the last for +Inf), each
 * sampled uniformly over the cycle: with `seen` measurements in the bucket
 * so far this cycle, the next is kept if `random_integer(0, seen)` is 0
 * (always for the first). Counts start over at every collection.
 */
export class AlignedHistogramBucketExemplarReservoir extends ExemplarReservoir {
  private readonly _boundaries: readonly number[];

  constructor(
    boundaries: readonly number[],
    budget: ExemplarBudget,
    random: () => number
  ) {
    super(boundaries.length + 1, budget, random);
    this._boundaries = boundaries;
  }

  protected _cellFor(_series: number, value: number, block: number): number {
    const cell = bucketIndex(this._boundaries, value);
    const seen = this._seenAt(block + cell);
    this._setSeenAt(block + cell, seen + 1);
    return seen === 0 || this._randomInteger(seen) === 0 ? cell : -1;
  }

  protected _resetCycleState(_series: number, block: number): void {
    for (let cell = 0; cell < this.size; cell++)
      this._setSeenAt(block + cell, 0);
  }

  protected _reserveCycleState(): void {
    // Counts are per cell, in the slots.
  }

  protected _cycleStateBytes(): number {
    return 0;
  }
}

import type { RateLimitedDiag } from '@datapunk/otel-common';
import type { Tally } from '../store/Tally';

/** Why an exemplar was not kept, as `datapunk.metrics.exemplars.dropped` counts it. */
export type ExemplarDropReason =
  | 'memory_limit'
  | 'filtered_attributes'
  | 'invalid_context';

export const EXEMPLAR_DROP_REASONS: readonly ExemplarDropReason[] = [
  'memory_limit',
  'filtered_attributes',
  'invalid_context',
];

/**
 * The bytes every exemplar reservoir of a store may hold together (slots
 * and filtered attributes), and the count of exemplars dropped. A
 * reservoir takes memory for a series' slots when the series gets its
 * first exemplar and gives it back when the series expires.
 */
export class ExemplarBudget {
  readonly maxBytes: number;
  private readonly _dropped: Tally;
  private readonly _diag: RateLimitedDiag;
  private _usedBytes = 0;

  constructor(maxBytes: number, dropped: Tally, reporter: RateLimitedDiag) {
    this.maxBytes = maxBytes;
    this._dropped = dropped;
    this._diag = reporter;
  }

  /** Bytes taken now. */
  get usedBytes(): number {
    return this._usedBytes;
  }

  /** Takes `bytes`; false (nothing taken, the drop counted) past the limit. */
  take(bytes: number): boolean {
    if (this._usedBytes + bytes > this.maxBytes) {
      this.drop(
        'memory_limit',
        `limits.maxExemplarBytes (${this.maxBytes}) reached: exemplars of further series are dropped until some expire`
      );
      return false;
    }
    this._usedBytes += bytes;
    return true;
  }

  give(bytes: number): void {
    this._usedBytes -= bytes;
  }

  /** Counts an exemplar not kept and reports why (rate-limited). */
  drop(reason: ExemplarDropReason, message: string): void {
    this._dropped.add(reason);
    this._diag.warn(`exemplar:${reason}`, message);
  }
}

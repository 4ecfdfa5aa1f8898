import type { Direction } from './EpisodeTracker';

/**
 * A two-sided CUSUM (Page 1954) of standardised scores: per side
 * S ← min(cap, max(0, S + z − reference)), so only scores beyond the
 * reference add evidence, and evidence that stops growing is spent within
 * a few observations.
 */
export class Cusum {
  private readonly _reference: number;
  private readonly _cap: number;
  private _up = 0;
  private _down = 0;

  constructor(reference: number, cap: number) {
    this._reference = reference;
    this._cap = cap;
  }

  /** Adds a score; returns the evidence of both sides after it. */
  add(score: number): number {
    const cap = this._cap;
    this._up = Math.min(cap, Math.max(0, this._up + score - this._reference));
    this._down = Math.min(
      cap,
      Math.max(0, this._down - score - this._reference)
    );
    return this.evidence();
  }

  /** The evidence of the counted directions: the larger side, + up, − down. */
  evidence(counted: Direction | 'both' = 'both'): number {
    if (counted === 'up') return this._up;
    if (counted === 'down') return -this._down;
    return this._up >= this._down ? this._up : -this._down;
  }

  reset(): void {
    this._up = 0;
    this._down = 0;
  }
}

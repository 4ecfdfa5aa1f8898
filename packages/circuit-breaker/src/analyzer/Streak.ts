/**
 * The persistence rule every detector here shares: a score is out of line
 * when |score| ≥ threshold in a counted direction, and an anomaly when
 * `consecutive` scores in a row are out of line in the same direction.
 */
export class Streak {
  private readonly _threshold: number;
  private readonly _consecutive: number;
  private readonly _counted: 'up' | 'down' | 'both';
  private _length = 0;
  private _direction: 'up' | 'down' | undefined;

  constructor(
    threshold: number,
    consecutive: number,
    counted: 'up' | 'down' | 'both'
  ) {
    this._threshold = threshold;
    this._consecutive = consecutive;
    this._counted = counted;
  }

  update(score: number): {
    direction: 'up' | 'down' | undefined;
    length: number;
    anomalous: boolean;
  } {
    let direction: 'up' | 'down' | undefined;
    if (Math.abs(score) >= this._threshold) {
      direction = score > 0 ? 'up' : 'down';
      if (this._counted !== 'both' && direction !== this._counted)
        direction = undefined;
    }
    if (direction !== undefined && direction === this._direction)
      this._length++;
    else this._length = direction === undefined ? 0 : 1;
    this._direction = direction;
    return {
      direction,
      length: this._length,
      anomalous: this._length >= this._consecutive,
    };
  }

  reset(): void {
    this._length = 0;
    this._direction = undefined;
  }
}

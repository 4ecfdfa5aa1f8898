/** One point of a sparkline: time, calls per second, p99 (ms, null unknown). */
export type HistoryPoint = [number, number, number | null];

/**
 * The last `capacity` points of one breaker's sparklines, in a ring:
 * memory is fixed however long the dashboard runs.
 */
export class History {
  private readonly _points: (HistoryPoint | undefined)[];
  private _next = 0;

  constructor(capacity: number) {
    this._points = new Array<HistoryPoint | undefined>(capacity);
  }

  push(point: HistoryPoint): void {
    this._points[this._next] = point;
    this._next = (this._next + 1) % this._points.length;
  }

  /** Oldest first. */
  points(): HistoryPoint[] {
    const ordered = [
      ...this._points.slice(this._next),
      ...this._points.slice(0, this._next),
    ];
    return ordered.filter((p): p is HistoryPoint => p !== undefined);
  }
}

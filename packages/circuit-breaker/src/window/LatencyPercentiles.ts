import { ExponentialSketch, SlidingWindow } from '@datapunk/otel-sketch';
import { SKETCH_OPTIONS } from './CurrentBucket';

/** Sub-windows the rolling percentiles are kept in: they cover the last 5/6 to 6/6 of the window. */
const SLOTS = 6;

/** Rolling latency percentiles of successful calls over the window, from merged sketches. */
export class LatencyPercentiles {
  private readonly _window: SlidingWindow<ExponentialSketch>;

  constructor(windowMillis: number, nowMillis: number) {
    this._window = new SlidingWindow({
      slots: SLOTS,
      slotMillis: windowMillis / SLOTS,
      create: () => new ExponentialSketch(SKETCH_OPTIONS),
    });
    this._window.rotate(nowMillis);
  }

  /** Adds a bucket's latencies, closed at `nowMillis`. */
  add(latencies: ExponentialSketch | undefined, nowMillis: number): void {
    this._window.rotate(nowMillis - 1);
    if (latencies) this._window.current.merge(latencies);
  }

  quantiles(qs: readonly number[]): number[] {
    return this._window.merged().quantiles(qs);
  }
}

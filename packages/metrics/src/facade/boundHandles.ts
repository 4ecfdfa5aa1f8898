import { startTimer, time } from './timing';
import type { BoundSink } from './sinks';
import type {
  BoundCounter,
  BoundGauge,
  BoundHistogram,
  BoundSummary,
  BoundTimer,
} from './types';

/**
 * A facade bound handle: its sink's bound handle under the metric type's
 * method name, the method on the prototype, so that a handle is one small
 * object (an application may hold one per series, 100k of them).
 */
abstract class BoundHandle {
  protected readonly _sink: BoundSink;

  constructor(sink: BoundSink) {
    this._sink = sink;
  }
}

export class BoundCounterHandle extends BoundHandle implements BoundCounter {
  add(value: number): void {
    this._sink.record(value);
  }
}

export class BoundGaugeHandle extends BoundHandle implements BoundGauge {
  set(value: number): void {
    this._sink.record(value);
  }
}

export class BoundHistogramHandle
  extends BoundHandle
  implements BoundHistogram
{
  record(value: number): void {
    this._sink.record(value);
  }
}

export class BoundSummaryHandle extends BoundHandle implements BoundSummary {
  observe(value: number): void {
    this._sink.record(value);
  }
}

export class BoundTimerHandle extends BoundHandle implements BoundTimer {
  /** Names the timer in errors. */
  private readonly _owner: string;

  constructor(sink: BoundSink, owner: string) {
    super(sink);
    this._owner = owner;
  }

  record(seconds: number): void {
    this._sink.record(seconds);
  }

  startTimer(): () => number {
    return startTimer(seconds => this._sink.record(seconds));
  }

  time<T>(fn: () => T): T {
    return time(this._owner, fn, seconds => this._sink.record(seconds));
  }
}

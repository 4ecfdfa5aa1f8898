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
 * method name. An application may hold one per series (100k of them), so a
 * handle is one small object whose methods are bound to it (a bound
 * function each, no closure context): taken off the handle
 * (`const { add } = counter.bind(…)`), a method still records.
 */
abstract class BoundHandle {
  protected readonly _sink: BoundSink;

  constructor(sink: BoundSink) {
    this._sink = sink;
  }
}

export class BoundCounterHandle extends BoundHandle implements BoundCounter {
  constructor(sink: BoundSink) {
    super(sink);
    this.add = this.add.bind(this);
  }

  add(value: number): void {
    this._sink.record(value);
  }
}

export class BoundGaugeHandle extends BoundHandle implements BoundGauge {
  constructor(sink: BoundSink) {
    super(sink);
    this.set = this.set.bind(this);
  }

  set(value: number): void {
    this._sink.record(value);
  }
}

export class BoundHistogramHandle
  extends BoundHandle
  implements BoundHistogram
{
  constructor(sink: BoundSink) {
    super(sink);
    this.record = this.record.bind(this);
  }

  record(value: number): void {
    this._sink.record(value);
  }
}

export class BoundSummaryHandle extends BoundHandle implements BoundSummary {
  constructor(sink: BoundSink) {
    super(sink);
    this.observe = this.observe.bind(this);
  }

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
    this.record = this.record.bind(this);
    this.startTimer = this.startTimer.bind(this);
    this.time = this.time.bind(this);
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

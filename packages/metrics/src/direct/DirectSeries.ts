import type { Attributes } from '@opentelemetry/api';
import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import type { ExponentialSketchOptions } from '@datapunk/otel-sketch';

/**
 * One attribute set of a directly recorded instrument: what was recorded
 * since the last collection. Handles write its fields directly: a record
 * is a type check, an add (or a sketch record) and a flag.
 */
export abstract class DirectSeries {
  readonly key: string;
  readonly attributes: Attributes;
  /** False once let go while idle, or after shutdown: the next use takes the slow way. */
  live = true;
  /** Recorded since the last collection. */
  dirty = false;
  /** Collections in a row without data. */
  idle = 0;

  constructor(key: string, attributes: Attributes) {
    this.key = key;
    this.attributes = attributes;
  }

  /** Adds one value (already checked for the instrument's kind). */
  abstract record(value: number): void;

  /** The delta since the last collection, then empty again. */
  abstract take(): number | ExponentialHistogram;
}

/** A counter's increments since the last collection. */
export class SumSeries extends DirectSeries {
  value = 0;

  record(value: number): void {
    this.value += value;
    this.dirty = true;
  }

  take(): number {
    const value = this.value;
    this.value = 0;
    this.dirty = false;
    return value;
  }
}

/** A gauge's last value since the last collection. */
export class LastValueSeries extends DirectSeries {
  value = 0;

  record(value: number): void {
    this.value = value;
    this.dirty = true;
  }

  take(): number {
    this.dirty = false;
    return this.value;
  }
}

/** A histogram's values since the last collection, in a sketch. */
export class SketchSeries extends DirectSeries {
  readonly sketch: ExponentialSketch;

  constructor(
    key: string,
    attributes: Attributes,
    options: ExponentialSketchOptions
  ) {
    super(key, attributes);
    this.sketch = new ExponentialSketch(options);
  }

  record(value: number): void {
    this.sketch.record(value);
    this.dirty = true;
  }

  take(): ExponentialHistogram {
    const point = this.sketch.toExponentialHistogram() as ExponentialHistogram;
    this.sketch.clear();
    this.dirty = false;
    return point;
  }
}

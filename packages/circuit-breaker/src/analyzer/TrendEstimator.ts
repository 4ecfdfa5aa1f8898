import { RingBuffer } from '../window/RingBuffer';

/** A linear trend over the trend window. */
export interface Trend {
  /** Change per second, in the signal's unit (least squares). */
  slopePerSecond: number;
  /** t-statistic of the slope: slope / its standard error. */
  significance: number;
  /** |significance| ≥ the estimator's bar (and enough samples). */
  significant: boolean;
  /** The fitted change from the first sample to the last, in the signal's unit. */
  change: number;
  /** Rising or falling: significant, and the change material (see the `Materiality` rule of the trend estimator). */
  direction: 'rising' | 'falling' | 'flat';
  samples: number;
}

/**
 * t ≥ 4. The test runs at every bucket over overlapping windows, so its
 * false positives add up: on simulated stationary traffic (seeded, 40 h per
 * profile) t ≥ 3 called a direction 0.4–2.4 times an hour, t ≥ 4 about once
 * in 40 h. A real 10% change over 5 min at 50 calls/s is t ≈ 12.
 */
const SIGNIFICANCE_BAR = 4;
/** Half a minute of 1 s buckets: fewer points give a slope mostly of noise. */
const MIN_SAMPLES = 30;

/** How large a fitted change must be to matter: the larger of the two. */
export interface Materiality {
  /** A share of the signal's mean level. */
  relative: number;
  /** In the signal's unit. */
  absolute: number;
}

/**
 * Least-squares slope and its t-statistic over the last `capacity`
 * (time, value) samples of a signal (e.g. bucket mean latency over 300 s).
 * A direction needs a significant slope and a material change: over 300
 * samples a significant slope can be a fraction of a percent.
 */
export class TrendEstimator {
  /** The samples' times (seconds) and values, oldest first. */
  private readonly _sampleTimes: RingBuffer<number>;
  private readonly _sampleValues: RingBuffer<number>;
  /** Scratch for the fit, which reads the samples three times. */
  private readonly _times: Float64Array;
  private readonly _values: Float64Array;
  private readonly _materiality: Materiality;
  /** The trend of the samples as they are; recomputed after a change. */
  private _trend: Trend | undefined;

  constructor(capacity: number, materiality: Materiality) {
    this._sampleTimes = new RingBuffer(capacity);
    this._sampleValues = new RingBuffer(capacity);
    this._times = new Float64Array(capacity);
    this._values = new Float64Array(capacity);
    this._materiality = materiality;
  }

  add(timestampMillis: number, value: number): void {
    if (!Number.isFinite(value) || !Number.isFinite(timestampMillis)) return;
    this._sampleTimes.push(timestampMillis / 1000);
    this._sampleValues.push(value);
    this._trend = undefined;
  }

  /** Drops samples older than `cutoffMillis` (the window moved past them). */
  dropBefore(cutoffMillis: number): void {
    const cutoff = cutoffMillis / 1000;
    const times = this._sampleTimes;
    while (times.size > 0 && times.at(0)! < cutoff) {
      times.shift();
      this._sampleValues.shift();
      this._trend = undefined;
    }
  }

  trend(): Trend {
    return (this._trend ??= this._fit());
  }

  private _fit(): Trend {
    const n = this._sampleTimes.size;
    if (n < MIN_SAMPLES) return flat(n);
    const times = this._times;
    const values = this._values;
    this._sampleTimes.copyTo(times);
    this._sampleValues.copyTo(values);
    let meanT = 0;
    let meanV = 0;
    for (let i = 0; i < n; i++) {
      meanT += times[i];
      meanV += values[i];
    }
    meanT /= n;
    meanV /= n;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < n; i++) {
      const dt = times[i] - meanT;
      sxx += dt * dt;
      sxy += dt * (values[i] - meanV);
    }
    if (sxx === 0) return flat(n);
    const slope = sxy / sxx;
    let residuals = 0;
    for (let i = 0; i < n; i++)
      residuals += (values[i] - (meanV + slope * (times[i] - meanT))) ** 2;
    const standardError = Math.sqrt(residuals / (n - 2) / sxx);
    const significance =
      standardError > 0
        ? slope / standardError
        : slope === 0
          ? 0
          : Math.sign(slope) * Infinity;
    const significant = Math.abs(significance) >= SIGNIFICANCE_BAR;
    const change = slope * (times[n - 1] - times[0]);
    const material =
      Math.abs(change) >=
      Math.max(
        this._materiality.relative * Math.abs(meanV),
        this._materiality.absolute
      );
    return {
      slopePerSecond: slope,
      significance,
      significant,
      change,
      direction:
        !significant || !material ? 'flat' : slope > 0 ? 'rising' : 'falling',
      samples: n,
    };
  }
}

/** No trend to speak of (too few samples, or all at one time). */
function flat(samples: number): Trend {
  return {
    slopePerSecond: 0,
    significance: 0,
    significant: false,
    change: 0,
    direction: 'flat',
    samples,
  };
}

import { describeRule, fail } from '@datapunk/otel-common/validation';
import type { RangeRule } from '@datapunk/otel-common/validation';
import {
  MAX_NORMAL_EXPONENT,
  MIN_NORMAL_EXPONENT,
  MIN_NORMAL_VALUE,
  exponentOf,
  isPowerOfTwo,
} from './float';

/** The lowest scale OpenTelemetry defines: one bucket spans 2^1024. */
export const MIN_SCALE = -10;
/** The highest scale OpenTelemetry defines. */
export const MAX_SCALE = 20;
/** What a scale read from options or data must be. */
export const SCALE_RULE: RangeRule = {
  integer: true,
  min: MIN_SCALE,
  max: MAX_SCALE,
};

/**
 * Rounding of `Math.log(v) × 2^scale / ln 2` stays below 2^-21 for every
 * double at every scale ≤ 20 (|x| ≤ 2^30, a few ulps), so only values within
 * this distance of a bucket boundary need the exact check.
 */
const BOUNDARY_TOLERANCE = 1e-6;

/** Every scale's mapping, made once (see the class's static block). */
const MAPPINGS: Base2Mapping[] = [];

/**
 * OpenTelemetry's base-2 exponential bucket mapping at one scale: bucket `i`
 * holds (base^i, base^(i+1)] with base = 2^(2^-scale). Get one with
 * {@link getMapping}; the mappings are shared and immutable.
 *
 * The index equals the SDK's (`LogarithmMapping` for scale > 0,
 * `ExponentMapping` otherwise) except that values within a few ulps of a
 * power of two are placed exactly, where the SDK's logarithm can round into
 * the neighbouring bucket. That makes `mapToIndex(v) >> c` equal the index at
 * scale − c for every value, so downscaling never moves a value relative to
 * where a lower-scale sketch would have put it, and merges stay exact.
 */
export class Base2Mapping {
  /** The scale, an integer in [-10, 20]: base = 2^(2^-scale). */
  readonly scale: number;
  /** (base − 1) / (base + 1): the worst relative error of a bucket's midpoint. */
  readonly relativeError: number;
  private readonly _scaleFactor: number;
  private readonly _inverseFactor: number;
  private readonly _shift: number;
  private readonly _octaveMask: number;
  /** The index of the bucket holding 2^-1022 and every smaller positive value. */
  readonly minIndex: number;
  /** The index of the bucket holding the largest double. */
  readonly maxIndex: number;
  private readonly _midpointFactor: number;

  private constructor(scale: number) {
    this.scale = scale;
    this._scaleFactor = Math.LOG2E * 2 ** scale;
    this._inverseFactor = Math.LN2 * 2 ** -scale;
    this._shift = scale > 0 ? 0 : -scale;
    this._octaveMask = scale > 0 ? (1 << scale) - 1 : 0;
    if (scale > 0) {
      this.minIndex = (MIN_NORMAL_EXPONENT << scale) - 1;
      this.maxIndex = ((MAX_NORMAL_EXPONENT + 1) << scale) - 1;
    } else {
      this.minIndex =
        (MIN_NORMAL_EXPONENT >> this._shift) - (this._shift < 2 ? 1 : 0);
      this.maxIndex = MAX_NORMAL_EXPONENT >> this._shift;
    }
    const base = 2 ** (2 ** -scale);
    this.relativeError = (base - 1) / (base + 1);
    this._midpointFactor = (2 * base) / (1 + base);
  }

  /**
   * The index of the bucket holding a positive finite value, allocating
   * nothing: one `Math.log` away from bucket boundaries, an exact comparison
   * near them. Anything else (0, negative, NaN, ±Infinity) gets an index in
   * [minIndex, maxIndex] that means nothing: check values first, as
   * `ExponentialSketch.record` does.
   */
  mapToIndex(value: number): number {
    if (this.scale > 0) {
      const x = Math.log(value) * this._scaleFactor;
      const i = Math.floor(x);
      const fraction = x - i;
      // Far from a boundary (and so below maxIndex) and a normal value: done.
      if (
        fraction > BOUNDARY_TOLERANCE &&
        fraction < 1 - BOUNDARY_TOLERANCE &&
        value > MIN_NORMAL_VALUE
      ) {
        return i;
      }
      return this._indexNearBoundary(value, x);
    }
    // Written to send NaN here too, so that no input leaves the index range.
    if (!(value >= MIN_NORMAL_VALUE)) return this.minIndex;
    return (exponentOf(value) - (isPowerOfTwo(value) ? 1 : 0)) >> this._shift;
  }

  /**
   * The value that represents bucket `index` with the least worst-case
   * relative error: 2·lower·upper / (lower + upper).
   */
  midpoint(index: number): number {
    return this.lowerBoundary(index) * this._midpointFactor;
  }

  /** base^index, the exclusive lower end of bucket `index`. */
  lowerBoundary(index: number): number {
    return this.scale > 0
      ? Math.exp(index * this._inverseFactor)
      : 2 ** (index << this._shift);
  }

  private _indexNearBoundary(value: number, x: number): number {
    if (value <= MIN_NORMAL_VALUE) return this.minIndex;
    const nearest = Math.round(x);
    let index: number;
    if ((nearest & this._octaveMask) !== 0) {
      // An irrational boundary: keep the SDK's answer; scaling x by powers of
      // two is exact, so it stays consistent across scales.
      index = Math.floor(x);
    } else {
      // The boundary is the power of two 2^(nearest / 2^scale): decide exactly.
      index = value > 2 ** (nearest >> this.scale) ? nearest : nearest - 1;
    }
    return index < this.maxIndex ? index : this.maxIndex;
  }

  static {
    for (let scale = MIN_SCALE; scale <= MAX_SCALE; scale++) {
      MAPPINGS.push(new Base2Mapping(scale));
    }
  }
}

/**
 * The shared mapping of a scale: cheap enough to call per value (an array
 * read and a check).
 * @throws {RangeError} if `scale` is not an integer in [-10, 20].
 */
export function getMapping(scale: number): Base2Mapping {
  const mapping = MAPPINGS[scale - MIN_SCALE];
  // Undefined for a fractional scale or NaN; another for a string or boolean.
  if (mapping === undefined || mapping.scale !== scale) {
    fail('getMapping', "'scale'", `must be ${describeRule(SCALE_RULE)}`, scale);
  }
  return mapping;
}

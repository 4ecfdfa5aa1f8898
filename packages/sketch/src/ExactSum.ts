import type { ByteReader } from '@datapunk/otel-common/codec';
import type { ByteWriter } from '@datapunk/otel-common/codec';
import {
  leadingBytesOf,
  readLeadingBytes,
  writeLeadingBytes,
} from './codec/leadingBytes';

/**
 * The exact sum of doubles. `value` is that sum correctly rounded, so it is
 * the same double whatever order values and merges arrive in.
 *
 * The running total `hi` takes each value with Knuth's branch-free TwoSum;
 * its rounding error goes the same way into `mid`, and only mid's own
 * rounding error (rare: errors are multiples of the inputs' ulp and mostly
 * add exactly) into `tail`, non-overlapping partials kept by Shewchuk's
 * algorithm (as in Python's `math.fsum`). hi + mid + Σ tail is always the
 * exact sum, and an add costs a few nanoseconds.
 *
 * If `hi` overflows, the sum saturates to ±Infinity (NaN when both signs
 * overflowed) and stays there.
 */
export class ExactSum {
  private _hi = 0;
  private _mid = 0;
  /** Non-zero, non-overlapping partials in increasing magnitude. */
  private _tail: Float64Array = NO_TAIL;
  private _tailLength = 0;

  /** The exact sum rounded to the nearest double (ties to even). */
  get value(): number {
    if (this._hi - this._hi !== 0) return this._hi;
    // hi + mid is then the exact sum, and one addition rounds it correctly.
    if (this._tailLength === 0) return this._hi + this._mid;
    const parts = Array.from(this._tail.subarray(0, this._tailLength));
    let length = addToExpansion(parts, parts.length, this._mid);
    length = addToExpansion(parts, length, this._hi);
    return roundedSum(parts, length);
  }

  /**
   * The exact sum as a unique list of doubles: the rounded sum, then the
   * rounded remainder, and so on until nothing remains ([] for 0). A
   * saturated sum is the one element ±Infinity or NaN.
   */
  canonicalParts(): number[] {
    if (this._hi - this._hi !== 0) return [this._hi];
    const rest = this.clone();
    const parts: number[] = [];
    // Each step removes ≥ 53 bits, so 40 steps span every double exponent.
    for (
      let part = rest.value;
      part !== 0 && parts.length < 40;
      part = rest.value
    ) {
      parts.push(part);
      rest.add(-part);
    }
    return parts;
  }

  add(x: number): void {
    const hi = this._hi + x;
    const back = hi - x;
    const error = this._hi - back + (x - (hi - back));
    this._hi = hi;
    if (error === 0) return;
    const mid = this._mid + error;
    const midBack = mid - error;
    const midError = this._mid - midBack + (error - (mid - midBack));
    this._mid = mid;
    if (midError !== 0) this._addToTail(midError);
  }

  /** Adds value × count exactly (count a positive safe integer). */
  addProduct(value: number, count: number): void {
    const product = value * count;
    this.add(product);
    if (product - product !== 0) return;
    // Splitting overflows above 2^995; scaling by a power of two is exact.
    this.add(
      Math.abs(value) < HUGE
        ? productError(value, count, product)
        : productError(value * 2 ** -53, count, product * 2 ** -53) * 2 ** 53
    );
  }

  merge(other: ExactSum): void {
    this.add(other._hi);
    if (other._hi - other._hi !== 0) return; // saturated: hi is all there is
    this.add(other._mid);
    for (let i = 0; i < other._tailLength; i++) this.add(other._tail[i]);
  }

  /** Back to 0, keeping the tail's storage. */
  clear(): void {
    this._hi = 0;
    this._mid = 0;
    this._tailLength = 0;
  }

  /**
   * The state in binary: one varint of the tail's length and of the bytes
   * mid takes (most sums have no tail, and mid, a sum of rounding errors,
   * has few significant bits: see leadingBytes), hi, mid's leading bytes,
   * then the tail.
   */
  writeTo(writer: ByteWriter): void {
    const midBytes = leadingBytesOf(this._mid);
    writer.writeVarint(this._tailLength * MID_LENGTHS + midBytes);
    writer.writeFloat64(this._hi);
    writeLeadingBytes(writer, this._mid, midBytes);
    for (let i = 0; i < this._tailLength; i++)
      writer.writeFloat64(this._tail[i]);
  }

  /** Adds a sum written by {@link writeTo}; as exact as merge(). */
  mergeFrom(reader: ByteReader): void {
    const header = reader.readVarint();
    const hi = reader.readFloat64();
    const mid = readLeadingBytes(reader, header % MID_LENGTHS);
    const saturated = hi - hi !== 0;
    this.add(hi);
    if (!saturated) this.add(mid);
    for (let i = Math.floor(header / MID_LENGTHS); i > 0; i--) {
      const part = reader.readFloat64();
      if (!saturated) this.add(part);
    }
  }

  clone(): ExactSum {
    const copy = new ExactSum();
    copy._hi = this._hi;
    copy._mid = this._mid;
    copy._tail = this._tailLength === 0 ? NO_TAIL : this._tail.slice();
    copy._tailLength = this._tailLength;
    return copy;
  }

  private _addToTail(x: number): void {
    // A NaN error means hi or mid overflowed; hi then carries the result.
    if (x !== x) return;
    let tail = this._tail;
    if (this._tailLength === tail.length) {
      tail = new Float64Array(Math.max(4, tail.length * 2));
      tail.set(this._tail);
      this._tail = tail;
    }
    this._tailLength = addToExpansion(tail, this._tailLength, x);
  }
}

/**
 * Shewchuk's grow-expansion: adds x to the first `length` partials of
 * `parts` in place (it needs room for one more) and returns the new length;
 * the partials stay non-overlapping and increasing in magnitude.
 */
function addToExpansion(
  parts: Float64Array | number[],
  length: number,
  x: number
): number {
  let n = 0;
  for (let j = 0; j < length; j++) {
    const y = parts[j];
    const hi = x + y;
    const back = hi - x;
    const error = x - (hi - back) + (y - back);
    if (error !== 0) parts[n++] = error;
    x = hi;
  }
  if (x !== 0) parts[n++] = x;
  return n;
}

/** The correctly rounded sum of the first n partials (fsum's final step). */
function roundedSum(parts: number[], n: number): number {
  if (n === 0) return 0;
  let hi = parts[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = parts[--n];
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  // Round half to even across the remaining partials.
  if (n > 0 && ((lo < 0 && parts[n - 1] < 0) || (lo > 0 && parts[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

/** Lengths mid may take in bytes: 0 to 8. */
const MID_LENGTHS = 9;
/** Shared by every sum whose tail is still empty: most never need one. */
const NO_TAIL = new Float64Array(0);
const HUGE = 2 ** 995;
/** Veltkamp's splitter for 53-bit doubles: 2^27 + 1. */
const SPLITTER = 134217729;

/** The rounding error of a × b = p (Dekker's two-product), exact unless it underflows. */
function productError(a: number, b: number, p: number): number {
  const [aHi, aLo] = split(a);
  const [bHi, bLo] = split(b);
  return aLo * bLo - (p - aHi * bHi - aLo * bHi - aHi * bLo);
}

function split(a: number): [number, number] {
  const c = SPLITTER * a;
  const hi = c - (c - a);
  return [hi, a - hi];
}

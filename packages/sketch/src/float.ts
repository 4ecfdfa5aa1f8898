/**
 * Exact IEEE 754 double helpers. Reading the exponent bits is exact where
 * `Math.log2` rounds (e.g. 2^k minus one ulp rounds up to k).
 */

const FLOAT = new Float64Array(1);
const WORDS = new Uint32Array(FLOAT.buffer);
/** Index of the 32-bit word holding sign, exponent and top significand bits. */
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LOW_WORD = 1 - HIGH_WORD;

const EXPONENT_MASK = 0x7ff00000;
const SIGNIFICAND_HIGH_MASK = 0x000fffff;
const EXPONENT_BIAS = 1023;

/** The smallest exponent of a normal double. */
export const MIN_NORMAL_EXPONENT = -1022;
/** The largest exponent of a finite double. */
export const MAX_NORMAL_EXPONENT = 1023;
/** The smallest positive normal double, 2^-1022. */
export const MIN_NORMAL_VALUE = 2 ** MIN_NORMAL_EXPONENT;

/** k such that value = f × 2^k with f in [1, 2); value must be positive and normal. */
export function exponentOf(value: number): number {
  FLOAT[0] = value;
  return ((WORDS[HIGH_WORD] & EXPONENT_MASK) >>> 20) - EXPONENT_BIAS;
}

/** Whether a positive normal value is an exact power of two. */
export function isPowerOfTwo(value: number): boolean {
  FLOAT[0] = value;
  return (
    (WORDS[HIGH_WORD] & SIGNIFICAND_HIGH_MASK) === 0 && WORDS[LOW_WORD] === 0
  );
}

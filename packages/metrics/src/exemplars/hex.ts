const DIGITS = '0123456789abcdef';
/** Lower-case hex of every byte value. */
const BYTE_HEX: string[] = Array.from(
  { length: 256 },
  (_, b) => DIGITS[b >> 4] + DIGITS[b & 15]
);

/**
 * Writes the hex string `hex` (2 digits per byte) as `length` bytes at
 * `offset`; returns false, writing nothing, unless it is exactly that many
 * hex digits.
 */
export function writeHex(
  hex: string,
  into: Uint8Array,
  offset: number,
  length: number
): boolean {
  if (typeof hex !== 'string' || hex.length !== 2 * length) return false;
  for (let i = 0; i < 2 * length; i++)
    if (digitOf(hex.charCodeAt(i)) < 0) return false;
  for (let i = 0; i < length; i++)
    into[offset + i] =
      (digitOf(hex.charCodeAt(2 * i)) << 4) |
      digitOf(hex.charCodeAt(2 * i + 1));
  return true;
}

/** `length` bytes at `offset` as lower-case hex. */
export function readHex(
  from: Uint8Array,
  offset: number,
  length: number
): string {
  let hex = '';
  for (let i = 0; i < length; i++) hex += BYTE_HEX[from[offset + i]];
  return hex;
}

function digitOf(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

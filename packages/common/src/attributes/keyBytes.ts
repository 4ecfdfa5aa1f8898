/**
 * The bytes a store keeps an attribute key in: one byte per UTF-16 unit
 * below {@link KEY_ESCAPE} (keys are mostly ASCII), else KEY_ESCAPE and the
 * unit's two bytes, high first. Half the bytes of UTF-16 for the usual key,
 * and any string comes back exactly.
 */
export const KEY_ESCAPE = 0xff;

/**
 * Node's Latin-1 decoder (a byte per unit, as a key without escapes is
 * stored): about twice as fast as fromCharCode for a short key; elsewhere
 * undefined.
 */
const latin1Slice = (
  globalThis as {
    Buffer?: {
      prototype: { latin1Slice?: (from: number, to: number) => string };
    };
  }
).Buffer?.prototype.latin1Slice;

/** Units decoded per fromCharCode call: its arguments go on the stack. */
const DECODE_PIECE = 4096;

/** Bytes `key[from, to)` takes. */
export function keyByteLength(key: string, from = 0, to = key.length): number {
  let bytes = to - from;
  for (let i = from; i < to; i++)
    if (key.charCodeAt(i) >= KEY_ESCAPE) bytes += 2;
  return bytes;
}

/**
 * Writes `key[from, to)` into `bytes` from `at`, which has room for its
 * keyByteLength; returns the position after it.
 */
export function writeKeyBytes(
  key: string,
  bytes: Uint8Array,
  at: number,
  from = 0,
  to = key.length
): number {
  for (let i = from; i < to; i++) {
    const unit = key.charCodeAt(i);
    if (unit < KEY_ESCAPE) {
      bytes[at++] = unit;
    } else {
      bytes[at++] = KEY_ESCAPE;
      bytes[at++] = unit >> 8;
      bytes[at++] = unit & 0xff;
    }
  }
  return at;
}

/** The key written in `bytes[from, to)`. */
export function readKeyBytes(
  bytes: Uint8Array,
  from: number,
  to: number
): string {
  let escaped = false;
  for (let at = from; at < to && !escaped; at++)
    escaped = bytes[at] === KEY_ESCAPE;
  if (!escaped)
    return latin1Slice === undefined
      ? decodeUnits(bytes, from, to)
      : latin1Slice.call(bytes, from, to);
  const units = new Uint16Array(to - from);
  let length = 0;
  for (let at = from; at < to; at++) {
    const byte = bytes[at];
    units[length++] =
      byte === KEY_ESCAPE ? (bytes[++at] << 8) | bytes[++at] : byte;
  }
  return decodeUnits(units, 0, length);
}

/** The position after `text[from, to)` when `bytes` hold it from `at`, else -1. */
export function matchKeyText(
  bytes: Uint8Array,
  at: number,
  text: string,
  from = 0,
  to = text.length
): number {
  if (at < 0) return -1;
  for (let i = from; i < to; i++) {
    const unit = text.charCodeAt(i);
    if (unit < KEY_ESCAPE) {
      if (bytes[at++] !== unit) return -1;
    } else if (
      bytes[at] !== KEY_ESCAPE ||
      bytes[at + 1] !== unit >> 8 ||
      bytes[at + 2] !== (unit & 0xff)
    ) {
      return -1;
    } else {
      at += 3;
    }
  }
  return at;
}

/** A string of the units `units[from, to)`. */
function decodeUnits(
  units: Uint8Array | Uint16Array,
  from: number,
  to: number
): string {
  let text = '';
  for (let i = from; i < to; i += DECODE_PIECE)
    // apply takes the typed array as it is; a spread would iterate it (7× slower).
    text += String.fromCharCode.apply(
      null,
      units.subarray(i, Math.min(to, i + DECODE_PIECE)) as unknown as number[]
    );
  return text;
}

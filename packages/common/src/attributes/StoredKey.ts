import type { AttributeValue, Attributes } from '@opentelemetry/api';
import { decodeAttributeValue, setAttribute } from './AttributeReader';
import {
  KEY_ESCAPE,
  keyByteLength,
  matchKeyText,
  readKeyBytes,
  writeKeyBytes,
} from './keyBytes';

const COLON = 58;
const SEMICOLON = 59;
const S = 115;
const N = 110;
const T = 116;
const F = 102;
const A = 97;

/**
 * The form a store keeps an attribute key in (the key of
 * AttributeReading.key: `<length>:<name>` and the value's part per
 * attribute) with its names in a table of the store's own: per attribute,
 * the name's index in the table as a varint, then the value's part of the
 * key (`s<length>:<text>`, `n<number>;`, `t`, `f`, or an array
 * `a<length>:` and its elements' parts, `z` for null) in the bytes of
 * writeKeyBytes. The series of a stream share a few names, so a key keeps
 * its values and a byte or two per name. PlainAttributes.matches reads
 * this form in place.
 *
 * A key is encoded into {@link bytes} (reused: valid until the next
 * call), and read from a store's bytes; {@link storedKeyEquals} compares a
 * key string with a stored key in place.
 */
export class StoredKey {
  /** The last key encoded, in its first {@link length} bytes. */
  bytes = new Uint8Array(256);
  length = 0;

  /** Encodes `key`, each name as `indexOf(name)`. */
  encode(key: string, indexOf: (name: string) => number): void {
    this.length = 0;
    for (let at = 0; at < key.length; ) {
      const colon = key.indexOf(':', at);
      const nameStart = colon + 1;
      at = nameStart + digitsOf(key, at, colon);
      const index = indexOf(key.slice(nameStart, at));
      const to = keyValueEnd(key, at);
      this._reserve(5 + keyByteLength(key, at, to));
      const bytes = this.bytes;
      for (let rest = index; ; rest >>>= 7) {
        bytes[this.length++] = (rest & 0x7f) | (rest >= 0x80 ? 0x80 : 0);
        if (rest < 0x80) break;
      }
      this.length = writeKeyBytes(key, bytes, this.length, at, to);
      at = to;
    }
  }

  /**
   * The key stored in `bytes[from, to)`, one flat string (a key kept for
   * long, e.g. by a bound handle, would otherwise be a rope of pieces).
   */
  keyOf(
    bytes: Uint8Array,
    from: number,
    to: number,
    names: readonly (string | undefined)[]
  ): string {
    this.length = 0;
    for (let at = from; at < to; ) {
      const name = names[readVarint(bytes, at)]!;
      at = afterVarint(bytes, at);
      const end = valueEnd(bytes, at);
      const counted = `${name.length}:`;
      this._reserve(counted.length + keyByteLength(name) + end - at);
      this.length = writeKeyBytes(counted, this.bytes, this.length);
      this.length = writeKeyBytes(name, this.bytes, this.length);
      this.bytes.set(bytes.subarray(at, end), this.length);
      this.length += end - at;
      at = end;
    }
    return readKeyBytes(this.bytes, 0, this.length);
  }

  private _reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(2 * (this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

/**
 * Whether `bytes[from, to)` hold `key` in its stored form, the names'
 * indexes being into `names`: read in place, nothing allocated.
 */
export function storedKeyEquals(
  key: string,
  bytes: Uint8Array,
  from: number,
  to: number,
  names: readonly (string | undefined)[]
): boolean {
  let at = from;
  for (let k = 0; k < key.length; ) {
    if (at >= to) return false;
    const colon = key.indexOf(':', k);
    const nameStart = colon + 1;
    const nameLength = digitsOf(key, k, colon);
    const name = names[readVarint(bytes, at)];
    if (
      name === undefined ||
      name.length !== nameLength ||
      !key.startsWith(name, nameStart)
    )
      return false;
    k = nameStart + nameLength;
    const end = keyValueEnd(key, k);
    at = matchKeyText(bytes, afterVarint(bytes, at), key, k, end);
    if (at < 0) return false;
    k = end;
  }
  return at === to;
}

/** The attributes of the key stored in `bytes[from, to)` (names in key order, own properties). */
export function storedAttributes(
  bytes: Uint8Array,
  from: number,
  to: number,
  names: readonly (string | undefined)[]
): Attributes {
  const attributes: Attributes = {};
  for (let at = from; at < to; ) {
    const name = names[readVarint(bytes, at)]!;
    at = afterVarint(bytes, at);
    const end = valueEnd(bytes, at);
    const tag = bytes[at];
    let value: AttributeValue;
    if (tag === S) value = readKeyBytes(bytes, textStart(bytes, at), end);
    else if (tag === N) value = Number(readKeyBytes(bytes, at + 1, end - 1));
    else if (tag === T || tag === F) value = tag === T;
    // An array (rare): the reader's decoder.
    else value = decodeAttributeValue(readKeyBytes(bytes, at, end));
    setAttribute(attributes, name, value);
    at = end;
  }
  return attributes;
}

/** Calls `visit` with the index of each name of the key stored in `bytes[from, to)`. */
export function forEachStoredName(
  bytes: Uint8Array,
  from: number,
  to: number,
  visit: (index: number) => void
): void {
  for (let at = from; at < to; ) {
    visit(readVarint(bytes, at));
    at = valueEnd(bytes, afterVarint(bytes, at));
  }
}

function readVarint(bytes: Uint8Array, at: number): number {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[at++];
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return value;
  }
}

function afterVarint(bytes: Uint8Array, at: number): number {
  while (bytes[at++] & 0x80);
  return at;
}

/** Where the text of an `s<length>:<text>` part at `at` starts. */
function textStart(bytes: Uint8Array, at: number): number {
  while (bytes[at] !== COLON) at++;
  return at + 1;
}

/** The end of the value's part at `at` of a key string (see valueEnd). */
function keyValueEnd(key: string, at: number): number {
  const tag = key.charCodeAt(at);
  if (tag === S || tag === A) {
    const colon = key.indexOf(':', at);
    const length = digitsOf(key, at + 1, colon);
    if (tag === S) return colon + 1 + length;
    let end = colon + 1;
    for (let i = 0; i < length; i++) end = keyValueEnd(key, end);
    return end;
  }
  return tag === N ? key.indexOf(';', at) + 1 : at + 1;
}

/** The number the decimal digits `key[from, to)` write. */
function digitsOf(key: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) value = value * 10 + key.charCodeAt(i) - 48;
  return value;
}

/**
 * The end of the value's part at `at`: `s<length>:<text>`, `n<number>;`,
 * `a<length>:` and its elements' parts, or one byte (`t`, `f`, `z`).
 */
function valueEnd(bytes: Uint8Array, at: number): number {
  const tag = bytes[at];
  if (tag === S || tag === A) {
    let length = 0;
    for (at++; bytes[at] !== COLON; at++) length = length * 10 + bytes[at] - 48;
    at++;
    if (tag === A) {
      for (; length > 0; length--) at = valueEnd(bytes, at);
      return at;
    }
    // A unit takes one byte, or KEY_ESCAPE and two.
    for (; length > 0; length--) at += bytes[at] === KEY_ESCAPE ? 3 : 1;
    return at;
  }
  if (tag === N) {
    while (bytes[at] !== SEMICOLON) at++;
    return at + 1;
  }
  return at + 1;
}

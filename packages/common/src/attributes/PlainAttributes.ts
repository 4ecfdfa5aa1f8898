import { MAX_ATTRIBUTE_KEY_LENGTH } from './bounds';
import type { AttributeBounds } from './bounds';
import { matchKeyText } from './keyBytes';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const COLON = 58;
const SEMICOLON = 59;

/**
 * FNV-1a over a string's UTF-16 units, as an int32: the hash stores keep
 * attribute keys under.
 */
export function hashKey(key: string): number {
  return hashString(FNV_OFFSET, key) | 0;
}

/**
 * An attribute set that needs nothing dropped or cut (the common case):
 * its names in sorted order and their string, number or boolean values,
 * read once into reused arrays. A store finds its series from these
 * without building the key string: {@link hash} is the hash of the key
 * (as {@link hashKey} computes it), {@link matches} compares a stored key
 * (StoredKey) with it in place, and {@link key} builds the string only for
 * a new series.
 */
export class PlainAttributes {
  private readonly _names: string[] = [];
  private readonly _values: (string | number | boolean)[] = [];
  private _length = 0;
  /** The names of the last set read, as given and sorted. */
  private _lastGiven: string[] = [];
  private _lastSorted: string[] = [];

  /**
   * Reads `input`; false (read nothing) when it needs the full read of an
   * AttributeReader: not a plain object of primitives within `bounds`, or a
   * getter or Proxy that throws.
   */
  read(input: unknown, bounds: AttributeBounds): boolean {
    if (typeof input !== 'object' || input === null) return false;
    try {
      const given = Object.keys(input);
      if (given.length > bounds.maxAttributesPerSeries || Array.isArray(input))
        return false;
      const names = this._sorted(given);
      let bytes = 0;
      for (let i = 0; i < names.length; i++) {
        const name = names[i];
        if (name.length === 0 || name.length > MAX_ATTRIBUTE_KEY_LENGTH)
          return false;
        const value = (input as Record<string, unknown>)[name];
        if (typeof value === 'string') {
          if (value.length > bounds.maxAttributeValueLength) return false;
          bytes += 2 * (name.length + value.length);
        } else if (typeof value === 'number' || typeof value === 'boolean') {
          bytes += 2 * name.length + 8;
        } else {
          return false;
        }
        this._names[i] = name;
        this._values[i] = value;
      }
      this._length = names.length;
      return bytes <= bounds.maxAttributeBytesPerSeries;
    } catch {
      // A getter or Proxy that throws: the full read counts it.
      return false;
    }
  }

  /**
   * `names` sorted. Callers mostly pass objects of one shape, whose keys
   * come in the same order (the same interned strings): the order of the
   * last shape is reused rather than sorted again.
   */
  private _sorted(names: string[]): string[] {
    const last = this._lastGiven;
    if (last.length === names.length) {
      let i = 0;
      while (i < names.length && last[i] === names[i]) i++;
      if (i === names.length) return this._lastSorted;
    }
    let sorted = names;
    for (let i = 1; i < names.length; i++)
      if (names[i - 1] > names[i]) {
        sorted = names.slice().sort();
        break;
      }
    // Names too long are refused by the read: never kept alive here.
    for (const name of names)
      if (name.length > MAX_ATTRIBUTE_KEY_LENGTH) return sorted;
    this._lastGiven = names;
    this._lastSorted = sorted;
    return sorted;
  }

  /** The hash of this set's key, without making the key. */
  hash(): number {
    let hash = FNV_OFFSET;
    for (let i = 0; i < this._length; i++) {
      const name = this._names[i];
      hash = hashString(hashDigits(hash, name.length), ':');
      hash = hashString(hash, name);
      const value = this._values[i];
      if (typeof value === 'string') {
        hash = hashString(hashDigits(hashString(hash, 's'), value.length), ':');
        hash = hashString(hash, value);
      } else if (typeof value === 'number') {
        hash = hashString(
          hashString(hashString(hash, 'n'), String(value)),
          ';'
        );
      } else {
        hash = hashString(hash, value ? 't' : 'f');
      }
    }
    return hash | 0;
  }

  /**
   * Whether `bytes[from, to)` hold this set's key in its StoredKey form,
   * the names' indexes being into `names`.
   */
  matches(
    bytes: Uint8Array,
    from: number,
    to: number,
    names: readonly (string | undefined)[]
  ): boolean {
    let at = from;
    for (let i = 0; i < this._length; i++) {
      let id = 0;
      let shift = 0;
      let byte: number;
      do {
        if (at >= to) return false;
        byte = bytes[at++];
        id |= (byte & 0x7f) << shift;
        shift += 7;
      } while (byte & 0x80);
      if (names[id] !== this._names[i]) return false;
      const value = this._values[i];
      if (typeof value === 'string') {
        if (bytes[at++] !== 115 /* s */) return false;
        at = matchDigits(bytes, at, value.length);
        if (at < 0 || bytes[at++] !== COLON) return false;
        at = matchKeyText(bytes, at, value);
      } else if (typeof value === 'number') {
        if (bytes[at++] !== 110 /* n */) return false;
        at = matchKeyText(bytes, at, String(value));
        if (at < 0 || bytes[at++] !== SEMICOLON) return false;
      } else if (bytes[at++] !== (value ? 116 /* t */ : 102) /* f */) {
        return false;
      }
      if (at < 0) return false;
    }
    return at === to;
  }

  /** The key, as AttributeReader.read would give it. */
  key(): string {
    let key = '';
    for (let i = 0; i < this._length; i++) {
      const name = this._names[i];
      const value = this._values[i];
      key += `${name.length}:${name}`;
      if (typeof value === 'string') key += `s${value.length}:${value}`;
      else if (typeof value === 'number') key += `n${value};`;
      else key += value ? 't' : 'f';
    }
    return key;
  }
}

function hashString(hash: number, text: string): number {
  for (let i = 0; i < text.length; i++)
    hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash;
}

/** Hashes the decimal digits of a non-negative integer, as String(n) would give them. */
function hashDigits(hash: number, n: number): number {
  let divisor = 1;
  while (divisor * 10 <= n) divisor *= 10;
  for (; divisor >= 1; divisor /= 10)
    hash = Math.imul(hash ^ (48 + (Math.floor(n / divisor) % 10)), FNV_PRIME);
  return hash;
}

/** The position after the decimal digits of `n` if `bytes` hold them at `at`, else -1. */
function matchDigits(bytes: Uint8Array, at: number, n: number): number {
  if (at < 0) return -1;
  let divisor = 1;
  while (divisor * 10 <= n) divisor *= 10;
  for (; divisor >= 1; divisor /= 10)
    if (bytes[at++] !== 48 + (Math.floor(n / divisor) % 10)) return -1;
  return at;
}

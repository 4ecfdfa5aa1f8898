import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { DEFAULT_ATTRIBUTE_BOUNDS, MAX_ATTRIBUTE_KEY_LENGTH } from './bounds';
import type { AttributeBounds } from './bounds';
import { PlainAttributes } from './PlainAttributes';

/** An attribute set as read: what is kept, its key, and what was not. */
export interface AttributeReading {
  /** Own properties only, keys in sorted order; safe to keep. */
  readonly attributes: Attributes;
  /** Equal for equal sets, whatever their key order or the values' types. */
  readonly key: string;
  /**
   * Entries that are not OpenTelemetry attributes (a key that is empty, a
   * value that is not a primitive or a homogeneous array of primitives) or
   * that threw when read (a getter, a Proxy).
   */
  readonly invalid: number;
  /**
   * Values cut to maxAttributeValueLength (strings, array elements, arrays
   * longer than that many elements) and keys cut to MAX_ATTRIBUTE_KEY_LENGTH.
   */
  readonly truncated: number;
  /** Valid entries beyond maxAttributesPerSeries or maxAttributeBytesPerSeries. */
  readonly dropped: number;
}

const NUMBER_BYTES = 8;
/** readKey's answer for a set read without dropping or cutting anything. */
const PLAIN = { key: '', invalid: 0, truncated: 0, dropped: 0 };
const EMPTY: AttributeReading = Object.freeze({
  attributes: Object.freeze({}),
  key: '',
  invalid: 0,
  truncated: 0,
  dropped: 0,
});

/**
 * Reads attribute sets handed over by callers, as the OpenTelemetry API
 * defines them (values are primitives or homogeneous arrays of primitives;
 * null and undefined mean absent), defensively: the input may be a Proxy,
 * have throwing getters or hold BigInts, Symbols or objects with `toJSON`.
 * Nothing of the input is kept or called beyond reading its own enumerable
 * string keys once; what is kept is copied and bounded first.
 */
export class AttributeReader {
  private readonly _bounds: AttributeBounds;
  private readonly _plain = new PlainAttributes();

  constructor(bounds: AttributeBounds = DEFAULT_ATTRIBUTE_BOUNDS) {
    this._bounds = bounds;
  }

  get bounds(): Readonly<AttributeBounds> {
    return this._bounds;
  }

  /**
   * The set `input` describes; undefined when `input` is not an attributes
   * object at all (a string, an array, a function, or an object whose keys
   * cannot be listed). `undefined` and `null` read as the empty set.
   */
  read(input: unknown): AttributeReading | undefined {
    const entries = this._readEntries(input);
    if (entries === undefined) return undefined;
    if (entries === EMPTY_ENTRIES) return EMPTY;
    return {
      // fromEntries defines own properties, so a '__proto__' key stays a key.
      attributes: Object.fromEntries(entries),
      key: keyOf(entries),
      invalid: entries.invalid,
      truncated: entries.truncated,
      dropped: entries.dropped,
    };
  }

  /**
   * As {@link read}, without making the attributes object: what finding a
   * series needs (decodeAttributeKey makes the object from the key when it
   * is needed). The answer is valid until the next call: read it at once.
   */
  readKey(input: unknown): Omit<AttributeReading, 'attributes'> | undefined {
    if (this._plain.read(input, this._bounds)) {
      // The common case answers in one reused object: read it at once.
      PLAIN.key = this._plain.key();
      return PLAIN;
    }
    const entries = this._readEntries(input);
    if (entries === undefined) return undefined;
    if (entries === EMPTY_ENTRIES) return EMPTY;
    return {
      key: keyOf(entries),
      invalid: entries.invalid,
      truncated: entries.truncated,
      dropped: entries.dropped,
    };
  }

  private _readEntries(input: unknown): Entries | undefined {
    if (input === undefined || input === null) return EMPTY_ENTRIES;
    let keys: string[];
    try {
      if (typeof input !== 'object' || Array.isArray(input)) return undefined;
      keys = Object.keys(input).sort();
    } catch {
      return undefined;
    }
    const bounds = this._bounds;
    const entries = [] as unknown as Entries;
    let invalid = 0;
    let truncated = 0;
    let dropped = 0;
    let bytes = 0;
    for (const rawKey of keys) {
      let value: AttributeValue;
      let cut: number;
      try {
        const read = readValue(
          (input as Record<string, unknown>)[rawKey],
          bounds.maxAttributeValueLength
        );
        if (read === INVALID) {
          invalid++;
          continue;
        }
        if (read === undefined) continue;
        value = read.value;
        cut = read.truncated;
      } catch {
        invalid++;
        continue;
      }
      if (rawKey.length === 0) {
        invalid++;
        continue;
      }
      const key =
        rawKey.length > MAX_ATTRIBUTE_KEY_LENGTH
          ? copyPrefix(rawKey, MAX_ATTRIBUTE_KEY_LENGTH)
          : rawKey;
      if (key !== rawKey) cut++;
      const size = 2 * key.length + sizeOf(value);
      if (
        entries.length >= bounds.maxAttributesPerSeries ||
        bytes + size > bounds.maxAttributeBytesPerSeries
      ) {
        dropped++;
        continue;
      }
      bytes += size;
      truncated += cut;
      entries.push([key, value]);
    }
    if (entries.length === 0 && invalid + dropped === 0) return EMPTY_ENTRIES;
    entries.invalid = invalid;
    entries.truncated = truncated;
    entries.dropped = dropped;
    return entries;
  }
}

/** Entries kept, sorted by key, with the counts of what was not. */
type Entries = [string, AttributeValue][] & {
  invalid: number;
  truncated: number;
  dropped: number;
};

const EMPTY_ENTRIES = Object.assign([], {
  invalid: 0,
  truncated: 0,
  dropped: 0,
}) as Entries;

const INVALID = Symbol('invalid');

/**
 * Whether `value` is an OpenTelemetry attribute value: a string, number or
 * boolean, or an array of one of those types (nulls allowed); absent
 * (undefined, null) counts as valid. Never throws.
 */
export function isAttributeValue(value: unknown): boolean {
  try {
    return readValue(value, Infinity) !== INVALID;
  } catch {
    return false;
  }
}

/** A value read and copied; INVALID if it is no attribute value, undefined if absent. */
function readValue(
  value: unknown,
  maxLength: number
): { value: AttributeValue; truncated: number } | typeof INVALID | undefined {
  if (value === undefined || value === null) return undefined;
  switch (typeof value) {
    case 'string':
      return value.length > maxLength
        ? { value: copyPrefix(value, maxLength), truncated: 1 }
        : { value, truncated: 0 };
    case 'number':
    case 'boolean':
      return { value, truncated: 0 };
    case 'object':
      return Array.isArray(value) ? readArray(value, maxLength) : INVALID;
    default:
      return INVALID;
  }
}

/**
 * A copy of a homogeneous array of primitives (nulls allowed), or INVALID;
 * at most `maxLength` elements are kept (a longer array counts as cut).
 */
function readArray(
  array: readonly unknown[],
  maxLength: number
): { value: AttributeValue; truncated: number } | typeof INVALID {
  const given = array.length;
  if (typeof given !== 'number') return INVALID;
  const length = Math.min(given, maxLength);
  const copy: unknown[] = new Array(length);
  let type: string | undefined;
  let truncated = given > length ? 1 : 0;
  for (let i = 0; i < length; i++) {
    let element = array[i];
    if (element === undefined) element = null;
    if (element !== null) {
      const elementType = typeof element;
      if (
        (type !== undefined && elementType !== type) ||
        (elementType !== 'string' &&
          elementType !== 'number' &&
          elementType !== 'boolean')
      )
        return INVALID;
      type = elementType;
      if (type === 'string' && (element as string).length > maxLength) {
        element = copyPrefix(element as string, maxLength);
        truncated++;
      }
    }
    copy[i] = element;
  }
  return { value: copy as AttributeValue, truncated };
}

/**
 * The first `length` characters of `text`, as a string of their own: a
 * plain slice would keep the whole of a long original alive (V8 slices
 * point into their parent), so 10 MB would stay retained behind 1 KB.
 * Slicing a concatenation makes V8 copy the characters into a new string.
 */
function copyPrefix(text: string, length: number): string {
  return (text.slice(0, length) + ' ').slice(0, length);
}

function sizeOf(value: AttributeValue): number {
  if (typeof value === 'string') return 2 * value.length;
  if (!Array.isArray(value)) return NUMBER_BYTES;
  let bytes = 0;
  for (const element of value)
    bytes += typeof element === 'string' ? 2 * element.length : NUMBER_BYTES;
  return bytes;
}

/**
 * A key unambiguous for any keys and values: each part is prefixed with its
 * type and length, so no separator inside a string can fake a boundary, and
 * 1, '1' and true differ.
 */
function keyOf(entries: readonly [string, AttributeValue][]): string {
  let key = '';
  for (const [name, value] of entries)
    key += `${name.length}:${name}${partOf(value)}`;
  return key;
}

function partOf(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return `s${value.length}:${value}`;
    case 'number':
      return `n${value};`;
    case 'boolean':
      return value ? 't' : 'f';
    default:
      if (value === null) return 'z';
      return `a${(value as unknown[]).length}:${(value as unknown[]).map(partOf).join('')}`;
  }
}

/**
 * The attributes a key of {@link AttributeReading.key} stands for: the
 * reading's attributes, made again (keys in sorted order, own properties).
 * Exports decode every series' key, so it reads in place: no cursor, entry
 * or slice objects beyond the strings it returns.
 * @throws {TypeError} for a string that is no such key.
 */
export function decodeAttributeKey(key: string): Attributes {
  const attributes: Attributes = {};
  decoding = key;
  at = 0;
  while (at < key.length) {
    const name = readCounted();
    setAttribute(attributes, name, readPart() as AttributeValue);
  }
  decoding = '';
  return attributes;
}

/**
 * Sets an attribute as an own, enumerable property, `'__proto__'` too (a
 * plain assignment of that name would set the prototype instead).
 */
export function setAttribute(
  attributes: Attributes,
  name: string,
  value: AttributeValue
): void {
  if (name === '__proto__')
    Object.defineProperty(attributes, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else attributes[name] = value;
}

/**
 * The value one part of a key stands for (`s<length>:<text>`,
 * `n<number>;`, `t`, `f` or an array `a<length>:<parts>`), e.g. a part a
 * store kept apart from its name.
 * @throws {TypeError} for a string that is no such part.
 */
export function decodeAttributeValue(part: string): AttributeValue {
  decoding = part;
  at = 0;
  const value = readPart() as AttributeValue;
  if (at !== part.length) throw notAKey(at);
  decoding = '';
  return value;
}

/** The key being decoded and the position in it (JS is single-threaded). */
let decoding = '';
let at = 0;

/** `<length>:<text>` at the position. */
function readCounted(): string {
  const length = readLength();
  const from = at;
  at += length;
  if (at > decoding.length) throw notAKey(from);
  return decoding.slice(from, at);
}

/** The decimal digits before a ':', and past the ':'. */
function readLength(): number {
  const from = at;
  let length = 0;
  for (let code = decoding.charCodeAt(at); code !== COLON; ) {
    if (!(code >= ZERO && code <= NINE)) throw notAKey(from);
    length = length * 10 + code - ZERO;
    code = decoding.charCodeAt(++at);
  }
  if (at === from) throw notAKey(from);
  at++;
  return length;
}

function readPart(): unknown {
  const tag = decoding[at++];
  switch (tag) {
    case 's':
      return readCounted();
    case 'n': {
      const end = decoding.indexOf(';', at);
      if (end < 0) throw notAKey(at);
      const value = Number(decoding.slice(at, end));
      at = end + 1;
      return value;
    }
    case 't':
      return true;
    case 'f':
      return false;
    case 'z':
      return null;
    case 'a': {
      const length = readLength();
      // Pushed one by one: a forged length must not allocate up front.
      const values: unknown[] = [];
      for (let i = 0; i < length; i++) values.push(readPart());
      return values;
    }
    default:
      throw notAKey(at - 1);
  }
}

const COLON = 58;
const ZERO = 48;
const NINE = 57;

function notAKey(position: number): TypeError {
  decoding = '';
  return new TypeError(`not an attribute key at ${position}`);
}

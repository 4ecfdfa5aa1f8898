import {
  KEY_ESCAPE,
  decodeAttributeValue,
  hashKey,
  keyByteLength,
  readKeyBytes,
  setAttribute,
  writeKeyBytes,
} from '@datapunk/otel-common';
import type { PlainAttributes } from '@datapunk/otel-common';
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import { Arena, chunkOf, offsetOf } from './arena/Arena';
import { AttributeNames } from './AttributeNames';
import { ColumnSet } from './arena/columns';
import { columnBytes } from './arena/HeldBytes';

const EMPTY = 0;
const DELETED = -1;
const COLON = 58;
const SEMICOLON = 59;
const S = 115;
const N = 110;
const T = 116;
const F = 102;
const A = 97;

/** Where a key is encoded before it is filed or compared (JS is single-threaded). */
let scratch = new Uint8Array(256);

/**
 * The series of one stream by their attribute key (the canonical string of
 * an attribute set: `<length>:<name>` and the value's part, `s<length>:<text>`,
 * `n<number>;`, `t`, `f` or an array `a<length>:<parts>`, per attribute), without an object per series:
 * keys are kept in one arena with each name as its index in the stream's
 * {@link AttributeNames} (a varint; the series of a stream share a few
 * names) and each value's part in the bytes of writeKeyBytes (a byte per
 * character for the usual key), and found through an open-addressing table
 * of ids in an Int32Array, so neither the keys nor the index are traced by
 * the GC.
 */
export class SeriesKeys {
  private readonly _bytes = new Arena();
  private readonly _names = new AttributeNames();
  /** Per id: its key's block in the arena (the key starts at the block's offset). */
  private _block = new Int32Array(0);
  /** Per id: its key's bytes. */
  private _length = new Int32Array(0);
  private _hash = new Int32Array(0);
  /** 1 for ids that hold a key. */
  private _used = new Uint8Array(0);
  private readonly _columns = new ColumnSet([
    {
      get: () => this._block,
      set: c => (this._block = c as Int32Array<ArrayBuffer>),
    },
    {
      get: () => this._length,
      set: c => (this._length = c as Int32Array<ArrayBuffer>),
    },
    {
      get: () => this._hash,
      set: c => (this._hash = c as Int32Array<ArrayBuffer>),
    },
    {
      get: () => this._used,
      set: c => (this._used = c as Uint8Array<ArrayBuffer>),
    },
  ]);
  /** id + 1 per slot; EMPTY or DELETED. */
  private _table = new Int32Array(64);
  private _filled = 0;

  /** Bytes held by the keys' arena, the index, the columns and the names. */
  get byteLength(): number {
    return (
      this._bytes.byteLength +
      this._names.byteLength +
      columnBytes(
        this._table,
        this._block,
        this._length,
        this._hash,
        this._used
      )
    );
  }

  /** The id of the series whose key a plain attribute set has, or -1 (its key is never made). */
  findPlain(attributes: PlainAttributes): number {
    const hash = attributes.hash();
    const mask = this._table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this._table[slot];
      if (entry === EMPTY) return -1;
      if (entry !== DELETED) {
        const id = entry - 1;
        const block = this._block[id];
        const offset = offsetOf(block);
        if (
          this._hash[id] === hash &&
          attributes.matches(
            this._bytes.u8[chunkOf(block)],
            offset,
            offset + this._length[id],
            this._names.names
          )
        )
          return id;
      }
    }
  }

  /** The id of the series with `key`, or -1. */
  find(key: string): number {
    const length = this._encode(key, false);
    if (length < 0) return -1;
    const hash = hashKey(key);
    const mask = this._table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this._table[slot];
      if (entry === EMPTY) return -1;
      if (entry !== DELETED) {
        const id = entry - 1;
        if (this._hash[id] === hash && this._equals(id, length)) return id;
      }
    }
  }

  /** Files `key` as series `id` (which must not hold a key now). */
  add(key: string, id: number): void {
    this._columns.reserve(id + 1);
    if (2 * (this._filled + 1) > this._table.length)
      this._rehash(this._table.length * 2);
    const hash = hashKey(key);
    const length = this._encode(key, true);
    const block = this._bytes.allocate(length);
    this._bytes.u8[chunkOf(block)].set(
      scratch.subarray(0, length),
      offsetOf(block)
    );
    this._block[id] = block;
    this._length[id] = length;
    this._hash[id] = hash;
    this._used[id] = 1;
    const mask = this._table.length - 1;
    let slot = hash & mask;
    while (this._table[slot] > 0) slot = (slot + 1) & mask;
    if (this._table[slot] === EMPTY) this._filled++;
    this._table[slot] = id + 1;
  }

  /** Forgets series `id`'s key, if it holds one. */
  remove(id: number): void {
    if (id >= this._used.length || this._used[id] === 0) return;
    this._used[id] = 0;
    const mask = this._table.length - 1;
    for (let slot = this._hash[id] & mask; ; slot = (slot + 1) & mask) {
      const entry = this._table[slot];
      if (entry === EMPTY) return;
      if (entry === id + 1) {
        this._table[slot] = DELETED;
        break;
      }
    }
    this._releaseNames(id);
    this._bytes.free(this._block[id]);
    this._length[id] = 0;
  }

  /**
   * The key of series `id`, one flat string (bound handles keep it: pieces
   * joined with `+` would be a rope of several strings).
   */
  keyOf(id: number): string {
    const block = this._block[id];
    const bytes = this._bytes.u8[chunkOf(block)];
    const end = offsetOf(block) + this._length[id];
    let length = 0;
    for (let at = offsetOf(block); at < end; ) {
      const name = this._names.names[readVarint(bytes, at)]!;
      at = afterVarint(bytes, at);
      const to = valueEnd(bytes, at);
      const counted = `${name.length}:`;
      length = ensureScratch(
        length,
        counted.length + keyByteLength(name) + to - at
      );
      length = writeKeyBytes(counted, scratch, length);
      length = writeKeyBytes(name, scratch, length);
      while (at < to) scratch[length++] = bytes[at++];
    }
    return readKeyBytes(scratch, 0, length);
  }

  /** The attributes of series `id` (names in key order, own properties). */
  attributesOf(id: number): Attributes {
    const attributes: Attributes = {};
    const block = this._block[id];
    const bytes = this._bytes.u8[chunkOf(block)];
    const end = offsetOf(block) + this._length[id];
    for (let at = offsetOf(block); at < end; ) {
      const name = this._names.names[readVarint(bytes, at)]!;
      at = afterVarint(bytes, at);
      const to = valueEnd(bytes, at);
      const tag = bytes[at];
      let value: AttributeValue;
      if (tag === S) value = readKeyBytes(bytes, textStart(bytes, at), to);
      else if (tag === N) value = Number(readKeyBytes(bytes, at + 1, to - 1));
      else if (tag === T || tag === F) value = tag === T;
      // An array (its elements' parts after its length), rare: the reader's decoder.
      else value = decodeAttributeValue(readKeyBytes(bytes, at, to));
      setAttribute(attributes, name, value);
      at = to;
    }
    return attributes;
  }

  /**
   * Writes `key` into `scratch` as it is stored; returns its length, or -1
   * when `intern` is false and one of its names is in no key here (so no
   * key here is it). Interning counts each name's use.
   */
  private _encode(key: string, intern: boolean): number {
    let length = 0;
    for (let at = 0; at < key.length; ) {
      const colon = key.indexOf(':', at);
      const nameStart = colon + 1;
      at = nameStart + Number(key.slice(at, colon));
      const name = key.slice(nameStart, at);
      const id = intern ? this._names.use(name) : this._names.idOf(name);
      if (id < 0) return -1;
      const to = keyValueEnd(key, at);
      length = ensureScratch(length, 5 + keyByteLength(key, at, to));
      for (let rest = id; ; rest >>>= 7) {
        scratch[length++] = (rest & 0x7f) | (rest >= 0x80 ? 0x80 : 0);
        if (rest < 0x80) break;
      }
      length = writeKeyBytes(key, scratch, length, at, to);
      at = to;
    }
    return length;
  }

  /** Whether series `id`'s key is the `length` bytes in `scratch`. */
  private _equals(id: number, length: number): boolean {
    if (this._length[id] !== length) return false;
    const block = this._block[id];
    const bytes = this._bytes.u8[chunkOf(block)];
    const offset = offsetOf(block);
    for (let i = 0; i < length; i++)
      if (bytes[offset + i] !== scratch[i]) return false;
    return true;
  }

  /** Gives back the names series `id`'s key uses. */
  private _releaseNames(id: number): void {
    const block = this._block[id];
    const bytes = this._bytes.u8[chunkOf(block)];
    const end = offsetOf(block) + this._length[id];
    for (let at = offsetOf(block); at < end; ) {
      this._names.release(readVarint(bytes, at));
      at = valueEnd(bytes, afterVarint(bytes, at));
    }
  }

  /** A table of `size` slots without the deleted ones. */
  private _rehash(size: number): void {
    const old = this._table;
    const table = new Int32Array(size);
    const mask = size - 1;
    let filled = 0;
    for (const entry of old) {
      if (entry <= 0) continue;
      let slot = this._hash[entry - 1] & mask;
      while (table[slot] !== EMPTY) slot = (slot + 1) & mask;
      table[slot] = entry;
      filled++;
    }
    this._table = table;
    this._filled = filled;
  }
}

/** The end of the value's part at `at` of a key string (see valueEnd). */
function keyValueEnd(key: string, at: number): number {
  const tag = key.charCodeAt(at);
  if (tag === S || tag === A) {
    const colon = key.indexOf(':', at);
    const length = Number(key.slice(at + 1, colon));
    if (tag === S) return colon + 1 + length;
    let end = colon + 1;
    for (let i = 0; i < length; i++) end = keyValueEnd(key, end);
    return end;
  }
  return tag === N ? key.indexOf(';', at) + 1 : at + 1;
}

/** `scratch` with room for `extra` bytes after `length`; returns `length`. */
function ensureScratch(length: number, extra: number): number {
  if (length + extra > scratch.length) {
    const grown = new Uint8Array(2 * (length + extra));
    grown.set(scratch.subarray(0, length));
    scratch = grown;
  }
  return length;
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

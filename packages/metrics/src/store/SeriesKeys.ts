import { hashKey } from '@datapunk/otel-common';
import type { PlainAttributes } from '@datapunk/otel-common';
import { Arena, chunkOf, offsetOf } from './arena/Arena';
import { ColumnSet } from './arena/columns';
import { columnBytes } from './arena/HeldBytes';

const EMPTY = 0;
const DELETED = -1;

/**
 * The series of one stream by their attribute key (the canonical string of
 * an attribute set), without an object per series: keys are kept as UTF-16
 * units in one arena, and found through an open-addressing table of ids in
 * an Int32Array, so neither the keys nor the index are traced by the GC.
 */
export class SeriesKeys {
  private readonly _chars = new Arena();
  /** Per id: its key's block in the arena. */
  private _block = new Int32Array(0);
  /** Per id: where its key starts in its chunk's Uint16Array view. */
  private _offset = new Int32Array(0);
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
      get: () => this._offset,
      set: c => (this._offset = c as Int32Array<ArrayBuffer>),
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

  /** Bytes held by the keys' arena, the index and the columns. */
  get byteLength(): number {
    return (
      this._chars.byteLength +
      columnBytes(
        this._table,
        this._block,
        this._offset,
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
        const offset = this._offset[id];
        if (
          this._hash[id] === hash &&
          attributes.matches(
            this._chars.u16[chunkOf(this._block[id])],
            offset,
            offset + this._length[id]
          )
        )
          return id;
      }
    }
  }

  /** The id of the series with `key`, or -1. */
  find(key: string): number {
    const hash = hashKey(key);
    const mask = this._table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this._table[slot];
      if (entry === EMPTY) return -1;
      if (entry !== DELETED) {
        const id = entry - 1;
        if (this._hash[id] === hash && this._equals(id, key)) return id;
      }
    }
  }

  /** Files `key` as series `id` (which must not hold a key now). */
  add(key: string, id: number): void {
    this._columns.reserve(id + 1);
    if (2 * (this._filled + 1) > this._table.length)
      this._rehash(this._table.length * 2);
    const hash = hashKey(key);
    const block = this._chars.allocate(2 * key.length);
    const chars = this._chars.u16[chunkOf(block)];
    const offset = offsetOf(block) >> 1;
    for (let i = 0; i < key.length; i++) chars[offset + i] = key.charCodeAt(i);
    this._block[id] = block;
    this._offset[id] = offset;
    this._length[id] = key.length;
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
    this._chars.free(this._block[id]);
    this._length[id] = 0;
  }

  /** The key of series `id`. */
  keyOf(id: number): string {
    const offset = this._offset[id];
    return decode(
      this._chars.u16[chunkOf(this._block[id])],
      offset,
      offset + this._length[id]
    );
  }

  private _equals(id: number, key: string): boolean {
    if (this._length[id] !== key.length) return false;
    const chars = this._chars.u16[chunkOf(this._block[id])];
    const offset = this._offset[id];
    for (let i = 0; i < key.length; i++)
      if (chars[offset + i] !== key.charCodeAt(i)) return false;
    return true;
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

/** A string from UTF-16 units, in pieces small enough for fromCharCode's arguments. */
function decode(chars: Uint16Array, from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i += 4096)
    // apply takes the typed array as it is; a spread would iterate it (7× slower).
    text += String.fromCharCode.apply(
      null,
      chars.subarray(i, Math.min(to, i + 4096)) as unknown as number[]
    );
  return text;
}

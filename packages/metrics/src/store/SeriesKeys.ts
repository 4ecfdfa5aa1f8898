import {
  StoredKey,
  forEachStoredName,
  hashKey,
  storedAttributes,
  storedKeyEquals,
} from '@datapunk/otel-common';
import type { PlainAttributes } from '@datapunk/otel-common';
import type { Attributes } from '@opentelemetry/api';
import { Arena, chunkOf, offsetOf } from './arena/Arena';
import { AttributeNames } from './AttributeNames';
import { ColumnSet } from './arena/columns';
import { columnBytes } from './arena/HeldBytes';

const EMPTY = 0;
const DELETED = -1;

/** Where keys are encoded and rebuilt (JS is single-threaded). */
const stored = new StoredKey();

/**
 * The series of one stream by their attribute key (the canonical string of
 * an attribute set), without an object per series: keys are kept in one
 * arena in their {@link StoredKey} form, each name as its index in the
 * stream's {@link AttributeNames}, and found through an open-addressing
 * table of ids in an Int32Array, so neither the keys nor the index are
 * traced by the GC.
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
  /** The name table's lookups, as StoredKey and forEachStoredName take them. */
  private readonly _use = (name: string): number => this._names.use(name);
  private readonly _release = (index: number): void =>
    this._names.release(index);

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
    const hash = hashKey(key);
    const mask = this._table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this._table[slot];
      if (entry === EMPTY) return -1;
      if (entry !== DELETED) {
        const id = entry - 1;
        if (this._hash[id] === hash) {
          const block = this._block[id];
          const offset = offsetOf(block);
          if (
            storedKeyEquals(
              key,
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
  }

  /** Files `key` as series `id` (which must not hold a key now). */
  add(key: string, id: number): void {
    this._columns.reserve(id + 1);
    if (2 * (this._filled + 1) > this._table.length)
      this._rehash(this._table.length * 2);
    const hash = hashKey(key);
    stored.encode(key, this._use);
    const length = stored.length;
    const block = this._bytes.allocate(length);
    this._bytes.u8[chunkOf(block)].set(
      stored.bytes.subarray(0, length),
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

  /** The key of series `id`, one flat string. */
  keyOf(id: number): string {
    const block = this._block[id];
    const offset = offsetOf(block);
    return stored.keyOf(
      this._bytes.u8[chunkOf(block)],
      offset,
      offset + this._length[id],
      this._names.names
    );
  }

  /** The attributes of series `id` (names in key order, own properties). */
  attributesOf(id: number): Attributes {
    const block = this._block[id];
    const offset = offsetOf(block);
    return storedAttributes(
      this._bytes.u8[chunkOf(block)],
      offset,
      offset + this._length[id],
      this._names.names
    );
  }

  /** Gives back the names series `id`'s key uses. */
  private _releaseNames(id: number): void {
    const block = this._block[id];
    const offset = offsetOf(block);
    forEachStoredName(
      this._bytes.u8[chunkOf(block)],
      offset,
      offset + this._length[id],
      this._release
    );
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

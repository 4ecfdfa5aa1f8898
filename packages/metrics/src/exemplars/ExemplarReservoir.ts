import { INVALID_SPAN_CONTEXT } from '@opentelemetry/api';
import type { Attributes, SpanContext } from '@opentelemetry/api';
import { decodeAttributeKey } from '@datapunk/otel-common';
import { hrTime } from '../export/buildResourceMetrics';
import { grow } from '../store/arena/columns';
import type { Exemplar } from './Exemplar';
import type { ExemplarBudget } from './ExemplarBudget';
import type { FilteredAttributesOf } from './FilteredAttributes';
import { readHex, writeHex } from './hex';

/**
 * One slot, 48 bytes of one ArrayBuffer: value (f64), time in epoch ms
 * (f64, 0 for an empty slot), trace id (16 bytes), span id (8 bytes, all
 * zero for none), filtered attributes (i32: 1 + index into the pool, 0 for
 * none), measurements seen by its bucket this cycle (u32).
 */
const SLOT_BYTES = 48;
const SLOT_F64 = SLOT_BYTES / 8;
const SLOT_I32 = SLOT_BYTES / 4;
const VALUE = 0;
const TIME = 1;
const TRACE_ID = 16;
const SPAN_ID = 32;
const FILTERED = 10;
const SEEN = 11;
/** What a kept filtered-attributes string is charged besides its characters. */
const STRING_OVERHEAD_BYTES = 32;
const NONE = -1;
const NO_ATTRIBUTES: Attributes = Object.freeze({});

/**
 * The exemplars of one metric stream, one reservoir per series as the
 * specification asks, kept without an object per series: each series that
 * has had an exemplar owns a block of `size` slots in one ArrayBuffer
 * (taken from the store's {@link ExemplarBudget}, given back when the
 * series expires), found through an Int32Array column; filtered attributes
 * are strings in a pool, only for exemplars that have them.
 *
 * A subclass decides which slot a measurement goes to (the sampling rule).
 * Sampling starts over at every collection ({@link startCycle}); what a
 * point carries ({@link collect}) is what was measured up to the latest
 * collection, so an exemplar's measurement is always counted in the point;
 * delta streams drop what an export carried once it succeeds.
 */
export abstract class ExemplarReservoir {
  /** Slots per series. */
  readonly size: number;
  private readonly _budget: ExemplarBudget;
  private readonly _random: () => number;
  /**
   * First slot of each series' block, or NONE (as is any id past its
   * length): this and the rule's columns are made with the first exemplar,
   * so a stream that never has one (no sampled span) holds none.
   */
  private _block = new Int32Array(0);
  /** Series ids below this may be offered a measurement. */
  private _reserved = 0;
  /** Delta streams: the latest collection when the export in flight began. */
  private _inFlightUpTo = new Float64Array(0);
  private _buffer = new ArrayBuffer(0);
  private _f64 = new Float64Array(this._buffer);
  private _i32 = new Int32Array(this._buffer);
  private _u32 = new Uint32Array(this._buffer);
  private _u8 = new Uint8Array(this._buffer);
  /** Blocks ever made: every block starts below blocksMade × size. */
  private _blocksMade = 0;
  private _freeBlocks: number[] = [];
  /** Filtered-attribute keys, by index; undefined where freed. */
  private readonly _strings: (string | undefined)[] = [];
  private readonly _freeStrings: number[] = [];
  private _stringBytes = 0;
  /** Exemplars measured up to here are counted in the exported points. */
  private _collectedUpTo = -Infinity;

  constructor(size: number, budget: ExemplarBudget, random: () => number) {
    this.size = size;
    this._budget = budget;
    this._random = random;
  }

  /** Bytes of the slot buffer, the columns and the filtered attributes held. */
  get byteLength(): number {
    return (
      this._buffer.byteLength + this._block.length * 12 + this._stringBytes
    );
  }

  /** Makes room for series ids below `series` (once exemplars come). */
  reserve(series: number): void {
    if (series > this._reserved) this._reserved = series;
  }

  /**
   * Offers a measurement of `series` (already counted in its current
   * delta): the sampling rule may keep it in a slot, with its span (none
   * for INVALID_SPAN_CONTEXT) and, with `filtered`, the attributes a View
   * took off it. Never throws; what cannot be kept is counted.
   */
  offer(
    series: number,
    value: number,
    span: SpanContext,
    filtered: FilteredAttributesOf | undefined,
    attributes: unknown
  ): void {
    if (series >= this._block.length) this._growColumns(series);
    let block = this._block[series];
    if (block === NONE) {
      block = this._allocate();
      if (block === NONE) return;
      this._block[series] = block;
    }
    const cell = this._cellFor(series, value, block);
    if (cell < 0) return;
    let text = '';
    if (filtered !== undefined) {
      const key = filtered.keyOf(attributes);
      if (key === undefined) {
        this._budget.drop(
          'filtered_attributes',
          `an exemplar's filtered attributes were longer than their limit; the exemplar was dropped`
        );
        return;
      }
      text = key;
    }
    const slot = block + cell;
    const stringRef = text === '' ? 0 : this._keepString(text);
    if (stringRef < 0) return;
    this._releaseString(slot);
    const f64 = slot * SLOT_F64;
    this._f64[f64 + VALUE] = value;
    this._f64[f64 + TIME] = Date.now();
    this._i32[slot * SLOT_I32 + FILTERED] = stringRef;
    const at = slot * SLOT_BYTES;
    if (
      span === INVALID_SPAN_CONTEXT ||
      !writeHex(span.traceId, this._u8, at + TRACE_ID, 16) ||
      !writeHex(span.spanId, this._u8, at + SPAN_ID, 8)
    )
      this._u8.fill(0, at + TRACE_ID, at + SPAN_ID + 8);
  }

  /** A collection began at `nowMillis`: what was measured before it is counted. */
  collected(nowMillis: number): void {
    this._collectedUpTo = nowMillis;
  }

  /** Starts a new sampling cycle for a series the collection folded. */
  startCycle(series: number): void {
    const block = this._blockOf(series);
    if (block !== NONE) this._resetCycleState(series, block);
  }

  /**
   * The exemplars a point of `series` carries: those measured up to the
   * latest collection (later ones go with the next point, which counts
   * their measurements); undefined when there are none.
   */
  collect(series: number): Exemplar[] | undefined {
    const block = this._blockOf(series);
    if (block === NONE) return undefined;
    let exemplars: Exemplar[] | undefined;
    for (let slot = block; slot < block + this.size; slot++) {
      const time = this._f64[slot * SLOT_F64 + TIME];
      if (time === 0 || time > this._collectedUpTo) continue;
      (exemplars ??= []).push(this._exemplarAt(slot, time));
    }
    return exemplars;
  }

  /** Delta streams: an export of `series` begins, carrying what {@link collect} gives now. */
  beginExport(series: number): void {
    if (this._blockOf(series) !== NONE)
      this._inFlightUpTo[series] = this._collectedUpTo;
  }

  /** Delta streams: once sent, what the export carried is dropped; else kept for the next. */
  endExport(series: number, succeeded: boolean): void {
    const block = this._blockOf(series);
    if (!succeeded || block === NONE) return;
    // 0 (nothing cleared) for a block made while this export was under way.
    const upTo = this._inFlightUpTo[series];
    for (let slot = block; slot < block + this.size; slot++) {
      const time = this._f64[slot * SLOT_F64 + TIME];
      if (time !== 0 && time <= upTo) this._clear(slot);
    }
  }

  /** Gives back a series' slots (it expired): its id may be another series' next. */
  release(series: number): void {
    const block = this._blockOf(series);
    if (block === NONE) return;
    this._resetCycleState(series, block);
    for (let slot = block; slot < block + this.size; slot++) this._clear(slot);
    this._block[series] = NONE;
    this._inFlightUpTo[series] = 0;
    this._freeBlocks.push(block);
    this._budget.give(this.size * SLOT_BYTES);
  }

  /**
   * The rule: the cell (0 … size − 1) of `series`' block where this
   * measurement goes, or −1 when it is not kept; it counts the measurement
   * as seen.
   */
  protected abstract _cellFor(
    series: number,
    value: number,
    block: number
  ): number;

  /** Resets what the rule counted this cycle for a series with a block. */
  protected abstract _resetCycleState(series: number, block: number): void;

  /** Makes room for the rule's own columns, for series ids below `length`. */
  protected abstract _reserveCycleState(length: number): void;

  /** Bytes of the typed arrays of the rule's per-series state. */
  protected abstract _cycleStateBytes(): number;

  /** Bytes of typed arrays held: slots, per-series blocks and state. */
  heldBytes(): number {
    return (
      this._buffer.byteLength +
      this._block.byteLength +
      this._inFlightUpTo.byteLength +
      this._cycleStateBytes()
    );
  }

  /** A random integer in [0, max], inclusive (the specification's random_integer(0, max)). */
  protected _randomInteger(max: number): number {
    return Math.floor(this._random() * (max + 1));
  }

  /** The per-slot count of measurements seen, for rules that count per cell. */
  protected _seenAt(slot: number): number {
    return this._u32[slot * SLOT_I32 + SEEN];
  }

  protected _setSeenAt(slot: number, seen: number): void {
    this._u32[slot * SLOT_I32 + SEEN] = seen;
  }

  /** `series`' block, or NONE. */
  private _blockOf(series: number): number {
    return series < this._block.length ? this._block[series] : NONE;
  }

  /** Columns for every id reserved (and `series`), at the first exemplar or a later id's. */
  private _growColumns(series: number): void {
    const from = this._block.length;
    const length = Math.max(this._reserved, series + 1, 2 * from);
    this._block = grow(this._block, length);
    this._block.fill(NONE, from);
    this._inFlightUpTo = grow(this._inFlightUpTo, length);
    this._reserveCycleState(length);
  }

  /** A new block (its slots empty), or NONE when the budget is spent. */
  private _allocate(): number {
    if (!this._budget.take(this.size * SLOT_BYTES)) return NONE;
    const free = this._freeBlocks.pop();
    if (free !== undefined) return free;
    const block = this._blocksMade++ * this.size;
    const needed = (block + this.size) * SLOT_BYTES;
    if (needed > this._buffer.byteLength) {
      const buffer = new ArrayBuffer(
        Math.max(
          needed,
          2 * this._buffer.byteLength,
          16 * this.size * SLOT_BYTES
        )
      );
      new Uint8Array(buffer).set(this._u8);
      this._buffer = buffer;
      this._f64 = new Float64Array(buffer);
      this._i32 = new Int32Array(buffer);
      this._u32 = new Uint32Array(buffer);
      this._u8 = new Uint8Array(buffer);
    }
    return block;
  }

  private _exemplarAt(slot: number, time: number): Exemplar {
    const at = slot * SLOT_BYTES;
    const ref = this._i32[slot * SLOT_I32 + FILTERED];
    let hasSpan = false;
    for (let i = at + SPAN_ID; i < at + SPAN_ID + 8; i++)
      if (this._u8[i] !== 0) hasSpan = true;
    return {
      filteredAttributes:
        ref === 0 ? NO_ATTRIBUTES : decodeAttributeKey(this._strings[ref - 1]!),
      value: this._f64[slot * SLOT_F64 + VALUE],
      hrTime: hrTime(time),
      traceId: hasSpan ? readHex(this._u8, at + TRACE_ID, 16) : undefined,
      spanId: hasSpan ? readHex(this._u8, at + SPAN_ID, 8) : undefined,
    };
  }

  /** Empties a slot (its cycle count stays: it belongs to the cycle). */
  private _clear(slot: number): void {
    this._releaseString(slot);
    this._f64[slot * SLOT_F64 + VALUE] = 0;
    this._f64[slot * SLOT_F64 + TIME] = 0;
    this._u8.fill(
      0,
      slot * SLOT_BYTES + TRACE_ID,
      slot * SLOT_BYTES + SPAN_ID + 8
    );
  }

  /** Pools a filtered-attributes key; 1 + its index, or −1 (counted) past the budget. */
  private _keepString(text: string): number {
    if (!this._budget.take(2 * text.length + STRING_OVERHEAD_BYTES)) return -1;
    const index = this._freeStrings.pop() ?? this._strings.length;
    this._strings[index] = text;
    this._stringBytes += 2 * text.length;
    return index + 1;
  }

  private _releaseString(slot: number): void {
    const at = slot * SLOT_I32 + FILTERED;
    const ref = this._i32[at];
    if (ref === 0) return;
    const text = this._strings[ref - 1]!;
    this._budget.give(2 * text.length + STRING_OVERHEAD_BYTES);
    this._stringBytes -= 2 * text.length;
    this._strings[ref - 1] = undefined;
    this._freeStrings.push(ref - 1);
    this._i32[at] = 0;
  }
}

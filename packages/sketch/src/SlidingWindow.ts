import { OptionReader, checkNumber } from '@datapunk/otel-common/validation';
import type { Mergeable, SlidingWindowOptions } from './types';

const OPTION_KEYS = ['slots', 'slotMillis', 'create'] as const;
const MAX_SLOTS = 100_000;

/**
 * A ring of `slots` aggregates, each covering `slotMillis` of time, aligned
 * to multiples of `slotMillis`. The caller records into {@link current} and
 * moves the ring with {@link rotate} from its own coarse clock tick, so a
 * record costs no clock read. {@link merged} answers "the last k slots".
 */
export class SlidingWindow<T extends Mergeable<T>> {
  /** Slots are made on first use, so an idle window holds no aggregates. */
  private readonly _slots: (T | undefined)[];
  private readonly _slotMillis: number;
  private readonly _create: () => T;
  /** Ring position of the current slot. */
  private _head = 0;
  /** floor(time / slotMillis) of the current slot; NaN before the first rotate. */
  private _epoch = NaN;

  /**
   * @throws {TypeError} if an option has the wrong type or is unknown.
   * @throws {RangeError} if `slots` or `slotMillis` is out of range.
   */
  constructor(options: SlidingWindowOptions<T>) {
    const reader = new OptionReader('SlidingWindow', options, OPTION_KEYS);
    const slots = reader.integer('slots', undefined, {
      min: 1,
      max: MAX_SLOTS,
    });
    this._slotMillis = reader.number('slotMillis', undefined, { above: 0 });
    if (typeof options.create !== 'function') {
      reader.failType(
        'create',
        'a function returning an empty aggregate',
        options.create
      );
    }
    this._create = options.create;
    this._slots = new Array<T | undefined>(slots).fill(undefined);
  }

  /** Number of slots, the current one included. */
  get slots(): number {
    return this._slots.length;
  }

  /** The aggregate of the slot being filled. */
  get current(): T {
    return (this._slots[this._head] ??= this._create());
  }

  /** Start time of the current slot; NaN before the first rotate. */
  get currentStartMillis(): number {
    return this._epoch * this._slotMillis;
  }

  /**
   * Moves the ring to the slot holding `nowMillis`, emptying the slots passed
   * over, and returns how many slots it advanced. The first call only fixes
   * the current slot's time; a time earlier than the current slot (a clock
   * step back) or not finite changes nothing.
   */
  rotate(nowMillis: number): number {
    const epoch = Math.floor(nowMillis / this._slotMillis);
    if (!Number.isFinite(epoch)) return 0;
    if (Number.isNaN(this._epoch)) {
      this._epoch = epoch;
      return 0;
    }
    if (epoch <= this._epoch) return 0;
    const advanced = epoch - this._epoch;
    const steps = Math.min(advanced, this._slots.length);
    for (let i = 0; i < steps; i++) {
      this._head = (this._head + 1) % this._slots.length;
      this._slots[this._head] = undefined;
    }
    this._epoch = epoch;
    return advanced;
  }

  /**
   * A new aggregate merging the most recent `lastSlots` slots, the current
   * one included (all by default).
   * @throws {RangeError} if lastSlots is not an integer in [1, slots].
   */
  merged(lastSlots: number = this._slots.length): T {
    checkNumber('SlidingWindow.merged', "'lastSlots'", lastSlots, {
      integer: true,
      min: 1,
      max: this._slots.length,
    });
    const result = this._create();
    const size = this._slots.length;
    for (let i = lastSlots - 1; i >= 0; i--) {
      const slot = this._slots[(this._head - i + size) % size];
      if (slot !== undefined) result.merge(slot);
    }
    return result;
  }
}

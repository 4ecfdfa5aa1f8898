import type { Attributes } from '@opentelemetry/api';
import { PlainAttributes } from '@datapunk/otel-common';
import type { AttributeReader, AttributeReading } from '@datapunk/otel-common';
import type { Stream } from './Stream';
import type { StoreStats } from './Tally';

/**
 * What an attributes object held when it was resolved, and to which
 * series: one flat array (series, generation, then each key and its value
 * in iteration order), so that a remembered object costs one array.
 */
type Resolved = unknown[];
const SERIES = 0;
const GENERATION = 1;
const ENTRIES = 2;

/** Misses per generation of the attribute objects noted (weakly) to spot reuse. */
const MISSES_PER_GENERATION = 256;

/** Returned for attributes that are no attributes object: the measurement is rejected. */
export const UNREADABLE = -1;

/**
 * Finds the series of one stream for the attributes a measurement comes
 * with. An object passed again is recognised by identity and checked entry
 * by entry (one the caller changed is read anew), so a caller that reuses
 * its attributes object pays a WeakMap lookup and a comparison; an object
 * is remembered only once seen twice, so one made per call costs a read of
 * its entries and a key lookup, no more. What the read drops or cuts is
 * counted.
 */
export class SeriesResolver {
  private readonly _stream: Stream;
  private readonly _reader: AttributeReader;
  private readonly _stats: StoreStats;
  /** A View's attribute processors; undefined keeps the attributes as they are. */
  private readonly _process:
    | ((attributes: Attributes) => Attributes)
    | undefined;
  private readonly _resolved = new WeakMap<object, Resolved>();
  private readonly _plain = new PlainAttributes();
  /**
   * Objects missed lately, this generation and the one before, held
   * weakly: a caller's attributes (and their values, megabytes for a
   * hostile one) are never kept alive by having been seen.
   */
  private _recentMisses = new WeakSet<object>();
  private _olderMisses = new WeakSet<object>();
  private _misses = 0;
  /** xorshift32 state, never 0. */
  private _random = 0x9e3779b9 | 0;
  private _empty: Resolved | undefined;

  constructor(
    stream: Stream,
    reader: AttributeReader,
    stats: StoreStats,
    process?: (attributes: Attributes) => Attributes
  ) {
    this._stream = stream;
    this._reader = reader;
    this._stats = stats;
    this._process = process;
  }

  /**
   * The series of `attributes` (new ones start at `sinceMillis`), or
   * UNREADABLE when they are no attributes object at all. Never throws.
   */
  seriesOf(attributes: unknown, sinceMillis: number): number {
    if (attributes === undefined || attributes === null) {
      const empty = this._empty;
      if (empty !== undefined && this._current(empty))
        return empty[SERIES] as number;
      const series = this._lookup(attributes, sinceMillis);
      this._empty = this._remember(series, [0, 0]);
      return series;
    }
    if (typeof attributes !== 'object') return UNREADABLE;
    const resolved = this._resolved.get(attributes);
    if (
      resolved !== undefined &&
      this._current(resolved) &&
      sameEntries(attributes as Record<string, unknown>, resolved)
    )
      return resolved[SERIES] as number;
    const series = this._lookup(attributes, sinceMillis);
    if (series === UNREADABLE) return series;
    if (resolved === undefined && !this._seenOnce(attributes)) return series;
    const entries = entriesOf(attributes as Record<string, unknown>);
    if (entries !== undefined)
      this._resolved.set(attributes, this._remember(series, entries));
    return series;
  }

  /**
   * The key of the set `attributes` stands for (after the View's
   * processors), read afresh; undefined when it cannot be read. For the
   * rare caller that needs a set's identity past the series limit.
   */
  keyOf(attributes: unknown): string | undefined {
    return (
      this._process === undefined
        ? this._reader.readKey(attributes ?? {})
        : this._processed(attributes ?? {})
    )?.key;
  }

  private _lookup(attributes: unknown, sinceMillis: number): number {
    const plain = this._plain;
    if (
      this._process === undefined &&
      plain.read(attributes, this._reader.bounds)
    ) {
      const found = this._stream.findPlain(plain);
      return found >= 0
        ? found
        : this._stream.seriesFor(plain.key(), sinceMillis, this._stats);
    }
    const read =
      this._process === undefined
        ? this._reader.readKey(attributes)
        : this._processed(attributes);
    if (read === undefined) return UNREADABLE;
    if (read.dropped > 0) this._stats.trimmedAttributes.add('keys');
    if (read.truncated > 0) this._stats.trimmedAttributes.add('values');
    if (read.invalid > 0) this._stats.trimmedAttributes.add('invalid');
    return this._stream.seriesFor(read.key, sinceMillis, this._stats);
  }

  /**
   * A View's processors on the attributes as read (so they never see a
   * getter or Proxy of the caller's), then read again as they left them.
   */
  private _processed(
    attributes: unknown
  ): Omit<AttributeReading, 'attributes'> | undefined {
    const read = this._reader.read(attributes);
    if (read === undefined) return undefined;
    let processed: unknown;
    try {
      processed = this._process!(read.attributes);
    } catch {
      return undefined;
    }
    const again = this._reader.readKey(processed);
    return (
      again && {
        key: again.key,
        invalid: read.invalid + again.invalid,
        truncated: read.truncated + again.truncated,
        dropped: read.dropped + again.dropped,
      }
    );
  }

  /** Whether the series it found is still that set's (not expired and reused). */
  private _current(resolved: Resolved): boolean {
    const series = resolved[SERIES] as number;
    return (
      this._stream.isActive(series) &&
      this._stream.generationOf(series) === resolved[GENERATION]
    );
  }

  /** `entries` (keys and values, alternating) made into what is remembered. */
  private _remember(series: number, entries: unknown[]): Resolved {
    entries[SERIES] = series;
    entries[GENERATION] = this._stream.generationOf(series);
    return entries;
  }

  /**
   * Whether an object missed recently (then it is being reused); else it
   * is noted, one miss in eight at random: an object made per call then
   * costs a step of a random generator, not a weak-set entry, and a reused
   * one is still found within a few calls (at random, so that no cycle of
   * objects is always passed over).
   */
  private _seenOnce(attributes: object): boolean {
    if (this._recentMisses.has(attributes) || this._olderMisses.has(attributes))
      return true;
    let x = this._random;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this._random = x;
    if ((x & 7) !== 0) return false;
    if (++this._misses === MISSES_PER_GENERATION) {
      this._olderMisses = this._recentMisses;
      this._recentMisses = new WeakSet();
      this._misses = 0;
    }
    this._recentMisses.add(attributes);
    return false;
  }
}

/**
 * An object's own enumerable entries, in iteration order, each key then
 * its value from {@link ENTRIES} on, for the identity check; undefined when
 * it cannot be remembered (an array value could change inside, a getter or
 * Proxy could answer differently).
 */
function entriesOf(attributes: Record<string, unknown>): unknown[] | undefined {
  const entries: unknown[] = [0, 0];
  try {
    if (Object.getPrototypeOf(attributes) !== Object.prototype)
      return undefined;
    for (const key in attributes) {
      const descriptor = Object.getOwnPropertyDescriptor(attributes, key);
      if (descriptor === undefined || descriptor.get !== undefined)
        return undefined;
      const value = descriptor.value;
      if (typeof value === 'object' && value !== null) return undefined;
      entries.push(key, value);
    }
  } catch {
    return undefined;
  }
  // Kept for as long as the object lives: a copy of exactly its length
  // (pushing leaves up to half the capacity unused).
  return entries.slice();
}

/** Whether an attributes object still holds what it held when resolved. */
function sameEntries(
  attributes: Record<string, unknown>,
  resolved: Resolved
): boolean {
  let i = ENTRIES;
  try {
    for (const key in attributes) {
      if (key !== resolved[i] || attributes[key] !== resolved[i + 1])
        return false;
      i += 2;
    }
  } catch {
    // A getter added since it was remembered threw: read it anew.
    return false;
  }
  return i === resolved.length;
}

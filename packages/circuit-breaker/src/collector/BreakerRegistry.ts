import { OptionReader } from '@datapunk/otel-common';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import type { Breaker } from '../Breaker';

const MAX_NAME_LENGTH = 256;
export const REGISTER = 'CircuitBreakerMetrics.register';

/**
 * The `name#n` suffixes given to the duplicates of one name (and attribute
 * set): freed ones are given again first, so a breaker made and disposed
 * per request reuses a few names instead of making new series forever,
 * and finding one is O(1) whatever the number of duplicates.
 */
interface Duplicates {
  /** The next suffix never given out. */
  next: number;
  /** Suffixes given out and freed since. */
  free: number[];
  /** Duplicates alive now; the entry goes when none is. */
  live: number;
}

/**
 * A collector's breakers by name and attribute set, each name unique: a
 * name already taken (with the same attributes) gets a suffix, `name#2`,
 * so breakers never share data; the suffix of a removed duplicate is given
 * again.
 */
export class BreakerRegistry {
  private readonly _diag: RateLimitedDiag;
  private readonly _breakers = new Map<string, Breaker>();
  private readonly _duplicates = new Map<string, Duplicates>();
  /** Each breaker's key; of a duplicate, also the key it duplicates and its suffix. */
  private readonly _keys = new WeakMap<
    Breaker,
    { key: string; duplicateOf: string; suffix: number }
  >();

  constructor(diag: RateLimitedDiag) {
    this._diag = diag;
  }

  get size(): number {
    return this._breakers.size;
  }

  /** The breakers, in the order they were added. */
  values(): IterableIterator<Breaker> {
    return this._breakers.values();
  }

  /**
   * Adds the breaker `create` makes under `name` (with the attribute set of
   * key `attributesKey`), or under `name#n` if that is taken: the n a
   * removed duplicate freed last, else the next.
   */
  add(
    name: string,
    attributesKey: string,
    create: (unique: string) => Breaker
  ): Breaker {
    const { unique, suffix } = this._uniqueName(name, attributesKey);
    const breaker = create(unique);
    const key = keyOf(unique, attributesKey);
    this._keys.set(breaker, {
      key,
      duplicateOf: keyOf(name, attributesKey),
      suffix,
    });
    this._breakers.set(key, breaker);
    return breaker;
  }

  /** The breaker of this name and attribute set. */
  get(name: string, attributesKey: string): Breaker | undefined {
    return this._breakers.get(keyOf(name, attributesKey));
  }

  /** The first breaker of this name, whatever its attributes. */
  first(name: string): Breaker | undefined {
    for (const breaker of this._breakers.values())
      if (breaker.name === name) return breaker;
    return undefined;
  }

  /** Takes a breaker out; its suffix, if a duplicate, is free again. */
  remove(breaker: Breaker): void {
    const { key, duplicateOf, suffix } = this._keys.get(breaker)!;
    this._breakers.delete(key);
    const duplicates =
      suffix > 0 ? this._duplicates.get(duplicateOf) : undefined;
    if (duplicates !== undefined) {
      if (--duplicates.live === 0) this._duplicates.delete(duplicateOf);
      else duplicates.free.push(suffix);
    }
  }

  private _uniqueName(
    name: string,
    attributesKey: string
  ): { unique: string; suffix: number } {
    const key = keyOf(name, attributesKey);
    if (!this._breakers.has(key)) return { unique: name, suffix: 0 };
    let duplicates = this._duplicates.get(key);
    if (duplicates === undefined) {
      duplicates = { next: 2, free: [], live: 0 };
      this._duplicates.set(key, duplicates);
    }
    let suffix: number;
    // A suffix is skipped (for good) only if someone registered `name#n` by hand.
    do suffix = duplicates.free.pop() ?? duplicates.next++;
    while (this._breakers.has(keyOf(`${name}#${suffix}`, attributesKey)));
    duplicates.live++;
    this._diag.warn(
      'duplicate',
      `another breaker is already named '${name}': reporting this one as '${name}#${suffix}'`
    );
    return { unique: `${name}#${suffix}`, suffix };
  }
}

/** @throws {TypeError|RangeError} unless `name` is a string of 1 to 256 characters. */
export function checkName(name: unknown): string {
  const reader = new OptionReader(REGISTER, { name }, ['name']);
  const text = reader.string('name');
  if (text.length > MAX_NAME_LENGTH)
    reader.fail(
      'name',
      `must be at most ${MAX_NAME_LENGTH} characters long`,
      text
    );
  return text;
}

/** The key of a breaker: its name and the key of its attribute set, unambiguous. */
function keyOf(name: string, attributesKey: string): string {
  return `${name.length}:${name}${attributesKey}`;
}

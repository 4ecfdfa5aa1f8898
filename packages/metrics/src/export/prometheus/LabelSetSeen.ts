import { hashKey } from '@datapunk/otel-common';

const INITIAL_SLOTS = 64;
const EMPTY = 0;

/**
 * The label sets one family has written in a scrape, to leave out a
 * duplicate series. It keeps two independent 32-bit hashes of each set in
 * an open-addressing table of typed arrays, not the strings: a scrape of
 * 100k series would otherwise hold 100k strings per family until it ends,
 * for the GC to copy and mark. Two different sets whose hashes both agree
 * (a chance of about n²/2⁶⁵, 3·10⁻¹⁰ at 100k series) would be taken for
 * one, and the second reported as a duplicate.
 */
export class LabelSetSeen {
  private _first = new Int32Array(INITIAL_SLOTS);
  private _second = new Int32Array(INITIAL_SLOTS);
  private _size = 0;

  /** Adds the set written as `text`; false when it was there already. */
  add(text: string): boolean {
    const first = hashKey(text) || 1;
    const second = secondHash(text);
    if (!this._insert(first, second)) return false;
    this._size++;
    if (this._size * 2 > this._first.length) this._grow();
    return true;
  }

  /** Inserts a pair of hashes; false when it is there already. */
  private _insert(first: number, second: number): boolean {
    const mask = this._first.length - 1;
    for (let slot = first & mask; ; slot = (slot + 1) & mask) {
      const found = this._first[slot];
      if (found === EMPTY) {
        this._first[slot] = first;
        this._second[slot] = second;
        return true;
      }
      if (found === first && this._second[slot] === second) return false;
    }
  }

  private _grow(): void {
    const first = this._first;
    const second = this._second;
    this._first = new Int32Array(first.length * 2);
    this._second = new Int32Array(first.length * 2);
    for (let slot = 0; slot < first.length; slot++)
      if (first[slot] !== EMPTY) this._insert(first[slot], second[slot]);
  }
}

/** A multiplicative hash over UTF-16 units, independent of FNV-1a. */
function secondHash(text: string): number {
  let hash = 0x9747b28c ^ text.length;
  for (let i = 0; i < text.length; i++) {
    hash = Math.imul(hash ^ text.charCodeAt(i), 0x5bd1e995);
    hash ^= hash >>> 15;
  }
  return hash;
}

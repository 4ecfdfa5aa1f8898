/**
 * The last `capacity` items pushed, oldest first: a fixed ring that
 * overwrites its oldest item once full. Every window of the breaker and its
 * analyzer (baselines, trends, error intervals, trips, transitions) is one.
 */
export class RingBuffer<T> {
  private readonly _items: T[];
  private readonly _capacity: number;
  /** Index of the oldest item. */
  private _start = 0;
  private _size = 0;

  constructor(capacity: number) {
    this._capacity = capacity;
    this._items = new Array<T>(capacity);
  }

  get size(): number {
    return this._size;
  }

  get capacity(): number {
    return this._capacity;
  }

  get full(): boolean {
    return this._size === this._capacity;
  }

  /** Adds `item` as the newest; returns the oldest item it overwrote, if full. */
  push(item: T): T | undefined {
    const end = (this._start + this._size) % this._capacity;
    if (this._size < this._capacity) {
      this._items[end] = item;
      this._size++;
      return undefined;
    }
    const evicted = this._items[end];
    this._items[end] = item;
    this._start = (this._start + 1) % this._capacity;
    return evicted;
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this._size === 0) return undefined;
    const oldest = this._items[this._start];
    this._start = (this._start + 1) % this._capacity;
    this._size--;
    return oldest;
  }

  /** The item `index` places from the oldest (0), or undefined past the newest. */
  at(index: number): T | undefined {
    return index >= 0 && index < this._size
      ? this._items[(this._start + index) % this._capacity]
      : undefined;
  }

  clear(): void {
    this._start = 0;
    this._size = 0;
  }

  /** Calls `callback` with each item and its index, oldest first (a plain loop: the windows are read on every bucket close). */
  forEach(callback: (item: T, index: number) => void): void {
    const items = this._items;
    const capacity = this._capacity;
    const start = this._start;
    for (let i = 0; i < this._size; i++)
      callback(items[(start + i) % capacity], i);
  }

  /** Writes the items into `target` from index 0, oldest first (two plain copies, no call per item). */
  copyTo(target: { [index: number]: T }): void {
    const items = this._items;
    const firstPart = Math.min(this._size, this._capacity - this._start);
    for (let i = 0; i < firstPart; i++) target[i] = items[this._start + i];
    for (let i = firstPart; i < this._size; i++)
      target[i] = items[i - firstPart];
  }

  /** The items, oldest first. */
  toArray(): T[] {
    const items: T[] = [];
    this.forEach(item => items.push(item));
    return items;
  }
}

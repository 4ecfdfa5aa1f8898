/** A typed array an arena can keep its blocks in. */
type Storage = Float64Array | Uint16Array | Uint8Array;

/** The smallest block an arena hands out, in elements. */
const MIN_BLOCK = 8;

/**
 * Blocks of one typed array, for data of many series without an object per
 * series: a block is an offset and a size class (a power of two of
 * elements), freed blocks go on a free list per class and are handed out
 * again, and the array doubles when it is full. The GC sees one typed array
 * (its contents are never traced), however many blocks there are.
 *
 * Offsets stay valid across growth; the array itself does not (read
 * {@link data} again after an allocation).
 */
export class Arena<T extends Storage> {
  /** The storage; replaced when it grows. */
  data: T;
  private readonly _make: (length: number) => T;
  /** Per size class (log2 of the size), the offsets of free blocks. */
  private readonly _free: number[][] = [];
  /** Elements handed out and not freed (for the memory budget). */
  private _used = 0;
  /** The high-water mark: the next block comes from here when no free one fits. */
  private _top = 0;

  constructor(make: (length: number) => T, initialLength = 1024) {
    this._make = make;
    this.data = make(initialLength);
  }

  /** Elements in blocks handed out. */
  get usedElements(): number {
    return this._used;
  }

  /** Bytes the storage holds (its whole capacity). */
  get byteLength(): number {
    return this.data.byteLength;
  }

  /** The size a block for `elements` gets: the next power of two, at least MIN_BLOCK. */
  static sizeFor(elements: number): number {
    return elements <= MIN_BLOCK
      ? MIN_BLOCK
      : 1 << (32 - Math.clz32(elements - 1));
  }

  /** A zero-filled block of at least `elements`; returns its offset. */
  allocate(elements: number): number {
    const size = Arena.sizeFor(elements);
    const free = this._free[Math.log2(size)];
    let offset: number;
    if (free !== undefined && free.length > 0) {
      offset = free.pop()!;
      this.data.fill(0, offset, offset + size);
    } else {
      offset = this._top;
      if (offset + size > this.data.length) this._grow(offset + size);
      this._top += size;
    }
    this._used += size;
    return offset;
  }

  /** Gives a block back; `elements` is what it was allocated for. */
  free(offset: number, elements: number): void {
    const size = Arena.sizeFor(elements);
    (this._free[Math.log2(size)] ??= []).push(offset);
    this._used -= size;
  }

  private _grow(needed: number): void {
    let length = this.data.length * 2;
    while (length < needed) length *= 2;
    const grown = this._make(length);
    grown.set(this.data.subarray(0, this._top));
    this.data = grown;
  }
}

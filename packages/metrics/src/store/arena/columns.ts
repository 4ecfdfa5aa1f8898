/** A typed array an owner keeps one value per series (or slot) in. */
export type Column =
  | Float64Array<ArrayBuffer>
  | Int32Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>
  | Int8Array<ArrayBuffer>
  | Uint16Array<ArrayBuffer>;

/** A typed array of the same kind, `length` long, holding `array`'s elements first. */
export function grow<
  T extends Float64Array | Int32Array | Uint8Array | Int8Array | Uint16Array,
>(array: T, length: number): T {
  const grown = new (array.constructor as new (length: number) => T)(length);
  grown.set(array);
  return grown;
}

/** One column of an owner: how to read and replace it, and what new elements hold. */
export interface ColumnSlot {
  get(): Column;
  set(column: Column): void;
  /** What elements past the old length hold; 0 when absent. */
  fill?: number;
}

/**
 * Elements a column set grows to from `length`: a quarter more, in whole
 * multiples of 64. Not doubling: with growth ahead from seven eighths in
 * use, a quarter leaves under 30% of the columns unused, doubling up to
 * 56% (at 100k series, 31k slots of each column), for about five copies
 * of each element over its growth, not two: a few milliseconds over the
 * creation of 100k series, a column at a time.
 */
function grownLength(length: number): number {
  return Math.max(64, Math.ceil((length * 1.25) / 64) * 64);
}

/**
 * An owner's columns, each at least {@link length} long, grown a quarter
 * one column at a time: once more than seven eighths of the length is
 * reserved, each {@link reserve} grows the next column, so that a call
 * copies at most one column, not all of them at once. Only ids that
 * outrun that (the last eighth reserved in fewer calls than there are
 * columns) grow the rest in one call.
 */
export class ColumnSet {
  private readonly _columns: readonly ColumnSlot[];
  private _length = 0;
  /** Columns already grown, ahead of need, to {@link _next}. */
  private _ahead = 0;
  private _next = grownLength(0);

  constructor(columns: readonly ColumnSlot[]) {
    this._columns = columns;
  }

  /** Elements every column holds. */
  get length(): number {
    return this._length;
  }

  /** Makes indexes below `length` valid in every column. */
  reserve(length: number): void {
    if (length > this._length) {
      const target = Math.max(length, this._next);
      for (const column of this._columns)
        if (column.get().length < target) growColumn(column, target);
      this._grown(target);
      return;
    }
    if (8 * length > 7 * this._length) {
      growColumn(this._columns[this._ahead++], this._next);
      if (this._ahead === this._columns.length) this._grown(this._next);
    }
  }

  private _grown(length: number): void {
    this._length = length;
    this._next = grownLength(length);
    this._ahead = 0;
  }
}

function growColumn(column: ColumnSlot, length: number): void {
  const old = column.get();
  const grown = grow(old, length);
  if (column.fill !== undefined && column.fill !== 0)
    grown.fill(column.fill, old.length);
  column.set(grown);
}

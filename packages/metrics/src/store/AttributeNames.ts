/** Bytes counted per name besides its characters: the Map entry, the array slot and the string's header. */
const NAME_OVERHEAD_BYTES = 48;

/**
 * The attribute names of one stream's keys, each held once and known by a
 * small id, so that a key stores an id instead of its names (a service's
 * series share a handful). A name is counted by the keys that use it and
 * forgotten with the last of them, so names that come and go (hostile or
 * not) are not kept.
 */
export class AttributeNames {
  /** By id; undefined for an id that is free. */
  readonly names: (string | undefined)[] = [];
  private readonly _ids = new Map<string, number>();
  private readonly _uses: number[] = [];
  private readonly _freeIds: number[] = [];
  private _bytes = 0;

  /** Bytes the names take, estimated: two per character and a fixed overhead each. */
  get byteLength(): number {
    return this._bytes;
  }

  /** The id of `name` for one more key that uses it. */
  use(name: string): number {
    let id = this._ids.get(name);
    if (id === undefined) {
      id = this._freeIds.pop() ?? this.names.length;
      this.names[id] = name;
      this._uses[id] = 0;
      this._ids.set(name, id);
      this._bytes += 2 * name.length + NAME_OVERHEAD_BYTES;
    }
    this._uses[id]++;
    return id;
  }

  /** One key fewer uses name `id`; the last one forgets it. */
  release(id: number): void {
    if (--this._uses[id] > 0) return;
    const name = this.names[id]!;
    this._ids.delete(name);
    this.names[id] = undefined;
    this._freeIds.push(id);
    this._bytes -= 2 * name.length + NAME_OVERHEAD_BYTES;
  }
}

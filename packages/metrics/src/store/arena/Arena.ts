/** Bytes of a regular chunk; each starts smaller and doubles up to it. */
export const CHUNK_BYTES = 1 << 20;
/**
 * Where a chunk after the first starts: a store just past a whole chunk
 * holds a sixteenth of one more, not a megabyte more.
 */
export const NEXT_CHUNK_BYTES = CHUNK_BYTES >> 4;
/** Blocks above this get a chunk of their own (freed with it). */
const LARGE_BYTES = CHUNK_BYTES >> 2;
/** A handle is a chunk index and a payload offset in 8-byte units. */
const OFFSET_BITS = 17;
const OFFSET_MASK = (1 << OFFSET_BITS) - 1;
const MAX_CHUNKS = 1 << (31 - OFFSET_BITS);
/** The largest block, header included: a block's size is kept in an int32. */
const MAX_BLOCK_BYTES = 2 ** 30;
/** Bytes before a payload: its owner, then its size and flags. */
export const HEADER_BYTES = 8;
/** Where a block's size word and owner word sit, in bytes before its payload. */
const SIZE_WORD = 4;
const OWNER_WORD = 8;
/** Header, two free-list links and a footer. */
const MIN_BLOCK = 24;
/** Header flags (sizes are multiples of 8). */
const FREE = 1;
const PREV_FREE = 2;
const SIZE_MASK = ~7;
/** Below this, a class per 8 bytes; above, 8 classes per power of two. */
const LINEAR_BYTES = 256;
const CLASSES = 128;
const NONE = -1;

/** The chunk of a block's handle. */
export function chunkOf(handle: number): number {
  return handle >>> OFFSET_BITS;
}

/** The byte offset of a block's payload in its chunk (a multiple of 8). */
export function offsetOf(handle: number): number {
  return (handle & OFFSET_MASK) << 3;
}

/**
 * Blocks of bytes for the data of many series without an object per
 * series, handed out by a two-level segregated fit (TLSF) allocator: free
 * blocks sit on lists by size class (exact classes to 256 bytes, then 8 per
 * power of two), a freed block merges with free neighbours, and an
 * allocation splits the smallest fitting block, so the space lost to
 * rounding and holes stays small whatever the mix of sizes.
 *
 * The bytes live in chunks of {@link CHUNK_BYTES} (each starts small and
 * doubles to that size, copied as it grows; a whole chunk is never copied),
 * so the arena grows without copying what it holds but its newest chunk,
 * and a chunk whose blocks are all freed goes back to the system
 * (an empty arena holds nothing). A
 * block larger than a quarter chunk gets a chunk of its own. The GC sees
 * a few views per chunk, however many blocks there are.
 *
 * A block is a handle (an int32); its payload starts at {@link offsetOf}
 * in chunk {@link chunkOf}, 8-byte aligned, read through the chunk's views
 * ({@link u8}, {@link i32}, {@link f64}). A 4-byte header
 * before each payload holds its size; a free block holds its list links
 * and a footer. Handles stay valid until freed; the views of the newest
 * chunk are replaced while it grows (read them again after an allocation).
 */
export class Arena {
  /** Views of each chunk (undefined for a released one). */
  readonly u8: Uint8Array[] = [];
  readonly i32: Int32Array[] = [];
  readonly f64: Float64Array[] = [];
  private readonly _nextChunkBytes: number;
  /** Where the first chunk starts: the largest chunk held before the arena last emptied. */
  private _firstChunkBytes: number;
  /** The largest regular chunk released since the arena last emptied. */
  private _largestReleased = 0;
  /** Per chunk: its bytes (0 once released), bytes in blocks, whether it holds one large block. */
  private readonly _chunkBytes: number[] = [];
  private readonly _chunkUsed: number[] = [];
  private readonly _large: boolean[] = [];
  private readonly _releasedChunks: number[] = [];
  /** The first free block of each class, and a bit per class that has one. */
  private readonly _heads = new Int32Array(CLASSES).fill(NONE);
  private readonly _bitmap = new Int32Array(CLASSES >> 5);
  private _regularChunks = 0;
  /** The regular chunk still doubling towards CHUNK_BYTES, or NONE. */
  private _growing = NONE;
  /** The chunk being emptied: its free space is on no list, so nothing new goes there. */
  private _evacuating = NONE;
  private _bytes = 0;
  private _used = 0;

  /**
   * `firstChunkBytes`: where the first chunk starts; `nextChunkBytes`: where
   * each later one starts (powers of two, 64 to CHUNK_BYTES). Once emptied,
   * the arena starts again at the largest chunk it held, so that a burst
   * that comes back (the deltas between two collections) is not copied up
   * again each time.
   */
  constructor(firstChunkBytes = 1024, nextChunkBytes = NEXT_CHUNK_BYTES) {
    this._firstChunkBytes = firstChunkBytes;
    this._nextChunkBytes = nextChunkBytes;
  }

  /** Bytes the arena holds from the system: every chunk, whole. */
  get byteLength(): number {
    return this._bytes;
  }

  /** Bytes in blocks handed out, headers included. */
  get usedBytes(): number {
    return this._used;
  }

  /** Chunks held (for tests and diagnostics). */
  get chunkCount(): number {
    return this._chunkBytes.length - this._releasedChunks.length;
  }

  /** Payload bytes a block of `bytes` takes, header and rounding included. */
  static blockBytes(bytes: number): number {
    return Math.max(MIN_BLOCK, (bytes + HEADER_BYTES + 7) & SIZE_MASK);
  }

  /**
   * A block of at least `bytes` payload bytes (not zeroed); returns its
   * handle.
   * @throws {RangeError} past 1 GiB in one block, or 2^31 bytes in all.
   */
  allocate(bytes: number, owner = 0): number {
    const size = Arena.blockBytes(bytes);
    if (size > LARGE_BYTES) {
      const large = this._allocateLarge(size);
      this.i32[chunkOf(large)][(offsetOf(large) - OWNER_WORD) >> 2] = owner;
      return large;
    }
    let found = this._find(size);
    if (found === NONE) {
      this._grow(size);
      found = this._find(size);
    }
    const chunk = chunkOf(found);
    const at = offsetOf(found);
    const i32 = this.i32[chunk];
    const blockSize = i32[(at - SIZE_WORD) >> 2] & SIZE_MASK;
    this._unlink(found, blockSize);
    this._take(chunk, at, blockSize, size);
    i32[(at - OWNER_WORD) >> 2] = owner;
    return found;
  }

  /** Gives a block back. */
  free(handle: number): void {
    const chunk = chunkOf(handle);
    if (this._large[chunk]) {
      this._used -= this._chunkUsed[chunk];
      this._release(chunk);
      return;
    }
    let at = offsetOf(handle);
    const i32 = this.i32[chunk];
    const header = i32[(at - SIZE_WORD) >> 2];
    let size = header & SIZE_MASK;
    this._chunkUsed[chunk] -= size;
    this._used -= size;
    if (chunk === this._evacuating) {
      // Marked free, listed only if the emptying is given up.
      i32[(at - SIZE_WORD) >> 2] = header | FREE;
      if (this._chunkUsed[chunk] === 0) {
        this._evacuating = NONE;
        this._release(chunk);
      }
      return;
    }
    const next = i32[(at + size - SIZE_WORD) >> 2];
    if (next & FREE) {
      this._unlink(handleOf(chunk, at + size), next & SIZE_MASK);
      size += next & SIZE_MASK;
    }
    if (header & PREV_FREE) {
      const before = i32[(at - HEADER_BYTES - 4) >> 2];
      at -= before;
      this._unlink(handleOf(chunk, at), before);
      size += before;
    }
    // An empty chunk goes back, the last one too: memory held for a burst
    // (the deltas between two collections) is returned once it is over.
    if (this._chunkUsed[chunk] === 0) {
      this._release(chunk);
      return;
    }
    this._insert(chunk, at, size, 0);
  }

  /** Payload bytes of a block (at least what it was allocated for). */
  capacityOf(handle: number): number {
    const chunk = chunkOf(handle);
    return (
      (this.i32[chunk][(offsetOf(handle) - SIZE_WORD) >> 2] & SIZE_MASK) -
      HEADER_BYTES
    );
  }

  /**
   * Makes a block hold at least `bytes` by taking the free block after it,
   * or shrinks it to `bytes`, in place; false when it cannot grow there
   * (then allocate, copy and free).
   */
  resizeInPlace(handle: number, bytes: number): boolean {
    const chunk = chunkOf(handle);
    if (this._large[chunk] || chunk === this._evacuating) return false;
    const at = offsetOf(handle);
    const i32 = this.i32[chunk];
    const size = i32[(at - SIZE_WORD) >> 2] & SIZE_MASK;
    const wanted = Arena.blockBytes(bytes);
    if (wanted <= size) {
      if (size - wanted < MIN_BLOCK) return true;
      // The tail goes back, merged with a free block after it.
      this._setSize(chunk, at, wanted);
      this._chunkUsed[chunk] -= size - wanted;
      this._used -= size - wanted;
      let tail = size - wanted;
      const next = i32[(at + size - SIZE_WORD) >> 2];
      if (next & FREE) {
        this._unlink(handleOf(chunk, at + size), next & SIZE_MASK);
        tail += next & SIZE_MASK;
      }
      this._insert(chunk, at + wanted, tail, 0);
      return true;
    }
    const next = i32[(at + size - SIZE_WORD) >> 2];
    const available = next & FREE ? next & SIZE_MASK : 0;
    if (size + available < wanted) return false;
    this._unlink(handleOf(chunk, at + size), available);
    this._chunkUsed[chunk] -= size;
    this._used -= size;
    this._take(chunk, at, size + available, wanted);
    return true;
  }

  /** Whether a block of `bytes` fits in free space the arena holds now (no growth). */
  fits(bytes: number): boolean {
    const size = Arena.blockBytes(bytes);
    return size <= LARGE_BYTES && this._find(size) !== NONE;
  }

  /**
   * Compaction, for owners that can move their blocks: when more than
   * `fraction` of the arena's bytes are in no block, picks the least used
   * chunk and takes its free space off the lists, so that no block is
   * placed there; owners then move what they hold in it elsewhere
   * ({@link isEvacuating}: allocate, copy, free), and the chunk goes back to
   * the system when its last block is freed. A chunk still in use from an
   * earlier call is given up first (its free space listed again). Returns
   * whether a chunk is being emptied.
   */
  beginEvacuation(fraction: number): boolean {
    if (this._evacuating !== NONE) this._relist(this._evacuating);
    this._evacuating = NONE;
    if (
      this._regularChunks < 2 ||
      this._bytes - this._used <= fraction * this._bytes
    )
      return false;
    let chunk = NONE;
    for (let i = 0; i < this._chunkBytes.length; i++)
      if (
        this._chunkBytes[i] > 0 &&
        !this._large[i] &&
        (chunk === NONE || this._chunkUsed[i] < this._chunkUsed[chunk])
      )
        chunk = i;
    const i32 = this.i32[chunk];
    for (let at = 8; ; ) {
      const header = i32[(at - SIZE_WORD) >> 2];
      const size = header & SIZE_MASK;
      if (size === 0) break;
      if (header & FREE) this._unlink(handleOf(chunk, at), size);
      at += size;
    }
    this._evacuating = chunk;
    return true;
  }

  /** Gives a block another owner (see {@link compactChunk}). */
  setOwner(handle: number, owner: number): void {
    this.i32[chunkOf(handle)][(offsetOf(handle) - OWNER_WORD) >> 2] = owner;
  }

  /** Chunks whose space in no block is over `fraction` of them (candidates for {@link compactChunk}). */
  fragmentedChunks(fraction: number): number[] {
    const chunks: number[] = [];
    for (let i = 0; i < this._chunkBytes.length; i++) {
      const bytes = this._chunkBytes[i];
      if (
        bytes > 0 &&
        !this._large[i] &&
        i !== this._evacuating &&
        bytes - this._chunkUsed[i] > fraction * bytes
      )
        chunks.push(i);
    }
    return chunks;
  }

  /**
   * Slides a chunk's blocks down over the free space between them, so that
   * its free space is one block at its end; `moved` is told each moved
   * block's owner (as given to {@link allocate}) and new handle. Copies at
   * most the chunk.
   */
  compactChunk(
    chunk: number,
    moved: (owner: number, handle: number) => void
  ): void {
    const bytes = this._chunkBytes[chunk];
    if (bytes === 0 || this._large[chunk] || chunk === this._evacuating) return;
    const i32 = this.i32[chunk];
    const u8 = this.u8[chunk];
    for (let at = 8; ; ) {
      const header = i32[(at - SIZE_WORD) >> 2];
      const size = header & SIZE_MASK;
      if (size === 0) break;
      if (header & FREE) this._unlink(handleOf(chunk, at), size);
      at += size;
    }
    let to = 8;
    for (let at = 8; ; ) {
      const size = i32[(at - SIZE_WORD) >> 2] & SIZE_MASK;
      const free = i32[(at - SIZE_WORD) >> 2] & FREE;
      if (size === 0) break;
      if (!free) {
        if (to !== at) {
          u8.copyWithin(
            to - HEADER_BYTES,
            at - HEADER_BYTES,
            at - HEADER_BYTES + size
          );
          i32[(to - SIZE_WORD) >> 2] = size;
          moved(i32[(to - OWNER_WORD) >> 2], handleOf(chunk, to));
        } else {
          i32[(to - SIZE_WORD) >> 2] = size;
        }
        to += size;
      }
      at += size;
    }
    if (to < bytes) this._insert(chunk, to, bytes - to, 0);
    else this._sentinel(chunk, bytes);
  }

  /** Whether a block is in the chunk being emptied (its owner should move it). */
  isEvacuating(handle: number): boolean {
    return chunkOf(handle) === this._evacuating;
  }

  /** Lists a chunk's free space again, neighbours merged. */
  private _relist(chunk: number): void {
    const i32 = this.i32[chunk];
    let start = NONE;
    let run = 0;
    for (let at = 8; ; ) {
      const header = i32[(at - SIZE_WORD) >> 2];
      const size = header & SIZE_MASK;
      if (size === 0 || !(header & FREE)) {
        if (start !== NONE) this._insert(chunk, start, run, 0);
        start = NONE;
        if (size === 0) break;
      } else {
        if (start === NONE) {
          start = at;
          run = 0;
        }
        run += size;
      }
      at += size;
    }
  }

  /** Takes the free block at `at` of `blockSize` for `size`, the rest going back. */
  private _take(
    chunk: number,
    at: number,
    blockSize: number,
    size: number
  ): void {
    const i32 = this.i32[chunk];
    const flags = i32[(at - SIZE_WORD) >> 2] & PREV_FREE;
    if (blockSize - size >= MIN_BLOCK) {
      i32[(at - SIZE_WORD) >> 2] = size | flags;
      this._insert(chunk, at + size, blockSize - size, 0);
    } else {
      size = blockSize;
      i32[(at - SIZE_WORD) >> 2] = size | flags;
      i32[(at + size - SIZE_WORD) >> 2] &= ~PREV_FREE;
    }
    this._chunkUsed[chunk] += size;
    this._used += size;
  }

  private _setSize(chunk: number, at: number, size: number): void {
    const i32 = this.i32[chunk];
    const index = (at - SIZE_WORD) >> 2;
    i32[index] = size | (i32[index] & (FREE | PREV_FREE));
  }

  /** Files a free block, marking it in its header, footer and the next header. */
  private _insert(
    chunk: number,
    at: number,
    size: number,
    prevFree: number
  ): void {
    const i32 = this.i32[chunk];
    i32[(at - SIZE_WORD) >> 2] = size | FREE | prevFree;
    i32[(at + size - HEADER_BYTES - 4) >> 2] = size;
    i32[(at + size - SIZE_WORD) >> 2] |= PREV_FREE;
    const handle = handleOf(chunk, at);
    const sizeClass = classOf(size);
    const head = this._heads[sizeClass];
    i32[at >> 2] = head;
    i32[(at >> 2) + 1] = NONE;
    if (head !== NONE)
      this.i32[chunkOf(head)][(offsetOf(head) >> 2) + 1] = handle;
    else this._bitmap[sizeClass >> 5] |= 1 << (sizeClass & 31);
    this._heads[sizeClass] = handle;
  }

  /** Takes a free block off its list (its header still says free). */
  private _unlink(handle: number, size: number): void {
    const i32 = this.i32[chunkOf(handle)];
    const at = offsetOf(handle) >> 2;
    const next = i32[at];
    const previous = i32[at + 1];
    if (next !== NONE)
      this.i32[chunkOf(next)][(offsetOf(next) >> 2) + 1] = previous;
    if (previous !== NONE) {
      this.i32[chunkOf(previous)][offsetOf(previous) >> 2] = next;
    } else {
      const sizeClass = classOf(size);
      this._heads[sizeClass] = next;
      if (next === NONE)
        this._bitmap[sizeClass >> 5] &= ~(1 << (sizeClass & 31));
    }
  }

  /** A free block of at least `size`, or NONE. */
  private _find(size: number): number {
    // The head of the size's own class may fit; every block of a higher class does.
    const own = classOf(size);
    const head = this._heads[own];
    if (
      head !== NONE &&
      (this.i32[chunkOf(head)][(offsetOf(head) - SIZE_WORD) >> 2] &
        SIZE_MASK) >=
        size
    )
      return head;
    const wanted = own + 1;
    if (wanted >= CLASSES) return NONE;
    let word = wanted >> 5;
    let bits = this._bitmap[word] & (-1 << (wanted & 31));
    while (bits === 0) {
      if (++word === this._bitmap.length) return NONE;
      bits = this._bitmap[word];
    }
    return this._heads[(word << 5) + 31 - Math.clz32(bits & -bits)];
  }

  /** Room for a block of `size`: the newest chunk doubled while small, else a new chunk. */
  private _grow(size: number): void {
    const growing = this._growing;
    if (growing !== NONE && growing !== this._evacuating) {
      const old = this._chunkBytes[growing];
      let length = old * 2;
      while (length < CHUNK_BYTES && length - old < size) length *= 2;
      this._resizeChunk(growing, length);
      if (length === CHUNK_BYTES) this._growing = NONE;
      return;
    }
    let bytes =
      this._regularChunks === 0 ? this._firstChunkBytes : this._nextChunkBytes;
    while (bytes < CHUNK_BYTES && bytes - 8 < size) bytes *= 2;
    const chunk = this._addChunk(bytes, false);
    this._regularChunks++;
    this._growing = bytes < CHUNK_BYTES ? chunk : NONE;
    this._sentinel(chunk, bytes);
    this._insert(chunk, 8, bytes - 8, 0);
  }

  /** A chunk, copied into `length` bytes; the new space is one free block. */
  private _resizeChunk(chunk: number, length: number): void {
    const old = this._chunkBytes[chunk];
    const buffer = new ArrayBuffer(length);
    new Uint8Array(buffer).set(this.u8[chunk]);
    this._setViews(chunk, buffer);
    this._bytes += length - old;
    this._chunkBytes[chunk] = length;
    this._sentinel(chunk, length);
    // The old sentinel's place starts the new space.
    const i32 = this.i32[chunk];
    const prevFree = i32[(old - SIZE_WORD) >> 2] & PREV_FREE;
    let at = old;
    let size = length - old;
    if (prevFree) {
      const before = i32[(at - HEADER_BYTES - 4) >> 2];
      at -= before;
      this._unlink(handleOf(chunk, at), before);
      size += before;
    }
    this._insert(chunk, at, size, 0);
  }

  private _allocateLarge(size: number): number {
    if (size > MAX_BLOCK_BYTES)
      throw new RangeError(`Arena: a block of ${size} bytes is over 1 GiB`);
    const bytes = size + 8;
    const chunk = this._addChunk(bytes, true);
    this._sentinel(chunk, bytes);
    this.i32[chunk][1] = size;
    this._chunkUsed[chunk] = size;
    this._used += size;
    return handleOf(chunk, 8);
  }

  /** A used header of size 0 at the chunk's end: the last block's right neighbour. */
  private _sentinel(chunk: number, bytes: number): void {
    this.i32[chunk][(bytes - SIZE_WORD) >> 2] = 0;
  }

  private _addChunk(bytes: number, large: boolean): number {
    let chunk = this._releasedChunks.pop();
    if (chunk === undefined) {
      chunk = this._chunkBytes.length;
      if (chunk >= MAX_CHUNKS)
        throw new RangeError(`Arena: more than ${MAX_CHUNKS} chunks`);
      this._chunkBytes.push(0);
      this._chunkUsed.push(0);
      this._large.push(false);
    }
    this._setViews(chunk, new ArrayBuffer(bytes));
    this._chunkBytes[chunk] = bytes;
    this._chunkUsed[chunk] = 0;
    this._large[chunk] = large;
    this._bytes += bytes;
    return chunk;
  }

  private _release(chunk: number): void {
    if (!this._large[chunk]) {
      this._largestReleased = Math.max(
        this._largestReleased,
        this._chunkBytes[chunk]
      );
      if (--this._regularChunks === 0) {
        this._firstChunkBytes = this._largestReleased;
        this._largestReleased = 0;
      }
    }
    if (chunk === this._growing) this._growing = NONE;
    this._bytes -= this._chunkBytes[chunk];
    this._chunkBytes[chunk] = 0;
    this._chunkUsed[chunk] = 0;
    this._large[chunk] = false;
    this.i32[chunk] = EMPTY_I32;
    this.f64[chunk] = EMPTY_F64;
    this.u8[chunk] = EMPTY_U8;
    this._releasedChunks.push(chunk);
  }

  private _setViews(chunk: number, buffer: ArrayBuffer): void {
    this.u8[chunk] = new Uint8Array(buffer);
    this.i32[chunk] = new Int32Array(buffer);
    this.f64[chunk] = new Float64Array(buffer);
  }
}

const EMPTY_U8 = new Uint8Array(0);
const EMPTY_I32 = new Int32Array(0);
const EMPTY_F64 = new Float64Array(0);

function handleOf(chunk: number, at: number): number {
  return (chunk << OFFSET_BITS) | (at >>> 3);
}

/** The list a free block of `size` bytes is filed on. */
function classOf(size: number): number {
  if (size < LINEAR_BYTES) return size >>> 3;
  const log = 31 - Math.clz32(size);
  return 32 + ((log - 8) << 3) + ((size >>> (log - 3)) & 7);
}

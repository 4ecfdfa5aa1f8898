import { expect } from 'chai';
import {
  Arena,
  CHUNK_BYTES,
  HEADER_BYTES,
  NEXT_CHUNK_BYTES,
  chunkOf,
  offsetOf,
} from '../../src/store/arena/Arena';

/** A seeded generator of floats in [0, 1) (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Fills a block's first `bytes` with a pattern of `tag`. */
function fill(arena: Arena, handle: number, bytes: number, tag: number): void {
  const u8 = arena.u8[chunkOf(handle)];
  const at = offsetOf(handle);
  for (let i = 0; i < bytes; i++) u8[at + i] = (tag * 31 + i) & 255;
}

/** Whether a block still holds the pattern of `tag`. */
function holds(
  arena: Arena,
  handle: number,
  bytes: number,
  tag: number
): boolean {
  const u8 = arena.u8[chunkOf(handle)];
  const at = offsetOf(handle);
  for (let i = 0; i < bytes; i++)
    if (u8[at + i] !== ((tag * 31 + i) & 255)) return false;
  return true;
}

interface Held {
  handle: number;
  bytes: number;
  tag: number;
}

/** Every block's [start, end) in bytes of its chunk, none overlapping another. */
function expectDisjoint(arena: Arena, held: Held[]): void {
  const byChunk = new Map<number, [number, number][]>();
  for (const { handle } of held) {
    const start = offsetOf(handle) - HEADER_BYTES;
    const ranges = byChunk.get(chunkOf(handle)) ?? [];
    ranges.push([start, start + arena.capacityOf(handle) + HEADER_BYTES]);
    byChunk.set(chunkOf(handle), ranges);
  }
  for (const ranges of byChunk.values()) {
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++)
      expect(ranges[i][0]).to.be.at.least(ranges[i - 1][1]);
  }
}

describe('Arena', () => {
  it('hands out 8-byte aligned blocks that hold what was asked and never overlap, through random allocations and frees', () => {
    const arena = new Arena(256);
    const next = random(7);
    const held: Held[] = [];
    let tag = 0;
    for (let step = 0; step < 20_000; step++) {
      if (held.length > 0 && next() < 0.45) {
        const i = Math.floor(next() * held.length);
        const [gone] = held.splice(i, 1);
        expect(holds(arena, gone.handle, gone.bytes, gone.tag)).to.equal(true);
        arena.free(gone.handle);
        continue;
      }
      // Mostly small blocks, some up to 64 KB.
      const bytes =
        next() < 0.9
          ? 1 + Math.floor(next() * 300)
          : 1 + Math.floor(next() * 65_536);
      const handle = arena.allocate(bytes);
      expect(offsetOf(handle) % 8).to.equal(0);
      expect(arena.capacityOf(handle)).to.be.at.least(bytes);
      // Rounded to 8 bytes with the header, or a whole block a split could not leave.
      expect(arena.capacityOf(handle) + HEADER_BYTES).to.be.below(
        Arena.blockBytes(bytes) + 24
      );
      fill(arena, handle, bytes, ++tag);
      held.push({ handle, bytes, tag });
    }
    for (const h of held)
      expect(holds(arena, h.handle, h.bytes, h.tag)).to.equal(true);
    expectDisjoint(arena, held);
    const inBlocks = held.reduce(
      (sum, h) => sum + arena.capacityOf(h.handle) + HEADER_BYTES,
      0
    );
    expect(arena.usedBytes).to.equal(inBlocks);
    for (const h of held) arena.free(h.handle);
    expect(arena.usedBytes).to.equal(0);
    // Every chunk went back.
    expect(arena.chunkCount).to.equal(0);
    expect(arena.byteLength).to.equal(0);
  });

  it('merges freed neighbours: two freed blocks make room for one of both sizes in their place', () => {
    const arena = new Arena(4096);
    const a = arena.allocate(100);
    const b = arena.allocate(100);
    const c = arena.allocate(100);
    fill(arena, c, 100, 3);
    arena.free(a);
    arena.free(b);
    const both = arena.allocate(2 * Arena.blockBytes(100) - HEADER_BYTES);
    expect(both).to.equal(a);
    expect(holds(arena, c, 100, 3)).to.equal(true);
  });

  it('keeps what it holds while the first chunk doubles', () => {
    const arena = new Arena(64);
    const held: Held[] = [];
    for (let i = 0; i < 500; i++) {
      const handle = arena.allocate(40);
      fill(arena, handle, 40, i);
      held.push({ handle, bytes: 40, tag: i });
    }
    expect(arena.chunkCount).to.equal(1);
    // 500 blocks of 48 bytes: the first chunk doubled from 64 to 32 KB.
    expect(arena.byteLength).to.equal(32_768);
    for (const h of held)
      expect(holds(arena, h.handle, h.bytes, h.tag)).to.equal(true);
  });

  it('starts each chunk past the first small and doubles it, keeping what it holds, and never copies a whole chunk', () => {
    const arena = new Arena();
    const held: Held[] = [];
    // 1,100 blocks of 1 KB: the first chunk holds 1,023 of them (8 bytes go to its start and end).
    const block = 1024 - HEADER_BYTES;
    let firstView: Uint8Array | undefined;
    for (let i = 0; i < 1100; i++) {
      const handle = arena.allocate(block);
      fill(arena, handle, block, i);
      held.push({ handle, bytes: block, tag: i });
      if (arena.byteLength === CHUNK_BYTES) firstView ??= arena.u8[0];
    }
    expect(arena.chunkCount).to.equal(2);
    const inSecond = held.filter(h => chunkOf(h.handle) === 1).length;
    expect(inSecond).to.equal(1100 - 1023);
    // The second chunk doubled from 64 KB to the least power of two that holds its blocks (and its sentinel).
    let expected = NEXT_CHUNK_BYTES;
    while (expected - 8 < inSecond * 1024) expected *= 2;
    expect(arena.byteLength).to.equal(CHUNK_BYTES + expected);
    expect(arena.u8[0]).to.equal(firstView);
    for (const h of held)
      expect(holds(arena, h.handle, h.bytes, h.tag)).to.equal(true);
    expectDisjoint(arena, held);
  });

  it('adds chunks past the first, and gives a chunk back once all its blocks are freed', () => {
    const arena = new Arena();
    const blocks: number[] = [];
    // 40 blocks of 64 KB: 2.5 MB in 3 chunks.
    const views: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      blocks.push(arena.allocate(65_536 - HEADER_BYTES));
      fill(arena, blocks[i], 100, i);
      // A full chunk is never copied again: its view stays the same.
      if (arena.byteLength >= CHUNK_BYTES)
        views.push(arena.u8[chunkOf(blocks[0])]);
    }
    expect(arena.chunkCount).to.equal(3);
    expect(arena.byteLength).to.equal(3 * CHUNK_BYTES);
    expect(new Set(views).size).to.equal(1);
    blocks.forEach((b, i) => expect(holds(arena, b, 100, i)).to.equal(true));
    const inFirstChunk = blocks.filter(b => chunkOf(b) === chunkOf(blocks[0]));
    const rest = blocks.filter(b => chunkOf(b) !== chunkOf(blocks[0]));
    for (const b of rest) arena.free(b);
    expect(arena.chunkCount).to.equal(1);
    expect(arena.byteLength).to.equal(CHUNK_BYTES);
    for (const b of inFirstChunk) arena.free(b);
    // The last chunk goes back too.
    expect(arena.chunkCount).to.equal(0);
    expect(arena.byteLength).to.equal(0);
  });

  it('starts again at the largest chunk it held once emptied, so a burst that comes back is not copied up again', () => {
    const arena = new Arena(64);
    const burst = () => {
      const blocks: number[] = [];
      // 600 blocks of 48 bytes: the first chunk doubles from 64 bytes to 32 KB.
      for (let i = 0; i < 600; i++) blocks.push(arena.allocate(40));
      return blocks;
    };
    const first = burst();
    expect(arena.byteLength).to.equal(32_768);
    for (const b of first) arena.free(b);
    expect(arena.byteLength).to.equal(0);
    const one = arena.allocate(40);
    fill(arena, one, 40, 3);
    expect(arena.byteLength).to.equal(32_768);
    const views = new Set([arena.u8[0]]);
    const second = burst();
    views.add(arena.u8[0]);
    // No copy this time: the chunk was already the size the burst needs.
    expect(views.size).to.equal(1);
    expect(arena.byteLength).to.equal(32_768);
    expect(holds(arena, one, 40, 3)).to.equal(true);
    expectDisjoint(
      arena,
      [one, ...second].map(handle => ({ handle, bytes: 40, tag: 0 }))
    );
  });

  it('starts chunks past the first at the size it is told', () => {
    const arena = new Arena(1024, CHUNK_BYTES);
    for (let i = 0; i < 1100; i++) arena.allocate(1024 - HEADER_BYTES);
    expect(arena.chunkCount).to.equal(2);
    expect(arena.byteLength).to.equal(2 * CHUNK_BYTES);
  });

  it('gives a block larger than a quarter chunk a chunk of its own, returned when freed', () => {
    const arena = new Arena();
    const small = arena.allocate(100);
    const before = arena.byteLength;
    const bytes = 3 * CHUNK_BYTES;
    const large = arena.allocate(bytes);
    expect(arena.capacityOf(large)).to.be.at.least(bytes);
    expect(arena.byteLength - before).to.equal(Arena.blockBytes(bytes) + 8);
    fill(arena, large, 1000, 9);
    expect(holds(arena, large, 1000, 9)).to.equal(true);
    arena.free(large);
    expect(arena.byteLength).to.equal(before);
    expect(arena.capacityOf(small)).to.be.at.least(100);
  });

  it('grows a block in place into the free block after it, and shrinks one in place', () => {
    const arena = new Arena(4096);
    const a = arena.allocate(100);
    const b = arena.allocate(300);
    const c = arena.allocate(100);
    fill(arena, a, 100, 1);
    fill(arena, c, 100, 3);
    arena.free(b);
    expect(arena.resizeInPlace(a, 200)).to.equal(true);
    expect(arena.capacityOf(a)).to.equal(Arena.blockBytes(200) - HEADER_BYTES);
    expect(holds(arena, a, 100, 1)).to.equal(true);
    // c is in the way now.
    expect(arena.resizeInPlace(a, 500)).to.equal(false);
    const used = arena.usedBytes;
    expect(arena.resizeInPlace(a, 50)).to.equal(true);
    expect(arena.capacityOf(a)).to.equal(Arena.blockBytes(50) - HEADER_BYTES);
    expect(arena.usedBytes).to.equal(
      used - (Arena.blockBytes(200) - Arena.blockBytes(50))
    );
    expect(holds(arena, a, 50, 1)).to.equal(true);
    expect(holds(arena, c, 100, 3)).to.equal(true);
    // What the shrink gave back is one free block again: it takes a block of that size.
    const d = arena.allocate(
      Arena.blockBytes(200) - Arena.blockBytes(50) - HEADER_BYTES
    );
    expect(offsetOf(d)).to.equal(offsetOf(a) + Arena.blockBytes(50));
  });

  it('holds little more than the live blocks when every owner grows its block step by step (freed blocks merge and are reused)', () => {
    const arena = new Arena();
    const owners = 2000;
    const handles = new Array<number>(owners);
    const sizes = new Array<number>(owners).fill(64);
    for (let i = 0; i < owners; i++) handles[i] = arena.allocate(64);
    // Every owner grows by a quarter, in turn, until 4 KB: a track filling up.
    for (let round = 0; round < 19; round++)
      for (let i = 0; i < owners; i++) {
        const bytes = Math.ceil(sizes[i] * 1.25);
        const moved = arena.allocate(bytes);
        arena.u8[chunkOf(moved)].set(
          arena.u8[chunkOf(handles[i])].subarray(
            offsetOf(handles[i]),
            offsetOf(handles[i]) + sizes[i]
          ),
          offsetOf(moved)
        );
        arena.free(handles[i]);
        handles[i] = moved;
        sizes[i] = bytes;
      }
    const live = sizes.reduce((sum, bytes) => sum + Arena.blockBytes(bytes), 0);
    expect(arena.byteLength / live).to.be.below(1.15);
  });

  it('empties its least used chunk for owners that move their blocks out, and gives the chunk back', () => {
    const arena = new Arena();
    const held: Held[] = [];
    // 4 chunks of 2 KB blocks, then most blocks of every other one freed.
    for (let i = 0; i < 4 * 500; i++) {
      const handle = arena.allocate(2040);
      fill(arena, handle, 2040, i);
      held.push({ handle, bytes: 2040, tag: i });
    }
    const chunks = arena.chunkCount;
    const kept = held.filter((_, i) => i % 4 === 0 || i % 3 === 0);
    for (const h of held) if (!kept.includes(h)) arena.free(h.handle);
    // The least used chunk: the one holding fewest of the kept blocks.
    const perChunk = new Map<number, number>();
    for (const h of kept)
      perChunk.set(
        chunkOf(h.handle),
        (perChunk.get(chunkOf(h.handle)) ?? 0) + 1
      );
    const least = [...perChunk.entries()].sort((a, b) => a[1] - b[1])[0][0];
    expect(arena.beginEvacuation(1 / 8)).to.equal(true);
    for (const h of kept)
      expect(arena.isEvacuating(h.handle)).to.equal(
        chunkOf(h.handle) === least
      );
    // Nothing new goes to the chunk being emptied.
    const probe = arena.allocate(100);
    expect(chunkOf(probe)).to.not.equal(least);
    arena.free(probe);
    for (const h of kept) {
      if (!arena.isEvacuating(h.handle)) continue;
      expect(arena.fits(h.bytes)).to.equal(true);
      const moved = arena.allocate(h.bytes);
      arena.u8[chunkOf(moved)].set(
        arena.u8[chunkOf(h.handle)].subarray(
          offsetOf(h.handle),
          offsetOf(h.handle) + h.bytes
        ),
        offsetOf(moved)
      );
      arena.free(h.handle);
      h.handle = moved;
    }
    expect(arena.chunkCount).to.equal(chunks - 1);
    for (const h of kept)
      expect(holds(arena, h.handle, h.bytes, h.tag)).to.equal(true);
    expectDisjoint(arena, kept);
  });

  it('lists a chunk’s free space again when its emptying is given up', () => {
    const arena = new Arena();
    const held: number[] = [];
    for (let i = 0; i < 3 * 500; i++) held.push(arena.allocate(2040));
    // Every other block freed: half of each chunk in 2 KB holes.
    held.forEach((handle, i) => i % 2 === 1 && arena.free(handle));
    expect(arena.beginEvacuation(1 / 8)).to.equal(true);
    const evacuating = held.filter(
      (h, i) => i % 2 === 0 && arena.isEvacuating(h)
    );
    expect(evacuating.length).to.be.above(0);
    // Freed while the chunk empties: its neighbours are free too.
    arena.free(evacuating[1]);
    const bytes = arena.byteLength;
    // Given up: the holes, the three merged ones among them, take blocks again.
    expect(arena.beginEvacuation(0.99)).to.equal(false);
    const merged = arena.allocate(3 * 2048 - HEADER_BYTES);
    expect(offsetOf(merged)).to.equal(offsetOf(evacuating[1]) - 2048);
    while (arena.fits(2040)) arena.allocate(2040);
    expect(arena.byteLength).to.equal(bytes);
  });

  it('slides a chunk’s blocks down over its holes, telling each owner where its block went', () => {
    const arena = new Arena(65_536);
    const next = random(11);
    const held = new Map<number, Held>();
    for (let owner = 0; owner < 200; owner++) {
      const bytes = 1 + Math.floor(next() * 200);
      const handle = arena.allocate(bytes, owner);
      fill(arena, handle, bytes, owner);
      held.set(owner, { handle, bytes, tag: owner });
    }
    for (let owner = 0; owner < 200; owner += 3) {
      arena.free(held.get(owner)!.handle);
      held.delete(owner);
    }
    const used = arena.usedBytes;
    const [chunk] = arena.fragmentedChunks(0.01);
    const told = new Set<number>();
    arena.compactChunk(chunk, (owner, handle) => {
      held.get(owner)!.handle = handle;
      told.add(owner);
    });
    expect(told.size).to.be.above(0);
    expect(arena.usedBytes).to.equal(used);
    const kept = [...held.values()];
    for (const h of kept)
      expect(holds(arena, h.handle, h.bytes, h.tag)).to.equal(true);
    expectDisjoint(arena, kept);
    // The blocks sit end to end from the chunk's start; the rest is one free block.
    const end = Math.max(
      ...kept.map(h => offsetOf(h.handle) + arena.capacityOf(h.handle))
    );
    expect(end).to.equal(used);
    // All that is left, after the end chunk's sentinel header, fits one block.
    const rest = arena.allocate(65_536 - used - 2 * HEADER_BYTES);
    expect(offsetOf(rest)).to.equal(end + HEADER_BYTES);
  });

  it('refuses a block over 1 GiB with a RangeError', () => {
    expect(() => new Arena().allocate(2 ** 30)).to.throw(RangeError, /1 GiB/);
  });
});

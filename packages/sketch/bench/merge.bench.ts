/**
 * Cost of each way into a sketch reused as scratch (clear(), then merge):
 * another sketch, its binary form, an OpenTelemetry point, and a dense block
 * in a shared Float64Array as a columnar store keeps it; with the garbage
 * collections each caused, to show which allocate.
 *
 *   npm run bench:sketch          (from the repository root)
 *
 * Prints a table and writes bench-results/sketch-merge.json. A script, not a
 * test: timings depend on the machine, so compare the ratios.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';
import { median, printTable, writeResults } from '@datapunk/bench-kit';
import { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';
import { ExponentialSketch } from '../src';
import type { BucketBlock } from '../src';
import { DATASETS, seededRandom } from '../test/datasets';

const ROUNDS = 7;
/** Slots of a store's block per sign: the sketch's default maxBuckets. */
const BLOCK_SLOTS = 520;

interface Source {
  name: string;
  values: number;
  /** Merges per round. */
  repeats: number;
}

const SOURCES: Source[] = [
  { name: 'dense', values: 10_000, repeats: 20_000 },
  { name: 'sparse', values: 10, repeats: 200_000 },
];

interface Path {
  name: string;
  /** Clears `scratch` and merges the source into it, `repeats` times. */
  run(scratch: ExponentialSketch, repeats: number): void;
}

/** The four ways in, each its own function literal (monomorphic call sites). */
function pathsFor(sketch: ExponentialSketch): Path[] {
  const writer = new ByteWriter();
  sketch.writeTo(writer);
  const reader = new ByteReader(writer.bytes.slice());
  const point = sketch.toExponentialHistogram();
  const block = denseBlock(sketch);
  return [
    {
      name: 'merge(sketch)',
      run(scratch, repeats) {
        for (let i = 0; i < repeats; i++) {
          scratch.clear();
          scratch.merge(sketch);
        }
      },
    },
    {
      name: 'mergeFrom(reader), its binary form',
      run(scratch, repeats) {
        for (let i = 0; i < repeats; i++) {
          scratch.clear();
          reader.offset = 0;
          scratch.mergeFrom(reader);
        }
      },
    },
    {
      name: 'mergeExponentialHistogram(point)',
      run(scratch, repeats) {
        for (let i = 0; i < repeats; i++) {
          scratch.clear();
          scratch.mergeExponentialHistogram(point);
        }
      },
    },
    {
      name: 'mergeBuckets(block in a Float64Array arena)',
      run(scratch, repeats) {
        for (let i = 0; i < repeats; i++) {
          scratch.clear();
          scratch.mergeBuckets(block);
        }
      },
    },
  ];
}

/**
 * The sketch's data as a store would keep it: a block of BLOCK_SLOTS counts
 * in the middle of a larger arena, its occupied buckets inside with empty
 * slots around them.
 */
function denseBlock(sketch: ExponentialSketch): BucketBlock {
  const point = sketch.toExponentialHistogram();
  const arena = new Float64Array(8 * BLOCK_SLOTS);
  const at = 3 * BLOCK_SLOTS;
  const lead = (BLOCK_SLOTS - point.positive.bucketCounts.length) >> 1;
  arena.set(point.positive.bucketCounts, at + lead);
  return {
    scale: point.scale,
    positive: {
      counts: arena,
      offset: point.positive.offset - lead,
      from: at,
      to: at + BLOCK_SLOTS,
    },
    zeroCount: point.zeroCount,
    sum: point.sum!,
    min: point.min!,
    max: point.max!,
  };
}

interface Row {
  source: string;
  buckets: string;
  path: string;
  nsPerMerge: number;
  ratioToMerge: number;
  gcs: number;
}

async function main(): Promise<void> {
  // Scavenges, the collections that allocation in the young generation
  // causes (a major collection's steps would land on whichever path runs).
  let collections = 0;
  const observer = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as { detail?: { kind?: number } };
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) collections++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const rows: Row[] = [];
  const lognormal = DATASETS[1];
  for (const source of SOURCES) {
    const sketch = new ExponentialSketch();
    for (const v of lognormal.generate(source.values, seededRandom(7)))
      sketch.record(v);
    const point = sketch.toExponentialHistogram();
    const buckets = `${point.positive.bucketCounts.filter(c => c > 0).length} of ${point.positive.bucketCounts.length} @ scale ${point.scale}`;
    const paths = pathsFor(sketch);
    const times = new Map<Path, number[]>(paths.map(p => [p, []]));
    const scratch = new ExponentialSketch();
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round so no path always runs first.
      for (let k = 0; k < paths.length; k++) {
        const path = paths[(k + round) % paths.length];
        const start = process.hrtime.bigint();
        path.run(scratch, source.repeats);
        const elapsed = Number(process.hrtime.bigint() - start);
        times.get(path)!.push(elapsed / source.repeats);
      }
    }
    // Then each path alone, its scavenges counted on the second of two
    // passes: in the first, whichever path runs first scavenges for a while
    // (seen here with every order), which is not the path's doing.
    const gcs = new Map<Path, number>();
    for (let pass = 0; pass < 2; pass++) {
      for (const path of paths) {
        await setImmediate(); // deliver earlier gc entries
        const before = collections;
        path.run(scratch, source.repeats * ROUNDS);
        await setImmediate();
        gcs.set(path, collections - before);
      }
    }
    const mergeNs = median(times.get(paths[0])!);
    for (const path of paths) {
      const ns = median(times.get(path)!);
      rows.push({
        source: `${lognormal.name}, ${source.values.toLocaleString('en')} values`,
        buckets,
        path: path.name,
        nsPerMerge: ns,
        ratioToMerge: ns / mergeNs,
        gcs: gcs.get(path)!,
      });
    }
  }
  observer.disconnect();
  console.log(
    `Node ${process.version}; into a sketch cleared before each merge; median of ${ROUNDS} rounds; scavenges while each path alone repeats ${ROUNDS} rounds' worth (${SOURCES.map(s => `${(s.repeats * ROUNDS).toLocaleString('en')} merges ${s.name}`).join(', ')})\n`
  );
  printTable(
    [
      'source',
      'occupied buckets',
      'way in',
      'ns/merge',
      '× merge()',
      'scavenges',
    ],
    rows.map(r => [
      r.source,
      r.buckets,
      r.path,
      r.nsPerMerge.toFixed(0),
      r.ratioToMerge.toFixed(2),
      String(r.gcs),
    ])
  );
  writeResults('sketch-merge', { rounds: ROUNDS, rows });
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});

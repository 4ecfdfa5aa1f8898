/**
 * Record cost, accuracy and memory of ExponentialSketch against DDSketch
 * (α = 1%) and HdrHistogram (3 significant digits), in one process.
 *
 *   npm run bench:sketch          (from the repository root)
 *
 * Prints a table per data set and writes bench-results/sketch.json. A script,
 * not a test: timings depend on the machine, so compare the ratios.
 */
import { DDSketch } from '@datadog/sketches-js';
import {
  median,
  printTable,
  retainedBytes,
  writeResults,
} from '@datapunk/bench-kit';
import * as hdr from 'hdr-histogram-js';
import { ExponentialSketch } from '../src';
import { DATASETS, seededRandom } from '../test/datasets';

const VALUES = 1_000_000;
const ROUNDS = 7;
const HEAP_SKETCHES = 100;
const HEAP_VALUES_PER_SKETCH = 100_000;
const QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999];

/** One structure under test: fill it, ask it a quantile, say its size. */
interface Contender {
  name: string;
  /** Records every value into a new instance and returns it. */
  fill(values: Float64Array, micros: Float64Array): object;
  quantile(instance: object, q: number): number;
  buckets(instance: object): number | string;
  /** Off-heap memory can't be weighed with the V8 heap. */
  heapMeasurable: boolean;
}

function sketchContender(name: string, maxBuckets?: number): Contender {
  return {
    name,
    fill(values) {
      const s = new ExponentialSketch(maxBuckets ? { maxBuckets } : {});
      for (let i = 0; i < values.length; i++) s.record(values[i]);
      return s;
    },
    quantile: (s, q) => (s as ExponentialSketch).quantile(q),
    buckets: s => bucketCount(s as ExponentialSketch),
    heapMeasurable: true,
  };
}

// Each other fill() is its own function literal, so that its call site stays
// monomorphic as it would be in an application (the two sketch contenders
// share one, but call the same class).
const CONTENDERS: Contender[] = [
  sketchContender('ExponentialSketch (default, 520)'),
  sketchContender('ExponentialSketch (160, SDK default)', 160),
  {
    name: 'DDSketch α=1% (@datadog/sketches-js)',
    fill(values) {
      const s = new DDSketch({ relativeAccuracy: 0.01 });
      for (let i = 0; i < values.length; i++) s.accept(values[i]);
      return s;
    },
    quantile: (s, q) => (s as DDSketch).getValueAtQuantile(q),
    buckets: () => '-',
    heapMeasurable: true,
  },
  {
    name: 'HdrHistogram JS, 3 digits, µs',
    fill(_values, micros) {
      const h = hdr.build({ numberOfSignificantValueDigits: 3 });
      for (let i = 0; i < micros.length; i++) h.recordValue(micros[i]);
      return h;
    },
    quantile: (h, q) =>
      (h as hdr.Histogram).getValueAtPercentile(q * 100) / 1000,
    buckets: h => `${(h as hdr.Histogram).estimatedFootprintInBytes} B est.`,
    heapMeasurable: true,
  },
  {
    name: 'HdrHistogram WASM, 3 digits, µs',
    fill(_values, micros) {
      const h = hdr.build({
        numberOfSignificantValueDigits: 3,
        useWebAssembly: true,
      });
      for (let i = 0; i < micros.length; i++) h.recordValue(micros[i]);
      return h;
    },
    quantile: (h, q) =>
      (h as hdr.Histogram).getValueAtPercentile(q * 100) / 1000,
    buckets: h => `${(h as hdr.Histogram).estimatedFootprintInBytes} B est.`,
    heapMeasurable: false,
  },
];

function bucketCount(sketch: ExponentialSketch): string {
  const point = sketch.toExponentialHistogram();
  return `${point.positive.bucketCounts.length} @ scale ${point.scale}`;
}

function release(instance: object): void {
  const destroy = (instance as { destroy?: () => void }).destroy;
  if (
    typeof destroy === 'function' &&
    (instance as { wasmHistogram?: unknown }).wasmHistogram
  ) {
    destroy.call(instance);
  }
}

/** Retained memory per instance, over HEAP_SKETCHES live instances. */
function heapPerInstance(
  contender: Contender,
  values: Float64Array,
  micros: Float64Array
): number {
  const before = retainedBytes();
  const kept: object[] = [];
  for (let i = 0; i < HEAP_SKETCHES; i++) {
    const from = (i * 7919) % (values.length - HEAP_VALUES_PER_SKETCH);
    const to = from + HEAP_VALUES_PER_SKETCH;
    kept.push(
      contender.fill(values.subarray(from, to), micros.subarray(from, to))
    );
  }
  const after = retainedBytes();
  kept.forEach(release);
  return (after - before) / kept.length;
}

interface Row {
  dataset: string;
  contender: string;
  nsPerRecord: number;
  ratioToDDSketch: number;
  maxRelativeError: number;
  heapBytes: number | null;
  size: number | string;
}

async function main(): Promise<void> {
  await hdr.initWebAssembly();
  const rows: Row[] = [];
  for (const dataset of [DATASETS[1], DATASETS[3]]) {
    const values = Float64Array.from(
      dataset.generate(VALUES, seededRandom(2026))
    );
    const micros = values.map(v => Math.max(1, Math.round(v * 1000)));
    const sorted = Float64Array.from(values).sort();
    const exact = QUANTILES.map(
      q => sorted[Math.floor(q * (sorted.length - 1))]
    );

    const times = new Map<Contender, number[]>(CONTENDERS.map(c => [c, []]));
    const filled = new Map<Contender, object>();
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round so no contender always runs first.
      for (let k = 0; k < CONTENDERS.length; k++) {
        const contender = CONTENDERS[(k + round) % CONTENDERS.length];
        const start = process.hrtime.bigint();
        const instance = contender.fill(values, micros);
        const elapsed = Number(process.hrtime.bigint() - start);
        times.get(contender)!.push(elapsed / VALUES);
        const previous = filled.get(contender);
        if (previous) release(previous);
        filled.set(contender, instance);
      }
    }

    const ddsketchNs = median(times.get(CONTENDERS[2])!);
    for (const contender of CONTENDERS) {
      const instance = filled.get(contender)!;
      const errors = QUANTILES.map(
        (q, i) =>
          Math.abs(contender.quantile(instance, q) - exact[i]) / exact[i]
      );
      const ns = median(times.get(contender)!);
      rows.push({
        dataset: dataset.name,
        contender: contender.name,
        nsPerRecord: ns,
        ratioToDDSketch: ns / ddsketchNs,
        maxRelativeError: Math.max(...errors),
        heapBytes: contender.heapMeasurable
          ? heapPerInstance(contender, values, micros)
          : null,
        size: contender.buckets(instance),
      });
      release(instance);
    }
  }
  printRows(rows);
  writeResults('sketch', { values: VALUES, rounds: ROUNDS, rows });
}

function printRows(rows: Row[]): void {
  console.log(
    `Node ${process.version}; ${VALUES.toLocaleString('en')} values; median of ${ROUNDS} rounds`
  );
  console.log(
    `max relative error over p50, p90, p95, p99, p99.9; heap (incl. typed arrays) over ${HEAP_SKETCHES} sketches of ${HEAP_VALUES_PER_SKETCH.toLocaleString('en')} values\n`
  );
  printTable(
    [
      'data set',
      'structure',
      'ns/record',
      '× DDSketch',
      'max error',
      'heap/sketch',
      'buckets',
    ],
    rows.map(r => [
      r.dataset,
      r.contender,
      r.nsPerRecord.toFixed(1),
      r.ratioToDDSketch.toFixed(2),
      `${(r.maxRelativeError * 100).toFixed(3)}%`,
      r.heapBytes === null
        ? 'off-heap'
        : `${(r.heapBytes / 1024).toFixed(1)} KB`,
      String(r.size),
    ])
  );
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});

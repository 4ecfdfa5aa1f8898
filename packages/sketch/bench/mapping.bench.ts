/**
 * Cost of the step a store runs per recorded value: the bucket index of a
 * value at a scale, `getMapping(scale).mapToIndex(value)`, against the bare
 * logarithm it refines, the OpenTelemetry SDK's own mapping and DDSketch's
 * (α = 1%), in one process.
 *
 *   npm run bench:sketch          (from the repository root)
 *
 * Prints a table and writes bench-results/sketch-mapping.json. A script, not
 * a test: timings depend on the machine, so compare the ratios.
 */
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LogarithmicMapping } from '@datadog/sketches-js/dist/ddsketch/mapping';
import { median, printTable, writeResults } from '@datapunk/bench-kit';
import { getMapping } from '../src';
import { DATASETS, seededRandom } from '../test/datasets';

const VALUES = 1_000_000;
const ROUNDS = 7;
const SCALES = [20, 5, 0];

/** A way to map every value to an index; returns a checksum so nothing is optimised away. */
interface Contender {
  name: string;
  scale: number | '-';
  run(values: Float64Array): number;
}

interface SdkMapping {
  mapToIndex(value: number): number;
}

/**
 * The SDK's mapping is internal (its package exports only its root), so it
 * is loaded by file from the repository's @opentelemetry/sdk-metrics; a row
 * says so if that file moved.
 */
async function loadSdkGetMapping(): Promise<
  ((scale: number) => SdkMapping) | undefined
> {
  try {
    const root = dirname(require.resolve('@opentelemetry/sdk-metrics'));
    const file = join(
      root,
      'aggregator/exponential-histogram/mapping/getMapping.cjs'
    );
    const loaded = (await import(pathToFileURL(file).href)) as {
      getMapping: (scale: number) => SdkMapping;
    };
    return loaded.getMapping;
  } catch {
    return undefined;
  }
}

// Each run() is its own function literal, so that its call sites stay
// monomorphic as they would be in a store's record path.
function contendersAt(
  scale: number,
  sdkGetMapping: ((scale: number) => SdkMapping) | undefined
): Contender[] {
  const factor = Math.LOG2E * 2 ** scale;
  const ours = getMapping(scale);
  const sdk = sdkGetMapping?.(scale);
  const contenders: Contender[] = [
    {
      name: 'Math.floor(Math.log(v) × 2^s / ln 2) (not exact at boundaries)',
      scale,
      run(values) {
        let sum = 0;
        for (let i = 0; i < values.length; i++)
          sum += Math.floor(Math.log(values[i]) * factor);
        return sum;
      },
    },
    {
      name: 'getMapping(s).mapToIndex(v), the mapping held',
      scale,
      run(values) {
        let sum = 0;
        for (let i = 0; i < values.length; i++)
          sum += ours.mapToIndex(values[i]);
        return sum;
      },
    },
    {
      name: 'getMapping(s).mapToIndex(v), looked up per value',
      scale,
      run(values) {
        let sum = 0;
        for (let i = 0; i < values.length; i++)
          sum += getMapping(scale).mapToIndex(values[i]);
        return sum;
      },
    },
  ];
  if (sdk) {
    contenders.push({
      name: 'OpenTelemetry SDK mapping (@opentelemetry/sdk-metrics), held',
      scale,
      run(values) {
        let sum = 0;
        for (let i = 0; i < values.length; i++)
          sum += sdk.mapToIndex(values[i]);
        return sum;
      },
    });
  }
  return contenders;
}

const DDSKETCH: Contender = {
  name: 'DDSketch LogarithmicMapping(0.01).key(v)',
  scale: '-',
  run(values) {
    const mapping = new LogarithmicMapping(0.01);
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += mapping.key(values[i]);
    return sum;
  },
};

interface Row {
  scale: number | '-';
  contender: string;
  nsPerValue: number;
  ratioToLogarithm: number;
}

async function main(): Promise<void> {
  const sdkGetMapping = await loadSdkGetMapping();
  const values = Float64Array.from(
    DATASETS[1].generate(VALUES, seededRandom(2026))
  );
  const contenders = [
    ...SCALES.flatMap(scale => contendersAt(scale, sdkGetMapping)),
    DDSKETCH,
  ];
  const times = new Map<Contender, number[]>(contenders.map(c => [c, []]));
  let checksum = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no contender always runs first.
    for (let k = 0; k < contenders.length; k++) {
      const contender = contenders[(k + round) % contenders.length];
      const start = process.hrtime.bigint();
      checksum += contender.run(values);
      const elapsed = Number(process.hrtime.bigint() - start);
      times.get(contender)!.push(elapsed / VALUES);
    }
  }
  // The first contender at each scale is the bare logarithm.
  const logarithmAt = new Map(
    [...contenders].reverse().map(c => [c.scale, median(times.get(c)!)])
  );
  const rows: Row[] = contenders.map(contender => {
    const ns = median(times.get(contender)!);
    const logarithm = logarithmAt.get(contender.scale);
    return {
      scale: contender.scale,
      contender: contender.name,
      nsPerValue: ns,
      ratioToLogarithm: contender.scale === '-' ? NaN : ns / logarithm!,
    };
  });
  console.log(
    `Node ${process.version}; ${VALUES.toLocaleString('en')} values (${DATASETS[1].name}); median of ${ROUNDS} rounds; checksum ${checksum}`
  );
  if (!sdkGetMapping) console.log('(the SDK mapping could not be loaded)');
  console.log();
  printTable(
    ['scale', 'mapping', 'ns/value', '× bare logarithm'],
    rows.map(r => [
      String(r.scale),
      r.contender,
      r.nsPerValue.toFixed(2),
      Number.isNaN(r.ratioToLogarithm) ? '-' : r.ratioToLogarithm.toFixed(2),
    ])
  );
  writeResults('sketch-mapping', { values: VALUES, rounds: ROUNDS, rows });
}

main().catch(error => {
  console.error(error);
  process.exitCode = 1;
});

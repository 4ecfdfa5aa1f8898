/**
 * What exemplars cost on the record path (issue 24): every filter's
 * provider and the plain SDK in one process, paired round by round
 * (bench/scale/exemplarPaths.ts), with Node's AsyncLocalStorage context
 * manager and with none registered, each in two fresh processes (the JIT
 * of one process is not that of the next). `always_off` does nothing for
 * exemplars on the record path (no context look-up), so it stands for the
 * record path before exemplars; a filter's cost is its ratio over it.
 *
 *   npm run bench:exemplars -w @datapunk/otel-metrics   (after npm run build)
 *
 * A script, not a test: compare the ratios. Writes bench-results/exemplars.json.
 */
import { printTable, writeResults } from '@datapunk/bench-kit';
import { EXEMPLAR_PATHS_NOTE } from './scale/exemplarPaths';
import type { ExemplarPathResult, RatioInterval } from './scale/exemplarPaths';
import { runChild } from './scale/runChild';

const PROCESSES = 2;
const SETUPS = [
  { name: 'AsyncLocalStorageContextManager', args: [] },
  { name: 'no context manager registered', args: ['no-context-manager'] },
];

const interval = ({ median, low, high }: RatioInterval) =>
  `${median.toFixed(3)}× [${low.toFixed(3)}, ${high.toFixed(3)}]`;

console.log(
  `Node ${process.version}; ${EXEMPLAR_PATHS_NOTE}; ${PROCESSES} processes per setup. ns per record: median over rounds, each process; ratios: median over rounds of the path over always_off's no-span path of the same kind (× always_off) or over the SDK's no-span record (× SDK) in the same round, [95% interval of that median], each process.`
);
const results = SETUPS.map(({ name, args }) => {
  const runs = Array.from({ length: PROCESSES }, () =>
    runChild<ExemplarPathResult[]>('exemplarPaths.js', args, false)
  );
  console.log(`\n${name}:\n`);
  printTable(
    [
      'filter',
      'record path',
      'context',
      'ns per record',
      '× always_off',
      '× SDK',
    ],
    runs[0].map((path, i) => {
      const inRuns = runs.map(run => run[i]);
      return [
        path.filter ?? 'the SDK',
        path.filter === undefined ? 'Histogram.record' : path.kind,
        path.spanCase,
        inRuns.map(r => r.nanosPerRecord.toFixed(1)).join(' / '),
        path.filter === undefined
          ? ''
          : inRuns.map(r => interval(r.overAlwaysOff!)).join(' / '),
        inRuns.map(r => interval(r.overSdk)).join(' / '),
      ];
    })
  );
  return { setup: name, runs };
});
writeResults('exemplars', { results });

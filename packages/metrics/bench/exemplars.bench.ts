/**
 * What exemplars cost on the record path (issue 24): each filter in a
 * process of its own (bench/scale/exemplarPaths.ts), twice, in turn, with
 * the plain SDK's record (which keeps no exemplars) measured beside it in
 * the same process. `always_off` does nothing for exemplars on the record
 * path (no context look-up), so it stands for the record path before
 * exemplars; a filter's cost is its median time over always_off's.
 *
 *   npm run bench:exemplars -w @datapunk/otel-metrics   (after npm run build)
 *
 * A script, not a test: compare the ratios. Writes bench-results/exemplars.json.
 */
import { median, printTable, writeResults } from '@datapunk/bench-kit';
import {
  EXEMPLAR_FILTERS,
  EXEMPLAR_PATHS_NOTE,
  RECORD_KINDS,
  SPAN_CASES,
} from './scale/exemplarPaths';
import type { ExemplarFilter, ExemplarPathResult } from './scale/exemplarPaths';
import { runChild } from './scale/runChild';

const RUNS = 2;

const runs: { filter: ExemplarFilter; results: ExemplarPathResult[] }[] = [];
for (let run = 0; run < RUNS; run++)
  for (const filter of EXEMPLAR_FILTERS)
    runs.push({
      filter,
      results: runChild<ExemplarPathResult[]>(
        'exemplarPaths.js',
        [filter],
        false
      ),
    });

/** One path's ns per record in one process's results. */
function nanosOf(
  results: ExemplarPathResult[],
  kind: string,
  spanCase: string
): number {
  return results.find(r => r.kind === kind && r.spanCase === spanCase)!
    .nanosPerRecord;
}

/** A path's ns per record in each run, and over the SDK's no-span record of the same process. */
function measured(filter: ExemplarFilter, kind: string, spanCase: string) {
  return runs
    .filter(r => r.filter === filter)
    .map(({ results }) => ({
      nanos: nanosOf(results, kind, spanCase),
      overSdk:
        nanosOf(results, kind, spanCase) /
        nanosOf(results, 'SDK record', 'no span'),
    }));
}

const rows = EXEMPLAR_FILTERS.flatMap(filter =>
  RECORD_KINDS.flatMap(kind =>
    SPAN_CASES.map(spanCase => {
      const mine = measured(filter, kind, spanCase);
      const off =
        kind === 'SDK record'
          ? undefined
          : measured('always_off', kind, 'no span');
      return {
        filter,
        kind,
        spanCase,
        nanosPerRecord: mine.map(m => m.nanos),
        overSdk: median(mine.map(m => m.overSdk)),
        overAlwaysOff:
          off === undefined
            ? undefined
            : median(mine.map(m => m.nanos)) / median(off.map(o => o.nanos)),
      };
    })
  )
);

console.log(
  `Node ${process.version}; each filter in its own process, ${RUNS} runs in turn; ${EXEMPLAR_PATHS_NOTE}. ns per record: each run; "× SDK": median over runs of the path over the SDK's no-span record in its process; "× always_off": the median ns over always_off's no-span median ns of the same kind.\n`
);
printTable(
  [
    'filter',
    'record path',
    'context',
    'ns per record',
    '× SDK',
    '× always_off',
  ],
  rows.map(r => [
    r.filter,
    r.kind,
    r.spanCase,
    r.nanosPerRecord.map(n => n.toFixed(1)).join(' / '),
    `${r.overSdk.toFixed(3)}×`,
    r.overAlwaysOff === undefined ? '' : `${r.overAlwaysOff.toFixed(3)}×`,
  ])
);
// A service without tracing registers no context manager: the context read is the API's alone.
const withoutManager = (filter: ExemplarFilter) =>
  Array.from({ length: RUNS }, () =>
    runChild<ExemplarPathResult[]>(
      'exemplarPaths.js',
      [filter, 'no-context-manager'],
      false
    )
  );
const bare = {
  off: withoutManager('always_off'),
  on: withoutManager('trace_based'),
};
const bareNanos = (runResults: ExemplarPathResult[][], kind: string) =>
  median(runResults.map(results => nanosOf(results, kind, 'no span')));
console.log(
  `\nWith no context manager registered (each filter in its own process, ${RUNS} runs; median ns per record): ` +
    RECORD_KINDS.filter(kind => kind !== 'SDK record')
      .map(kind => {
        const off = bareNanos(bare.off, kind);
        const on = bareNanos(bare.on, kind);
        return `${kind}: always_off ${off.toFixed(1)}, trace_based ${on.toFixed(1)} (${(on / off).toFixed(3)}×)`;
      })
      .join('; ')
);
writeResults('exemplars', { runs, rows, withoutContextManager: bare });

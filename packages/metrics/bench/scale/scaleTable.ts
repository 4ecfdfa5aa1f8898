import { printTable } from '@datapunk/bench-kit';
import type { ScaleResult } from './measureScale';
import { SCALE_PATHS } from './paths';

/** A row's figure over its reference row's (same series count); undefined without one. */
export function ratioOf(
  rows: readonly ScaleResult[],
  row: ScaleResult,
  figure: (r: ScaleResult) => number
): number | undefined {
  const reference = SCALE_PATHS.find(p => p.name === row.path)?.reference;
  const base = rows.find(r => r.series === row.series && r.path === reference);
  return base === undefined ? undefined : figure(row) / figure(base);
}

export const FIGURES = {
  stall: (r: ScaleResult) => r.longestStallMillis,
  gc: (r: ScaleResult) => r.gc.longestMillis,
  memory: (r: ScaleResult) => r.memoryBytes,
  /** Per record: a stall at the window's end lengthens it, and the records made with it. */
  cpu: (r: ScaleResult) => r.cpuMillis / r.records,
};

/** The scale table: every path at every size, its figures and its ratios to its reference. */
export function printScaleTable(
  rows: readonly (ScaleResult & { loadAverage: number })[]
): void {
  const times = (x: number | undefined) =>
    x === undefined ? '' : `${x.toFixed(2)}×`;
  printTable(
    [
      'path',
      'series',
      'longest stall ms',
      'longest GC pause ms (kind)',
      'GC total ms (pauses)',
      'memory MB (B/series)',
      'CPU ms',
      'max RSS MB',
      'records',
      'exported',
      'load',
      'vs',
      'stall ×',
      'GC ×',
      'memory ×',
      'CPU/record ×',
    ],
    rows.map(r => {
      const reference = SCALE_PATHS.find(p => p.name === r.path)?.reference;
      return [
        r.path,
        r.series.toLocaleString('en'),
        r.longestStallMillis.toFixed(1),
        `${r.gc.longestMillis.toFixed(1)} (${r.gc.longestKind})`,
        `${r.gc.totalMillis.toFixed(0)} (${r.gc.count})`,
        `${(r.memoryBytes / 2 ** 20).toFixed(1)} (${(r.memoryBytes / r.series).toFixed(0)})`,
        r.cpuMillis.toFixed(0),
        (r.maxRssBytes / 2 ** 20).toFixed(0),
        r.records.toLocaleString('en'),
        r.exportedPoints.toLocaleString('en'),
        r.loadAverage.toFixed(1),
        reference ?? '',
        times(ratioOf(rows, r, FIGURES.stall)),
        times(ratioOf(rows, r, FIGURES.gc)),
        times(ratioOf(rows, r, FIGURES.memory)),
        times(ratioOf(rows, r, FIGURES.cpu)),
      ];
    })
  );
}

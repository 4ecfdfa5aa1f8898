import { printTable } from '@datapunk/bench-kit';
import type { ScaleResult } from './measureScale';
import { SCALE_PATHS } from './paths';
import type { RecordPathResult } from './recordPaths';
import type { RetentionResult } from './retention';
import { FIGURES, ratioOf } from './scaleTable';

interface Check {
  target: string;
  measured: string;
  met: boolean;
}

/** Issue 22's targets against what was measured: one line each, met or missed. */
export function printTargets(
  scale: readonly ScaleResult[],
  record: readonly RecordPathResult[],
  retention: readonly RetentionResult[]
): void {
  const checks: Check[] = [];
  const atMost = (target: string, value: number, limit: number, unit: string) =>
    checks.push({
      target,
      measured: `${value.toFixed(unit === '×' ? 2 : 1)}${unit === '×' ? '×' : ` ${unit}`}`,
      met: value <= limit,
    });
  const [reader, ...ours] = SCALE_PATHS.filter(p => p.reference).map(
    p => p.name
  );
  for (const row of scale) {
    const at = `${row.path}, ${row.series.toLocaleString('en')} series`;
    const ratio = (figure: (r: ScaleResult) => number) =>
      ratioOf(scale, row, figure)!;
    if (ours.includes(row.path)) {
      atMost(`${at}: longest stall ≤ 20 ms`, row.longestStallMillis, 20, 'ms');
      atMost(`${at}: longest GC pause ≤ 30 ms`, row.gc.longestMillis, 30, 'ms');
      atMost(
        `${at}: memory ≤ 1.0× SDK explicit`,
        ratio(FIGURES.memory),
        1,
        '×'
      );
      atMost(
        `${at}: CPU per record ≤ 1.0× SDK explicit`,
        ratio(FIGURES.cpu),
        1,
        '×'
      );
    } else if (row.path === reader && row.series >= 20_000) {
      atMost(
        `${at}: stall ≤ 1.2× SDK exponential`,
        ratio(FIGURES.stall),
        1.2,
        '×'
      );
      atMost(
        `${at}: memory ≤ 1.2× SDK exponential`,
        ratio(FIGURES.memory),
        1.2,
        '×'
      );
    }
  }
  for (const row of record)
    if (row.target !== undefined)
      atMost(
        `record: ${row.path} ≤ ${row.target}× the SDK`,
        row.versusSdk!,
        row.target,
        '×'
      );
  for (const row of retention)
    if (row.setup === 'RetentionMeterProvider')
      atMost(
        `retained after 70 simulated minutes, ${row.setup} ≤ 12 KB per series`,
        row.measuredBytesPerSeries / 1024,
        12,
        'KB'
      );
  printTable(
    ['target (issue 22)', 'measured', ''],
    checks.map(c => [c.target, c.measured, c.met ? 'met' : 'MISSED'])
  );
}

import { mkdirSync, writeFileSync } from 'node:fs';

/** The middle value (upper median for an even count). */
export function median(values: readonly number[]): number {
  return values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/**
 * Memory retained right now, after a full collection: the JS heap plus
 * typed-array backing stores, which `heapUsed` leaves out. `held`: what the
 * caller made before an earlier reading and means to count in both; passed,
 * it lives through this one (V8 may free a local it sees no later use of,
 * which would take its size off the difference).
 * @throws {Error} unless node runs with --expose-gc.
 */
export function retainedBytes(...held: unknown[]): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  // Touched after the collections, so that what it holds lives through them.
  held.fill(undefined);
  return heapUsed + arrayBuffers;
}

/** Prints rows under a header as a Markdown table, columns padded. */
export function printTable(
  header: readonly string[],
  rows: readonly string[][]
): void {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map(r => r[i].length))
  );
  const format = (cells: readonly string[]) =>
    '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(format(header));
  console.log('|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|');
  for (const row of rows) console.log(format(row));
}

/** Writes results with the run's Node version and time to bench-results/<name>.json. */
export function writeResults(name: string, results: object): void {
  mkdirSync('bench-results', { recursive: true });
  const file = `bench-results/${name}.json`;
  writeFileSync(
    file,
    JSON.stringify(
      { node: process.version, date: new Date().toISOString(), ...results },
      null,
      2
    )
  );
  console.log(`\nwrote ${file}`);
}

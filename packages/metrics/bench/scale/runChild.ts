import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Runs one of this folder's scripts in a fresh Node process (the same
 * Node) and returns the JSON of its last line. `--expose-gc` only for the
 * scripts that force a GC to read memory.
 */
export function runChild<T>(
  script: string,
  args: readonly string[],
  exposeGc: boolean
): T {
  const output = execFileSync(
    process.execPath,
    [...(exposeGc ? ['--expose-gc'] : []), join(__dirname, script), ...args],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
      stdio: ['ignore', 'pipe', 'inherit'],
    }
  );
  return JSON.parse(output.trim().split('\n').pop()!) as T;
}

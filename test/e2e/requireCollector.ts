import { existsSync } from 'node:fs';
import { COLLECTOR_BINARY } from './Collector';

/**
 * The Collector is built by test/collector/build.sh (run by `npm test`
 * before this suite). Without it (no Go on this machine) the suite is
 * skipped, except in CI, where that is a failure.
 */
export function requireCollector(context: Mocha.Context): void {
  if (existsSync(COLLECTOR_BINARY)) return;
  const why = `no Collector at ${COLLECTOR_BINARY}: run 'bash test/collector/build.sh' (needs Go)`;
  if (process.env.CI === 'true') throw new Error(why);
  console.warn(`    end-to-end suite skipped: ${why}`);
  context.skip();
}

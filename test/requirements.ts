import { existsSync } from 'node:fs';
import { COLLECTOR_BINARY } from './Collector';
import { prometheusInstalled } from './Prometheus';

/**
 * The Collector is built by test/collector/build.sh (run by `npm test`
 * before this suite). Without it (no Go on this machine) the suite is
 * skipped, except in CI, where that is a failure.
 */
export function requireCollector(context: Mocha.Context): void {
  if (existsSync(COLLECTOR_BINARY)) return;
  skipOrFail(
    context,
    `no Collector at ${COLLECTOR_BINARY}: run 'bash test/collector/build.sh' (needs Go)`
  );
}

/** As {@link requireCollector}, for Prometheus and promtool (test/prometheus/install.sh). */
export function requirePromtool(context: Mocha.Context): void {
  if (prometheusInstalled()) return;
  skipOrFail(
    context,
    "no prometheus or promtool: run 'bash test/prometheus/install.sh' (needs apt-get)"
  );
}

/** A Collector and a Prometheus, for the suites that need both. */
export function requirePrometheus(context: Mocha.Context): void {
  requireCollector(context);
  requirePromtool(context);
}

function skipOrFail(context: Mocha.Context, why: string): void {
  if (process.env.CI === 'true') throw new Error(why);
  console.warn(`    end-to-end suite skipped: ${why}`);
  context.skip();
}

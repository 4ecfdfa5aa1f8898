import { existsSync } from 'node:fs';
import { COLLECTOR_BINARY } from './e2e/Collector';
import { prometheusInstalled } from './e2e/Prometheus';

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

/** As {@link requireCollector}, for Prometheus and promtool (test/install-debian-packages.sh). */
export function requirePromtool(context: Mocha.Context): void {
  if (prometheusInstalled()) return;
  skipOrFail(
    context,
    "no prometheus or promtool: run 'bash test/install-debian-packages.sh prometheus' (needs apt-get)"
  );
}

/** A Collector and a Prometheus, for the suites that need both. */
export function requirePrometheus(context: Mocha.Context): void {
  requireCollector(context);
  requirePromtool(context);
}

function skipOrFail(context: Mocha.Context, why: string): void {
  if (process.env.CI === 'true') throw new Error(why);
  console.warn(`    suite skipped: ${why}`);
  context.skip();
}

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Chromium, for the dashboard's browser tests (test/install-debian-packages.sh). */
export function requireChromium(context: Mocha.Context): void {
  if (existsSync(CHROMIUM)) return;
  skipOrFail(
    context,
    `no ${CHROMIUM}: run 'bash test/install-debian-packages.sh chromium' (needs apt-get)`
  );
}

import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { AlwaysOnSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  CallOutcome,
  CircuitBreakerMetrics,
  instrumentOpossum,
} from '@datapunk/otel-circuit-breaker';
import { createDashboardHandler } from '@datapunk/otel-circuit-breaker/dashboard';
import type {
  BreakerRecorder,
  OpossumLike,
} from '@datapunk/otel-circuit-breaker';
import type { DashboardHandler } from '@datapunk/otel-circuit-breaker/dashboard';
import { CHROMIUM, requireChromium } from '../requirements';
import { seededRandom, sleep } from '../util';

const ROOT = resolve(__dirname, '../..');
/** Where the tiles link an example call's trace (a Jaeger-style URL). */
const TRACE_URL = 'http://jaeger.test:16686/trace/{traceId}';
const ARTIFACTS = join(__dirname, 'artifacts');

/** What the test needs of a real opossum breaker (opossum ships no types). */
interface Opossum extends OpossumLike {
  fire(): Promise<unknown>;
  open(): void;
  close(): void;
  shutdown(): void;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- opossum ships no types
const CircuitBreaker = require('opossum') as new (
  action: () => Promise<unknown>,
  options: object
) => Opossum;

/** 29 generic breakers of three kinds and one real opossum breaker: 30 tiles. */
const KINDS = [
  ...Array.from({ length: 23 }, (_, i) => ({
    name: `service-${i + 1}`,
    errors: 0.005,
    millis: 20,
  })),
  ...Array.from({ length: 3 }, (_, i) => ({
    name: `slow-${i + 1}`,
    errors: 0.01,
    millis: 400,
  })),
  ...Array.from({ length: 3 }, (_, i) => ({
    name: `failing-${i + 1}`,
    errors: 0.4,
    millis: 30,
  })),
];

describe('the breaker dashboard in a real Chromium', function () {
  this.timeout(120_000);
  let collector: CircuitBreakerMetrics;
  let recorders: BreakerRecorder[];
  let opossum: Opossum;
  let load: ReturnType<typeof setInterval>;
  let handler: DashboardHandler;
  let server: Server;
  let port: number;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  const serve = async (listenOn: number) => {
    handler = createDashboardHandler(collector, { traceUrl: TRACE_URL });
    server = createServer(handler);
    await new Promise<void>(done => server.listen(listenOn, '127.0.0.1', done));
    port = (server.address() as { port: number }).port;
  };
  const stopServing = async () => {
    handler.close();
    server.closeAllConnections();
    await new Promise(done => server.close(done));
  };
  /** The tile of a breaker, by name (the page's data-id is name + attributes). */
  const tile = (name: string) =>
    page.locator(
      `section.tile[data-id=${JSON.stringify(JSON.stringify([name, {}]))}]`
    );

  before(async function () {
    requireChromium(this);
    collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      errorRateSlo: 0.1,
      latencySloMillis: 250,
    });
    recorders = KINDS.map(k => collector.register(k.name));
    // The slow breakers' calls run in sampled spans: their tiles list example traces.
    context.setGlobalContextManager(
      new AsyncLocalStorageContextManager().enable()
    );
    const tracer = new TracerProvider({
      sampler: new AlwaysOnSampler(),
    }).getTracer('dashboard-browser-test');
    opossum = new CircuitBreaker(async () => 'ok', {
      name: 'payments',
      resetTimeout: 60_000,
    });
    instrumentOpossum(opossum, { collector });
    const random = seededRandom(3);
    load = setInterval(() => {
      KINDS.forEach((kind, i) => {
        for (let n = 0; n < 5; n++) {
          const failed = random() < kind.errors;
          const record = () =>
            recorders[i].recordCall(
              failed ? CallOutcome.FAILURE : CallOutcome.SUCCESS,
              kind.millis * (0.6 + 0.8 * random())
            );
          if (!kind.name.startsWith('slow-')) record();
          else
            tracer.startActiveSpan('call', span => {
              record();
              span.end();
            });
        }
      });
      void opossum.fire().catch(() => undefined);
    }, 50);
    await serve(0);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox'],
      headless: true,
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('console', message => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', error => errors.push(String(error)));
    await page.goto(`http://127.0.0.1:${port}/`);
  });
  after(async () => {
    clearInterval(load);
    await browser?.close();
    if (server) await stopServing();
    opossum?.shutdown();
    collector?.dispose();
    context.disable();
  });

  it('shows a tile for every breaker, live', async () => {
    await page.locator('section.tile').nth(29).waitFor({ timeout: 5000 });
    expect(await page.locator('section.tile').count()).to.equal(30);
    expect(await page.locator('#status').textContent()).to.equal('live');
    const names = await page.locator('section.tile .name').allTextContents();
    expect(names.sort()).to.deep.equal(
      [...KINDS.map(k => k.name), 'payments'].sort()
    );
  });

  it('shows health, colour and reasons as getHealth() has them', async () => {
    // Let the analyzer see the SLO breaches (a few buckets), then compare
    // the page with the collector after each frame until they agree.
    await sleep(4000);
    for (const name of ['service-1', 'slow-1', 'failing-1', 'payments']) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const health = collector.getHealth(name)!;
        const shown = {
          status: await tile(name).getAttribute('data-health'),
          className: await tile(name).getAttribute('class'),
          reasons: await tile(name).locator('.reasons').textContent(),
        };
        const expected = {
          status: health.status,
          className: `tile ${health.status}`,
          reasons: health.reasons.join('; '),
        };
        if (JSON.stringify(shown) === JSON.stringify(expected)) break;
        if (Date.now() > deadline) expect(shown, name).to.deep.equal(expected);
        await sleep(200);
      }
    }
    expect(await tile('failing-1').getAttribute('data-health')).to.not.equal(
      'healthy'
    );
    expect(await tile('service-1').getAttribute('data-health')).to.equal(
      'healthy'
    );
  });

  it('shows the numbers getSnapshot() has: trips, failure rate, p99', async () => {
    for (const name of ['service-2', 'failing-2', 'slow-2']) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const snapshot = collector.getSnapshot(name)!;
        const shown = {
          trips: await tile(name).locator('.trips').textContent(),
          failureRate: await tile(name).locator('.failure-rate').textContent(),
          p99: await tile(name).locator('.p99').textContent(),
        };
        const p99 = snapshot.window.latencyMillis.percentiles.p99;
        const expected = {
          trips: `${snapshot.transitions.trips} trips`,
          failureRate: `${(snapshot.window.failureRate * 100).toFixed(1)}%`,
          p99: p99 >= 100 ? p99.toFixed(0) : p99.toFixed(1),
        };
        if (JSON.stringify(shown) === JSON.stringify(expected)) break;
        if (Date.now() > deadline) expect(shown, name).to.deep.equal(expected);
        await sleep(200);
      }
    }
  });

  it("lists a slow breaker's example traces under its tile, as links to traceUrl", async () => {
    const examples = () =>
      collector
        .getSnapshot('slow-1')!
        .anomalies.flatMap(a => a.episode?.examples ?? [])
        .map(e => e.traceId);
    const deadline = Date.now() + 10_000;
    for (;;) {
      // The page lists each trace once, in the order of the episodes' examples.
      const expected = [...new Set(examples())].map(id =>
        TRACE_URL.replace('{traceId}', id)
      );
      const shown = await tile('slow-1')
        .locator('.examples a')
        .evaluateAll((links: { getAttribute(name: string): string | null }[]) =>
          links.map(a => a.getAttribute('href'))
        );
      if (
        expected.length > 0 &&
        JSON.stringify(shown) === JSON.stringify(expected)
      )
        break;
      if (Date.now() > deadline)
        expect(shown, 'links under the slow tile').to.deep.equal(expected);
      await sleep(200);
    }
    expect(
      await tile('service-1').locator('.examples a').count(),
      'an untraced breaker lists none'
    ).to.equal(0);
  });

  it('shows a breaker going from closed to open within 2 s', async () => {
    expect(await tile('payments').getAttribute('data-state')).to.equal(
      'closed'
    );
    const opened = Date.now();
    opossum.open();
    await tile('payments')
      .and(page.locator('[data-state="open"]'))
      .waitFor({ timeout: 2000 });
    const seconds = (Date.now() - opened) / 1000;
    console.log(`      open on the page ${seconds.toFixed(2)} s after open()`);
    expect(await tile('payments').locator('.state').textContent()).to.equal(
      'open'
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({
      path: join(ARTIFACTS, 'dashboard-under-load.png'),
    });
    if (process.env.DASHBOARD_SCREENSHOT === 'readme')
      await page.screenshot({ path: join(ROOT, 'docs', 'dashboard.png') });
  });

  it('reconnects by itself when the server restarts', async () => {
    await stopServing();
    await page.locator('#status.reconnecting').waitFor({ timeout: 5000 });
    opossum.close(); // changes while the page is away
    await sleep(1500);
    await serve(port);
    await page.locator('#status.live').waitFor({ timeout: 10_000 });
    await tile('payments')
      .and(page.locator('[data-state="closed"]'))
      .waitFor({ timeout: 5000 });
    expect(await page.locator('section.tile').count()).to.equal(30);
  });

  it('logged no errors in the browser console', () => {
    // The stream's drop while the server was down is the browser's own
    // network message, not the page's: only that one is expected.
    const own = errors.filter(e => !/events|ERR_CONNECTION_REFUSED/.test(e));
    expect(own).to.deep.equal([]);
  });
});

import { expect } from 'chai';
import * as sinon from 'sinon';
import { diag } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { DataPoint } from '@opentelemetry/sdk-metrics';
import { BreakerState, CircuitBreakerMetrics, instrumentOpossum } from '../src';
import type { OpossumLike } from '../src';
import { captureWarnings, eventually, ExportedMetrics, sleep } from './util';

/** What these tests use of opossum, which ships no types (@types/opossum lags 10). */
interface OpossumBreaker extends OpossumLike {
  fire(...args: unknown[]): Promise<unknown>;
  fallback(fn: () => unknown): this;
  shutdown(): void;
  disable(): void;
  enable(): void;
  open(): void;
  listenerCount(event: string): number;
  healthCheck(check: () => Promise<unknown>, intervalMillis: number): void;
}
type OpossumClass = new (
  action: (...args: unknown[]) => Promise<unknown>,
  options?: Record<string, unknown>
) => OpossumBreaker;

/* eslint-disable @typescript-eslint/no-require-imports -- untyped CommonJS packages, opossum 9 under an alias */
const Opossum10 = require('opossum') as OpossumClass;
const Opossum9 = require('opossum9') as OpossumClass;
/* eslint-enable @typescript-eslint/no-require-imports */

const EVENTS = [
  'fire',
  'success',
  'failure',
  'timeout',
  'reject',
  'open',
  'halfOpen',
  'close',
  'fallback',
  'semaphoreLocked',
  'cacheHit',
  'healthCheckFailed',
  'shutdown',
];

for (const [version, CircuitBreaker] of [
  ['10', Opossum10],
  ['9', Opossum9],
] as const) {
  describe(`instrumentOpossum with opossum ${version}`, () => {
    let collector: CircuitBreakerMetrics;
    let mode: 'ok' | 'fail' | 'slow' | 'filtered';
    const action = async () => {
      await sleep(mode === 'slow' ? 120 : 20);
      if (mode === 'fail') throw new Error('down');
      if (mode === 'filtered')
        throw Object.assign(new Error('not found'), { status: 404 });
      return 'ok';
    };
    const make = (options: Record<string, unknown> = {}) =>
      new CircuitBreaker(action, {
        name: 'payments',
        timeout: 60,
        resetTimeout: 150,
        errorThresholdPercentage: 50,
        volumeThreshold: 3,
        errorFilter: (e: { status?: number }) => e.status === 404,
        ...options,
      });
    const fire = async (breaker: OpossumBreaker, as: typeof mode) => {
      mode = as;
      await breaker.fire().catch(() => undefined);
    };
    const closed = () => new Promise<void>(resolve => setTimeout(resolve, 60)); // > one bucket

    beforeEach(() => {
      collector = new CircuitBreakerMetrics({
        meterProvider: new MeterProvider(),
        bucketMillis: 25,
        windowMillis: 5000,
      });
      mode = 'ok';
    });
    afterEach(() => collector.dispose());

    it('counts each call once by how it ended, with its latency, and follows the state', async () => {
      const breaker = make();
      breaker.fallback(() => 'fallback');
      instrumentOpossum(breaker, { collector });
      for (let i = 0; i < 3; i++) await fire(breaker, 'ok');
      await fire(breaker, 'filtered');
      await fire(breaker, 'slow'); // opossum emits timeout, then failure, for this one call
      // opossum opens when failures exceed 50% of fires (the timeout counts): 2/6, 3/7, 4/8, then 5/9.
      for (let i = 0; i < 4; i++) await fire(breaker, 'fail');
      expect(breaker.opened).to.equal(true);
      await fire(breaker, 'ok'); // rejected while open
      await closed();
      const snapshot = collector.getSnapshot('payments')!;
      expect(snapshot.window.calls).to.deep.equal({
        success: 3,
        failure: 4,
        timeout: 1,
        rejected: 1,
        capacity: 0,
        ignored: 1,
      });
      expect(snapshot.window.fallbacks).to.equal(6); // every failure, timeout and rejection fell back
      expect(snapshot.state).to.equal(BreakerState.OPEN);
      expect(snapshot.window.latencyMillis.count).to.equal(3);
      expect(snapshot.window.latencyMillis.min).to.be.at.least(19);
      expect(snapshot.window.inFlight).to.equal(0);

      await eventually(() => breaker.halfOpen, 'half-open');
      await fire(breaker, 'ok');
      await closed();
      const after = collector.getSnapshot('payments')!;
      expect(after.state).to.equal(BreakerState.CLOSED);
      expect(after.trips.transitionsInWindow).to.equal(3);
      expect(after.transitions).to.include({
        trips: 1,
        recoveryAttempts: 1,
        recoveries: 1,
      });
      expect(after.transitions.recent.map(t => [t.from, t.to])).to.deep.equal([
        ['closed', 'open'],
        ['open', 'half_open'],
        ['half_open', 'closed'],
      ]);
      const [trip, attempt] = after.transitions.recent.map(
        t => t.timestampMillis
      );
      expect(attempt - trip).to.be.within(140, 400); // resetTimeout: 150 ms
      expect(after.secondsInState.open).to.be.greaterThan(0.1);
      breaker.shutdown();
    });

    it('counts capacity refusals', async () => {
      const breaker = make({ capacity: 1, timeout: false });
      instrumentOpossum(breaker, { collector });
      mode = 'ok';
      await Promise.all([
        breaker.fire(),
        breaker.fire().catch(() => undefined),
      ]);
      await closed();
      expect(collector.getSnapshot('payments')!.window.calls).to.include({
        success: 1,
        capacity: 1,
      });
      breaker.shutdown();
    });

    it('counts failed health checks, each of which opens the breaker', async () => {
      const breaker = make();
      instrumentOpossum(breaker, { collector });
      let healthy = true;
      breaker.healthCheck(async () => {
        if (!healthy) throw new Error('unhealthy');
      }, 30);
      await sleep(70);
      await closed();
      let snapshot = collector.getSnapshot('payments')!;
      expect(snapshot.window.healthCheckFailures).to.equal(0);
      expect(snapshot.state).to.equal(BreakerState.CLOSED);
      healthy = false;
      await eventually(() => breaker.opened, 'opened by the health check');
      await closed();
      snapshot = collector.getSnapshot('payments')!;
      expect(snapshot.window.healthCheckFailures).to.be.at.least(1);
      expect(snapshot.state).to.equal(BreakerState.OPEN);
      expect(snapshot.trips.tripsPerHour).to.equal(1);
      breaker.shutdown();
    });

    it('sees disable() and manual open() through the state probe and events', async () => {
      const breaker = make();
      instrumentOpossum(breaker, { collector });
      breaker.disable();
      await closed();
      expect(collector.getSnapshot('payments')!.state).to.equal(
        BreakerState.DISABLED
      );
      breaker.enable();
      breaker.open();
      await closed();
      expect(collector.getSnapshot('payments')!.state).to.equal(
        BreakerState.OPEN
      );
      breaker.shutdown();
    });

    it('removes every listener on dispose, and returns the same recorder when attached twice', async () => {
      const breaker = make();
      const before = EVENTS.map(e => breaker.listenerCount(e));
      const recorder = instrumentOpossum(breaker, { collector });
      expect(instrumentOpossum(breaker, { collector })).to.equal(recorder);
      expect(EVENTS.map(e => breaker.listenerCount(e))).not.to.deep.equal(
        before
      );
      recorder.dispose();
      expect(EVENTS.map(e => breaker.listenerCount(e))).to.deep.equal(before);
      expect(collector.breakers).to.deep.equal([]);
      await fire(breaker, 'ok');
      expect(collector.rejectedInputs).to.equal(0);
      breaker.shutdown();
    });

    it('lets go of a breaker that shuts down', async () => {
      const breaker = make();
      const recorder = instrumentOpossum(breaker, { collector });
      await fire(breaker, 'ok');
      breaker.shutdown();
      // Let go once the 'shutdown' emit has reached every listener.
      await Promise.resolve();
      expect(recorder.disposed).to.equal(true);
      expect(collector.breakers).to.deep.equal([]);
      expect(
        EVENTS.map(e => breaker.listenerCount(e)).every(n => n === 0)
      ).to.equal(true);
    });

    it('counts a fallback once when an earlier fallback listener shuts the breaker down', async () => {
      const exported = new ExportedMetrics();
      collector.setMeterProvider(
        new MeterProvider({ readers: [exported.reader] })
      );
      const breaker = make();
      breaker.fallback(() => 'fallback');
      // As opossum's own tests do: the user's listener comes first.
      breaker.on('fallback', () => breaker.shutdown());
      instrumentOpossum(breaker, { collector });
      await fire(breaker, 'fail');
      await Promise.resolve();
      expect(collector.breakers).to.deep.equal([]);
      expect(collector.rejectedInputs).to.equal(0);
      // What it counted before it was let go is still exported.
      const metrics = await exported.flush();
      const total = (name: string) =>
        metrics
          .filter(m => m.descriptor.name === name)
          .flatMap(m => m.dataPoints as DataPoint<number>[])
          .reduce((sum, p) => sum + p.value, 0);
      expect(total('circuit_breaker.fallbacks')).to.equal(1);
      expect(total('circuit_breaker.calls')).to.equal(1);
    });

    it('names breakers by opossum, apart when names clash, and adds the group', async () => {
      const a = make({ name: 'clash', group: 'billing' });
      const b = make({ name: 'clash' });
      instrumentOpossum(a, { collector });
      instrumentOpossum(b, {
        collector,
        attributes: { region: 'eu' },
      });
      const named = make({ name: undefined });
      instrumentOpossum(named, { collector, name: 'explicit' });
      expect(collector.breakers.sort()).to.deep.equal([
        'clash',
        'clash',
        'explicit',
      ]);
      expect(
        collector.getSnapshot('clash', { 'circuit_breaker.group': 'billing' })!
          .attributes
      ).to.deep.equal({ 'circuit_breaker.group': 'billing' });
      expect(collector.getSnapshot('clash', { region: 'eu' })).not.to.equal(
        undefined
      );
      for (const breaker of [a, b, named]) breaker.shutdown();
    });
  });
}

describe('instrumentOpossum input checks', () => {
  it('throws for something that is not a breaker or a missing collector', () => {
    const collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
    });
    expect(() => instrumentOpossum({} as OpossumLike, { collector })).to.throw(
      TypeError,
      /instrumentOpossum: expected an opossum CircuitBreaker/
    );
    const breaker = new Opossum10(async () => 1);
    expect(() => instrumentOpossum(breaker, {} as never)).to.throw(
      TypeError,
      /instrumentOpossum: option 'collector' must be a CircuitBreakerMetrics, got undefined/
    );
    breaker.shutdown();
    collector.dispose();
  });
});

describe('instrumentOpossum of a breaker opossum named at random', () => {
  it('names it after the library, the same at every start, and says so once', () => {
    // Past any earlier report's quiet time, whatever ran before in this process.
    const clock = sinon.useFakeTimers({
      now: Date.now() + 3_600_000,
      toFake: ['Date'],
    });
    const warnings = captureWarnings();
    const collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
    });
    // An anonymous action: opossum names the breaker with a random UUID.
    const breakers = [Opossum10, Opossum9].map(
      CircuitBreaker => new CircuitBreaker(async () => 1)
    );
    try {
      expect(breakers[0].name).to.match(/^[0-9a-f]{8}-/);
      for (const breaker of breakers) instrumentOpossum(breaker, { collector });
      expect(collector.breakers.sort()).to.deep.equal(['opossum', 'opossum#2']);
      // Nor is opossum's default group (the random name) an attribute.
      expect(collector.getSnapshot('opossum')!.attributes).to.deep.equal({});
      const unnamed = warnings.filter(w => /has no name/.test(w));
      expect(unnamed).to.have.length(1);
      expect(unnamed[0]).to.match(/reported as 'opossum'.*options\.name/);
    } finally {
      for (const breaker of breakers) breaker.shutdown();
      collector.dispose();
      diag.disable();
      clock.restore();
    }
  });
});

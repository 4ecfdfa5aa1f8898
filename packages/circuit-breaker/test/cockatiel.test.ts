import { expect } from 'chai';
import * as sinon from 'sinon';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import * as cockatiel4 from 'cockatiel';
import * as cockatiel3 from 'cockatiel3';
import {
  BreakerState,
  CircuitBreakerMetrics,
  instrumentCockatiel,
} from '../src';
import type { CockatielLike } from '../src';
import { sleep } from './util';

type Cockatiel = typeof cockatiel4;

for (const [version, lib] of [
  ['4', cockatiel4],
  ['3.2', cockatiel3 as unknown as Cockatiel],
] as const) {
  describe(`instrumentCockatiel with cockatiel ${version}`, () => {
    let collector: CircuitBreakerMetrics;
    const closed = () => sleep(60);
    /** A breaker opening after 2 handled failures in a row; 'ignore' errors are not handled. */
    const make = () =>
      lib.circuitBreaker(
        lib.handleWhen(error => (error as Error).message !== 'ignore'),
        { halfOpenAfter: 100, breaker: new lib.ConsecutiveBreaker(2) }
      );
    const run = (
      policy: { execute: CockatielLike['execute'] },
      outcome: 'ok' | 'fail' | 'ignore'
    ) =>
      policy
        .execute(async () => {
          await sleep(10);
          if (outcome !== 'ok') throw new Error(outcome);
          return outcome;
        })
        .catch(() => undefined);

    beforeEach(() => {
      collector = new CircuitBreakerMetrics({
        meterProvider: new MeterProvider(),
        bucketMillis: 25,
        windowMillis: 5000,
      });
    });
    afterEach(() => collector.dispose());

    it('counts calls, handled and unhandled failures, rejections and states', async () => {
      const policy = make();
      instrumentCockatiel(policy, {
        collector,
        name: 'inventory',
        countRejections: true,
      });
      await run(policy, 'ok');
      await run(policy, 'ignore');
      await run(policy, 'fail');
      await run(policy, 'fail'); // opens
      await run(policy, 'ok'); // rejected: BrokenCircuitError
      await closed();
      let snapshot = collector.getSnapshot('inventory')!;
      expect(snapshot.window.calls).to.deep.equal({
        success: 1,
        failure: 2,
        timeout: 0,
        rejected: 1,
        capacity: 0,
        ignored: 1,
      });
      expect(snapshot.state).to.equal(BreakerState.OPEN);
      expect(snapshot.window.latencyMillis.count).to.equal(1);
      expect(snapshot.window.latencyMillis.min).to.be.at.least(9);
      expect(snapshot.window.inFlight).to.equal(0);

      await sleep(120); // cockatiel goes half-open only on the next call
      await run(policy, 'ok');
      await closed();
      snapshot = collector.getSnapshot('inventory')!;
      expect(snapshot.state).to.equal(BreakerState.CLOSED);
      expect(snapshot.trips.transitionsInWindow).to.equal(3); // open, half-open, closed

      const isolation = policy.isolate();
      await run(policy, 'ok'); // rejected: IsolatedCircuitError
      await closed();
      expect(collector.getSnapshot('inventory')!.state).to.equal(
        BreakerState.ISOLATED
      );
      expect(
        collector.getSnapshot('inventory')!.window.calls.rejected
      ).to.equal(2);
      isolation.dispose();
      await closed();
      expect(collector.getSnapshot('inventory')!.state).to.equal(
        BreakerState.CLOSED
      );
    });

    it('counts each call queued behind the half-open test once, and brings the calls in flight back to 0', async () => {
      const policy = make();
      instrumentCockatiel(policy, {
        collector,
        name: 'inventory',
        countRejections: true,
      });
      const queued = (signal?: AbortSignal) =>
        policy.execute(() => 'ran', signal).catch((error: Error) => error);
      await run(policy, 'fail');
      await run(policy, 'fail'); // opens
      await sleep(120);
      // The half-open test fails: the call queued behind it is refused.
      const [, refused] = await Promise.all([run(policy, 'fail'), queued()]);
      expect(refused).to.be.instanceOf(lib.BrokenCircuitError);
      await sleep(120);
      // The test succeeds: the queued call runs.
      const [, ran] = await Promise.all([run(policy, 'ok'), queued()]);
      expect(ran).to.equal('ran');
      await run(policy, 'fail');
      await run(policy, 'fail'); // opens again
      await sleep(120);
      // The test succeeds, but the queued call was cancelled meanwhile.
      const controller = new AbortController();
      const waiting = Promise.all([
        run(policy, 'ok'),
        queued(controller.signal),
      ]);
      controller.abort();
      const [, cancelled] = await waiting;
      expect(cancelled).to.be.instanceOf(lib.TaskCancelledError);
      await closed();
      // 10 execute() calls: 2 + 2 + 2 + 2 + 2.
      const { calls, inFlight } = collector.getSnapshot('inventory')!.window;
      expect(calls).to.deep.equal({
        success: 3, // two tests and the queued call that ran
        failure: 5,
        timeout: 0,
        rejected: 1,
        capacity: 0,
        ignored: 1, // cancelled before it ran
      });
      expect(inFlight).to.equal(0);
    });

    it('counts a call whose duration came out negative (its clock changed under it), dropping only the duration', async () => {
      const policy = make();
      instrumentCockatiel(policy, { collector, name: 'inventory' });
      // cockatiel's stopwatch reads performance.now(): faked mid-call, it
      // restarts near 0 and the call's duration comes out negative.
      let clock: sinon.SinonFakeTimers | undefined;
      try {
        await policy.execute(() => {
          clock = sinon.useFakeTimers({ toFake: ['performance'] });
        });
      } finally {
        clock?.restore();
      }
      await closed();
      const { calls, latencyMillis } =
        collector.getSnapshot('inventory')!.window;
      expect(calls.success).to.equal(1);
      expect(latencyMillis.count).to.equal(0);
      expect(collector.rejectedInputs).to.equal(1);
    });

    it('cannot see rejections without countRejections (cockatiel emits nothing for them)', async () => {
      const policy = make();
      instrumentCockatiel(policy, { collector, name: 'inventory' });
      await run(policy, 'fail');
      await run(policy, 'fail');
      await run(policy, 'ok');
      await closed();
      expect(collector.getSnapshot('inventory')!.window.calls).to.include({
        failure: 2,
        rejected: 0,
      });
      expect(collector.getSnapshot('inventory')!.state).to.equal(
        BreakerState.OPEN
      );
    });

    it('detaches completely: subscriptions and the execute wrapper', async () => {
      const policy = make();
      const prototypeExecute = Object.getPrototypeOf(policy).execute;
      const recorder = instrumentCockatiel(policy, {
        collector,
        name: 'inventory',
        countRejections: true,
      });
      expect(policy.execute).not.to.equal(prototypeExecute);
      expect(
        instrumentCockatiel(policy, { collector, name: 'inventory' })
      ).to.equal(recorder);
      recorder.dispose();
      expect(policy.execute).to.equal(prototypeExecute);
      expect(Object.prototype.hasOwnProperty.call(policy, 'execute')).to.equal(
        false
      );
      await run(policy, 'ok');
      await run(policy, 'fail');
      expect(collector.rejectedInputs).to.equal(0);
      expect(collector.breakers).to.deep.equal([]);
    });
  });
}

describe('instrumentCockatiel input checks', () => {
  it('throws without a name, for a non-policy and without a collector', () => {
    const collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
    });
    const policy = cockatiel4.circuitBreaker(cockatiel4.handleAll, {
      halfOpenAfter: 10,
      breaker: new cockatiel4.ConsecutiveBreaker(1),
    });
    expect(() => instrumentCockatiel(policy, { collector } as never)).to.throw(
      TypeError,
      /instrumentCockatiel: option 'name' is required \(a cockatiel policy has no name of its own\)/
    );
    expect(() =>
      instrumentCockatiel({} as CockatielLike, {
        collector,
        name: 'x',
      })
    ).to.throw(TypeError, /expected a cockatiel CircuitBreakerPolicy/);
    expect(() => instrumentCockatiel(policy, { name: 'x' } as never)).to.throw(
      TypeError,
      /instrumentCockatiel: option 'collector' must be a CircuitBreakerMetrics, got undefined/
    );
    collector.dispose();
  });
});

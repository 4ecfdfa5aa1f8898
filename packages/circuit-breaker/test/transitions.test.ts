import { expect } from 'chai';
import { BreakerState } from '../src';
import { T0, collectorOnFakeTime } from './util';

describe('state transitions', () => {
  const context = collectorOnFakeTime();

  it('counts trips, recovery attempts and recoveries, and keeps the latest 32 with their times', () => {
    const breaker = context.collector.register('svc');
    const cycle = [
      BreakerState.OPEN,
      BreakerState.HALF_OPEN,
      BreakerState.OPEN, // the trial failed: a trip
      BreakerState.HALF_OPEN,
      BreakerState.CLOSED, // recovered
    ];
    for (let round = 0; round < 8; round++) {
      for (const state of cycle) {
        context.clock.tick(100);
        breaker.recordStateChange(state);
      }
    }
    breaker.recordStateChange(BreakerState.CLOSED); // no change: no transition
    breaker.recordStateChange(BreakerState.ISOLATED);
    context.clock.tick(1000);
    const { transitions } = context.collector.getSnapshot('svc')!;
    expect(transitions).to.include({
      trips: 16,
      recoveryAttempts: 16,
      recoveries: 8,
    });
    expect(transitions.recent).to.have.length(32);
    const last = transitions.recent.at(-1)!;
    expect(last).to.deep.equal({
      from: BreakerState.CLOSED,
      to: BreakerState.ISOLATED,
      timestampMillis: T0 + 4000,
    });
    // Oldest first, each leaving the state the one before entered.
    for (let i = 1; i < 32; i++) {
      expect(transitions.recent[i].from).to.equal(transitions.recent[i - 1].to);
      expect(transitions.recent[i].timestampMillis).to.be.at.least(
        transitions.recent[i - 1].timestampMillis
      );
    }
    expect(transitions.recent[0].timestampMillis).to.equal(T0 + 1000); // the 10th of 41
  });
});

import { expect } from 'chai';
import * as sinon from 'sinon';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { CallOutcome, CircuitBreakerMetrics } from '../src';
import { eventually } from './util';

describe('the bucket timer under fake timers (as in a user’s test suite)', () => {
  const collectors: CircuitBreakerMetrics[] = [];
  const make = () => {
    const collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      bucketMillis: 100,
      windowMillis: 2000,
    });
    collectors.push(collector);
    return collector;
  };
  afterEach(() => {
    for (const collector of collectors.splice(0)) collector.dispose();
  });

  it('keeps closing buckets after clock.restore() when it was first started under sinon’s fake timers', async () => {
    const collector = make();
    let closes = 0;
    collector.onBucketClose(() => closes++);
    const clock = sinon.useFakeTimers(); // everything faked, sinon's default
    try {
      // The first breaker starts the timer.
      collector.register('payments').recordCall(CallOutcome.SUCCESS, 5);
      clock.tick(100);
      expect(closes).to.equal(1); // the timer runs on the fake clock meanwhile
    } finally {
      clock.restore();
    }
    closes = 0;
    // Within a second of the restore it runs on the real timers again.
    await eventually(() => closes >= 2, 'bucket closes on the real timers');
    // A breaker registered later is analyzed too.
    collector.register('inventory').recordCall(CallOutcome.FAILURE, 5);
    await eventually(
      () => collector.getSnapshot('inventory')!.window.calls.failure === 1,
      'the later breaker’s bucket closed'
    );
  });
});

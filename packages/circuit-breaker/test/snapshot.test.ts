import { expect } from 'chai';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { CallOutcome, CircuitBreakerMetrics } from '../src';
import { fakeTime, seededRandom } from './util';

describe("a breaker's snapshot", () => {
  it('keys latency percentiles by the quantiles asked for (0–1), each within 1.1% of the exact one', () => {
    const clock = fakeTime();
    const collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      quantiles: [0.999, 0.5, 0.25],
    });
    try {
      const breaker = collector.register('payments');
      const random = seededRandom(5);
      const latencies = Array.from({ length: 2000 }, () => 1 + 999 * random());
      for (const millis of latencies)
        breaker.recordCall(CallOutcome.SUCCESS, millis);
      clock.tick(1000);
      const { latencyMillis } = collector.getSnapshot('payments')!.window;
      const sorted = latencies.slice().sort((a, b) => a - b);
      const exact = (q: number) => sorted[Math.floor(q * (sorted.length - 1))];
      expect(Object.keys(latencyMillis.percentiles)).to.deep.equal([
        'p25',
        'p50',
        'p99.9',
      ]);
      for (const [key, q] of [
        ['p25', 0.25],
        ['p50', 0.5],
        ['p99.9', 0.999],
      ] as const) {
        expect(latencyMillis.percentiles[key], key).to.be.closeTo(
          exact(q),
          exact(q) * 0.011
        );
      }
      expect(latencyMillis.count).to.equal(2000);
      expect(latencyMillis.min).to.equal(sorted[0]);
      expect(latencyMillis.max).to.equal(sorted[1999]);
    } finally {
      collector.dispose();
      clock.restore();
    }
  });
});

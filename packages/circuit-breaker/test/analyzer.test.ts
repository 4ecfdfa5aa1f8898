import { expect } from 'chai';
import type * as sinon from 'sinon';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BreakerState, CallOutcome, CircuitBreakerMetrics } from '../src';
import type {
  AnomalyEndEvent,
  AnomalyEvent,
  BreakerRecorder,
  CircuitBreakerMetricsOptions,
  HealthChangeEvent,
  PatternEvent,
} from '../src';
import { STEADY, oneSecondOf } from './traffic';
import type { Traffic } from './traffic';
import { T0, fakeTime, seededRandom } from './util';

/** A collector with one hand-reported breaker, on fake time, recording its events. */
function setup(options: CircuitBreakerMetricsOptions = {}) {
  const clock = fakeTime();
  const collector = new CircuitBreakerMetrics({
    meterProvider: new MeterProvider(),
    ...options,
  });
  const anomalies: AnomalyEvent[] = [];
  const ends: AnomalyEndEvent[] = [];
  const patterns: PatternEvent[] = [];
  const health: HealthChangeEvent[] = [];
  collector.onAnomaly(e => anomalies.push(e));
  collector.onAnomalyEnd(e => ends.push(e));
  collector.onPattern(e => patterns.push(e));
  collector.onHealthChange(e => health.push(e));
  const breaker = collector.register('svc');
  const random = seededRandom(42);
  /** One second of lognormal latencies and random errors, then the bucket closes. */
  const second = (traffic: Traffic = STEADY) => {
    oneSecondOf(traffic, breaker, random);
    clock.tick(1000);
  };
  const close = () => {
    collector.dispose();
    clock.restore();
  };
  return {
    clock,
    collector,
    breaker,
    anomalies,
    ends,
    patterns,
    health,
    second,
    close,
    random,
  };
}

/**
 * Trips the breaker (open; a second later half-open and closed) at the given
 * seconds since T0, with a second of `traffic` in between.
 */
function trip(
  breaker: BreakerRecorder,
  clock: sinon.SinonFakeTimers,
  at: number[],
  traffic: () => void
) {
  for (const t of at) {
    while (Date.now() < T0 + t * 1000) traffic();
    breaker.recordStateChange(BreakerState.OPEN);
    clock.tick(1000);
    breaker.recordStateChange(BreakerState.HALF_OPEN);
    breaker.recordStateChange(BreakerState.CLOSED);
  }
}

describe('the analyzer', () => {
  let context: ReturnType<typeof setup>;
  afterEach(() => context.close());

  it('raises at most one false alarm in an hour of stationary traffic at defaults', () => {
    context = setup();
    for (let s = 0; s < 3600; s++) context.second();
    expect(context.anomalies.length).to.be.at.most(1);
    expect(context.collector.getHealth('svc')!.status).to.equal('healthy');
    const trendReasons = context.health
      .flatMap(e => e.reasons)
      .filter(reason => reason.includes('rising'));
    expect(trendReasons).to.deep.equal([]);
  });

  it('calls a slow rise of latency a trend, where the anomaly check sees nothing', () => {
    context = setup();
    for (let s = 0; s < 120; s++) context.second();
    const start = Date.now();
    // +50% over five minutes: 1 ms a minute more than a minute ago.
    for (let s = 1; s <= 300; s++)
      context.second({ ...STEADY, medianMillis: 20 * (1 + (0.5 * s) / 300) });
    const { trends } = context.collector.getSnapshot('svc')!;
    expect(trends.latency.direction).to.equal('rising');
    expect(trends.latency.change).to.be.closeTo(10 * Math.exp(0.045), 3);
    expect(trends.errorRate.direction).to.equal('flat');
    expect(context.anomalies.filter(e => e.kind === 'latency')).to.deep.equal(
      []
    );
    const degraded = context.health.find(e =>
      e.reasons.some(reason => reason.startsWith('latency rising'))
    );
    expect(degraded, 'health degraded by the trend').not.to.equal(undefined);
    expect(degraded!.timestampMillis).to.be.greaterThan(start);
  });

  it('calls no trend in five hours of sparse, skewed, error-prone stationary traffic', () => {
    // Tested every second over overlapping windows, a t ≥ 3 bar calls a
    // direction here about twice an hour.
    context = setup();
    const noisy = {
      callsPerSecond: 10,
      medianMillis: 20,
      spread: 0.6,
      errorRate: 0.1,
    };
    for (let s = 0; s < 5 * 3600; s++) context.second(noisy);
    const trendReasons = context.health
      .flatMap(e => e.reasons)
      .filter(reason => reason.includes('rising'));
    expect(trendReasons).to.deep.equal([]);
  });

  it('finds a 30% rise of latency over five minutes at 5 calls a second', () => {
    context = setup();
    const sparse = { ...STEADY, callsPerSecond: 5 };
    for (let s = 0; s < 120; s++) context.second(sparse);
    for (let s = 1; s <= 300; s++)
      context.second({ ...sparse, medianMillis: 20 * (1 + (0.3 * s) / 300) });
    expect(
      context.collector.getSnapshot('svc')!.trends.latency.direction
    ).to.equal('rising');
  });

  it('calls a significant rise of 6% over five minutes no trend: it is not material', () => {
    context = setup();
    for (let s = 0; s < 120; s++) context.second();
    for (let s = 1; s <= 300; s++)
      context.second({ ...STEADY, medianMillis: 20 * (1 + (0.06 * s) / 300) });
    const { latency } = context.collector.getSnapshot('svc')!.trends;
    expect(latency.significant).to.equal(true);
    expect(latency.direction).to.equal('flat');
  });

  it('calls a slow rise of the error rate a trend', () => {
    context = setup();
    for (let s = 0; s < 120; s++) context.second();
    for (let s = 1; s <= 300; s++)
      context.second({ ...STEADY, errorRate: 0.01 + (0.1 * s) / 300 });
    const { trends } = context.collector.getSnapshot('svc')!;
    expect(trends.errorRate.direction).to.equal('rising');
    expect(trends.errorRate.change).to.be.closeTo(0.1, 0.03);
    expect(context.collector.getHealth('svc')!.reasons.join()).to.match(
      /error rate rising/
    );
  });

  it('finds a doubling of latency within 5 s', () => {
    context = setup();
    for (let s = 0; s < 120; s++) context.second();
    expect(context.anomalies).to.have.length(0);
    const shift = Date.now();
    for (let s = 0; s < 10; s++)
      context.second({ ...STEADY, medianMillis: 40 });
    const found = context.anomalies.find(e => e.kind === 'latency');
    expect(found, 'a latency anomaly').not.to.equal(undefined);
    expect(found!.timestampMillis - shift).to.be.at.most(5000);
    expect(found!.direction).to.equal('up');
    expect(found!.value).to.be.closeTo(40 * Math.exp(0.045), 4);
    expect(context.collector.getHealth('svc')!.status).to.equal('degraded');
  });

  it('finds an error burst within 3 s', () => {
    context = setup();
    for (let s = 0; s < 120; s++) context.second();
    const burst = Date.now();
    for (let s = 0; s < 5; s++) context.second({ ...STEADY, errorRate: 0.5 });
    const found = context.anomalies.find(e => e.kind === 'error_rate');
    expect(found, 'an error-rate anomaly').not.to.equal(undefined);
    expect(found!.timestampMillis - burst).to.be.at.most(3000);
    expect(context.collector.getHealth('svc')!.reasons.join()).to.match(
      /error rate anomaly/
    );
  });

  it('reports an SLO breach as soon as the window crosses it', () => {
    context = setup({ errorRateSlo: 0.05, latencySloMillis: 100 });
    for (let s = 0; s < 30; s++) context.second();
    expect(context.anomalies).to.have.length(0);
    for (let s = 0; s < 10; s++)
      context.second({ ...STEADY, medianMillis: 200 });
    const slo = context.anomalies.find(e => e.kind === 'latency_slo')!;
    expect(slo.baseline.mean).to.equal(100);
    expect(slo.score).to.be.above(1);
    const reasons = () =>
      context.collector.getHealth('svc')!.reasons.join('; ');
    expect(reasons()).to.match(
      /p99 latency \d+\.\d ms over its SLO 100 ms for \d+s/
    );
    for (let s = 0; s < 10; s++) context.second({ ...STEADY, errorRate: 0.3 });
    expect(reasons()).to.match(
      /failure rate \d+\.\d% over its SLO 5\.0% for \d+s/
    );
    // Once the window is back under both SLOs, both breaches end.
    for (let s = 0; s < 70; s++) context.second();
    const ended = context.ends
      .filter(e => e.kind.endsWith('_slo'))
      .map(e => [e.kind, e.reason]);
    expect(ended.sort()).to.deep.equal([
      ['error_rate_slo', 'cleared'],
      ['latency_slo', 'cleared'],
    ]);
    expect(reasons()).not.to.match(/SLO/);
  });

  it('recognises periodic trips after five intervals', () => {
    context = setup();
    const { breaker, clock, random } = context;
    // Every 30 s with ±10% jitter.
    const times = [0, 1, 2, 3, 4, 5, 6].map(
      k => 20 + Math.round(30 * k + 3 * (2 * random() - 1))
    );
    trip(breaker, clock, times.slice(0, 5), () => context.second());
    expect(
      context.patterns.filter(p => p.pattern === 'periodic')
    ).to.have.length(0);
    trip(breaker, clock, times.slice(5, 6), () => context.second());
    const periodic = context.patterns.find(
      p => p.pattern === 'periodic' && p.active
    )!;
    expect(periodic, 'a periodic pattern').not.to.equal(undefined);
    expect(periodic.trips.periodMillis).to.be.closeTo(30_000, 3000);
    expect(periodic.trips.regularity).to.be.below(0.3);
    expect(context.collector.getSnapshot('svc')!.trips.tripsPerHour).to.equal(
      6
    );
    expect(context.collector.getHealth('svc')!.reasons.join()).to.match(
      /tripping every 3\d\.\d s/
    );
  });

  it('does not call random (Poisson) trips periodic', () => {
    let calledPeriodic = 0;
    for (let seed = 1; seed <= 30; seed++) {
      context = setup();
      const random = seededRandom(seed);
      let t = 0;
      const times: number[] = [];
      for (let k = 0; k < 12; k++) {
        t += 2 + Math.round(-Math.log(1 - random()) * 30);
        times.push(t);
      }
      trip(context.breaker, context.clock, times, () =>
        context.clock.tick(1000)
      );
      if (context.patterns.some(p => p.pattern === 'periodic' && p.active))
        calledPeriodic++;
      context.close();
    }
    context = setup();
    expect(calledPeriodic).to.be.at.most(2); // about 2% expected
  });

  it('raises flapping at six transitions a minute and clears it only at two (hysteresis)', () => {
    context = setup();
    const { breaker, clock } = context;
    const flip = (state: BreakerState) => {
      breaker.recordStateChange(state);
      clock.tick(1000);
    };
    for (const state of [
      BreakerState.OPEN,
      BreakerState.HALF_OPEN,
      BreakerState.OPEN,
      BreakerState.HALF_OPEN,
      BreakerState.OPEN,
    ]) {
      flip(state);
    }
    expect(context.patterns).to.have.length(0); // five transitions
    flip(BreakerState.HALF_OPEN);
    expect(context.patterns.map(p => [p.pattern, p.active])).to.deep.equal([
      ['flapping', true],
    ]);
    // Flips at 0–5 s leave the 60 s span one by one: 5, 4, 3 keep flapping; 2 clears it.
    clock.tick(56_000); // t = 62 s: the flips at 3, 4, 5 s remain
    expect(context.patterns).to.have.length(1);
    expect(
      context.collector.getSnapshot('svc')!.trips.transitionsInWindow
    ).to.equal(3);
    clock.tick(1000);
    expect(context.patterns.map(p => [p.pattern, p.active])).to.deep.equal([
      ['flapping', true],
      ['flapping', false],
    ]);
  });

  /**
   * Runs `warmUp` seconds of STEADY, `faultSeconds` of `fault`, then
   * `afterSeconds` of STEADY; returns each second's health status.
   */
  function incident(
    fault: Traffic,
    faultSeconds: number,
    warmUp = 600,
    afterSeconds = 120
  ): { during: string[]; after: string[]; faultStart: number } {
    for (let s = 0; s < warmUp; s++) context.second();
    const faultStart = Date.now();
    const status = () => context.collector.getHealth('svc')!.status;
    const during: string[] = [];
    for (let s = 0; s < faultSeconds; s++) {
      context.second(fault);
      during.push(status());
    }
    const after: string[] = [];
    for (let s = 0; s < afterSeconds; s++) {
      context.second();
      after.push(status());
    }
    return { during, after, faultStart };
  }

  it('holds a latency episode for the whole of a 30-minute fault, and clears it soon after', () => {
    context = setup();
    const fault = 1800;
    const { during, after, faultStart } = incident(
      { ...STEADY, medianMillis: 40 },
      fault
    );
    const flagged = during.filter(h => h !== 'healthy').length;
    expect(flagged / fault).to.be.at.least(0.99);
    const healthyAgain = after.indexOf('healthy');
    expect(healthyAgain).to.be.within(0, 60);
    const latency = context.ends.filter(e => e.kind === 'latency');
    expect(latency).to.have.length(1);
    expect(latency[0].reason).to.equal('cleared');
    expect(latency[0].startMillis - faultStart).to.be.within(0, 3000);
    expect(latency[0].durationMillis).to.be.within(
      fault * 1000,
      (fault + 60) * 1000
    );
    expect(latency[0].peakScore).to.be.above(2);
    // One episode, not one every few seconds.
    expect(context.anomalies.filter(e => e.kind === 'latency')).to.have.length(
      1
    );
  });

  it('holds an error-rate episode for a sustained 1% → 20% fault against the rate from before it', () => {
    context = setup();
    const { during, after } = incident({ ...STEADY, errorRate: 0.2 }, 600);
    expect(
      during.filter(h => h !== 'healthy').length / during.length
    ).to.be.at.least(0.99);
    expect(after.indexOf('healthy')).to.be.within(0, 60);
    const started = context.anomalies.filter(e => e.kind === 'error_rate');
    expect(started).to.have.length(1);
    expect(started[0].baseline.mean).to.be.closeTo(0.01, 0.006);
  });

  it('accepts a lasting new level after acceptAfterMillis, with an event of its own', () => {
    context = setup({ acceptAfterMillis: 300_000 });
    const { during } = incident({ ...STEADY, medianMillis: 40 }, 900);
    const accepted = context.ends.find(e => e.kind === 'latency');
    expect(accepted, 'an end event').not.to.equal(undefined);
    expect(accepted!.reason).to.equal('accepted');
    expect(accepted!.durationMillis).to.be.within(300_000, 302_000);
    // Degraded until then, healthy after: 40 ms is the new normal.
    expect(during.slice(10, 295).every(h => h !== 'healthy')).to.equal(true);
    expect(during.slice(320).every(h => h === 'healthy')).to.equal(true);
  });

  it('ends every episode of a breaker on acceptNewNormal()', () => {
    context = setup({ acceptAfterMillis: Infinity });
    incident({ ...STEADY, medianMillis: 100 }, 60, 600, 0);
    expect(context.collector.getHealth('svc')!.status).to.equal('degraded');
    expect(context.collector.acceptNewNormal('svc')).to.be.at.least(1);
    expect(context.ends.map(e => e.reason)).to.include('accepted');
    for (let s = 0; s < 10; s++)
      context.second({ ...STEADY, medianMillis: 100 });
    // No anomaly is held any more (the trend still says latency rose).
    const reasons = context.collector.getHealth('svc')!.reasons.join('; ');
    expect(reasons).not.to.match(/anomaly/);
    expect(reasons).to.match(/latency rising/);
    expect(context.collector.acceptNewNormal('nobody')).to.equal(0);
  });

  it('holds an SLO breach from the close the window reaches the SLO to the first close back under it', () => {
    context = setup({ errorRateSlo: 0.1, windowMillis: 10_000 });
    // Buckets 20–24 fail 3 calls of 10: the window's rate climbs and falls by 3 points a bucket.
    const failures = (b: number) => (b >= 20 && b < 25 ? 3 : 0);
    for (let b = 0; b < 50; b++) {
      for (let i = 0; i < 10; i++)
        context.breaker.recordCall(
          i < failures(b) ? CallOutcome.FAILURE : CallOutcome.SUCCESS,
          10
        );
      context.clock.tick(1000);
    }
    // The window at the close of bucket b: buckets b − 9 … b, 10 calls each.
    const rate = (b: number) => {
      let failed = 0;
      for (let k = Math.max(0, b - 9); k <= b; k++) failed += failures(k);
      return failed / (10 * Math.min(10, b + 1));
    };
    let first = -1;
    let back = -1;
    for (let b = 0; b < 50; b++) {
      if (first < 0 && rate(b) >= 0.1) first = b;
      else if (first >= 0 && back < 0 && rate(b) < 0.1) back = b;
    }
    const closeOf = (b: number) => T0 + (b + 1) * 1000;
    const started = context.anomalies.filter(e => e.kind === 'error_rate_slo');
    const ended = context.ends.filter(e => e.kind === 'error_rate_slo');
    expect(started.map(e => e.startMillis)).to.deep.equal([closeOf(first)]);
    expect(ended.map(e => [e.endMillis, e.reason])).to.deep.equal([
      [closeOf(back), 'cleared'],
    ]);
  });

  it('ends an SLO breach on acceptNewNormal() too, and raises it again only after the window was back under', () => {
    context = setup({ latencySloMillis: 100, acceptAfterMillis: Infinity });
    for (let s = 0; s < 30; s++) context.second();
    const slow = { ...STEADY, medianMillis: 200 };
    for (let s = 0; s < 10; s++) context.second(slow);
    const raised = () =>
      context.anomalies.filter(e => e.kind === 'latency_slo').length;
    expect(raised()).to.equal(1);
    expect(context.collector.acceptNewNormal('svc')).to.be.at.least(1);
    expect(
      context.ends.filter(e => e.kind === 'latency_slo').map(e => e.reason)
    ).to.deep.equal(['accepted']);
    const reasons = () =>
      context.collector.getHealth('svc')!.reasons.join('; ');
    // Still over the SLO: the accepted breach is not raised again…
    for (let s = 0; s < 20; s++) context.second(slow);
    expect(raised()).to.equal(1);
    expect(reasons()).not.to.match(/SLO/);
    // …until the window has been back under it and crosses it anew.
    for (let s = 0; s < 70; s++) context.second();
    for (let s = 0; s < 10; s++) context.second(slow);
    expect(raised()).to.equal(2);
    expect(reasons()).to.match(/over its SLO 100 ms/);
  });

  it('learns an accepted error rate afresh', () => {
    context = setup({ acceptAfterMillis: Infinity });
    incident({ ...STEADY, errorRate: 0.1 }, 60, 600, 0);
    const reasons = () =>
      context.collector.getHealth('svc')!.reasons.join('; ');
    expect(reasons()).to.match(/error rate anomaly/);
    expect(context.collector.acceptNewNormal('svc')).to.be.at.least(1);
    expect(
      context.ends.filter(e => e.kind === 'error_rate').map(e => e.reason)
    ).to.deep.equal(['accepted']);
    // 10% is the new normal: no new error-rate episode while it lasts.
    const before = context.anomalies.length;
    for (let s = 0; s < 120; s++) context.second({ ...STEADY, errorRate: 0.1 });
    expect(
      context.anomalies.slice(before).filter(e => e.kind === 'error_rate')
    ).to.deep.equal([]);
    expect(reasons()).not.to.match(/error rate anomaly/);
  });

  it('judges low traffic by joining buckets until they hold enough calls', () => {
    context = setup();
    const slow = { ...STEADY, callsPerSecond: 3 };
    for (let s = 0; s < 600; s++) context.second(slow);
    expect(context.collector.getHealth('svc')!.status).to.equal('healthy');
    for (let s = 0; s < 60; s++) context.second({ ...slow, medianMillis: 60 });
    expect(context.anomalies.map(e => e.kind)).to.include('latency');
  });

  it("keeps the demo's faults non-healthy from their first flag to their end", () => {
    // The demo's story at its traffic: 15 s of warm-up, then a 5× slowdown,
    // 60% failures, and flapping (all failing / all fine every 3 s, the
    // breaker open while failing), each 12 s, with normal traffic between.
    context = setup();
    const demo = { ...STEADY, callsPerSecond: 20, errorRate: 0.005 };
    const faults: [string, (s: number) => Traffic][] = [
      ['slow', () => ({ ...demo, medianMillis: 100 })],
      ['fail', () => ({ ...demo, errorRate: 0.6 })],
      [
        'flap',
        s => ({ ...demo, errorRate: Math.floor(s / 3) % 2 === 0 ? 1 : 0.005 }),
      ],
    ];
    for (let s = 0; s < 15; s++) context.second(demo);
    for (const [name, traffic] of faults) {
      const statuses: string[] = [];
      for (let s = 0; s < 12; s++) {
        const failing = name === 'flap' && traffic(s).errorRate === 1;
        context.breaker.recordStateChange(
          failing ? BreakerState.OPEN : BreakerState.CLOSED
        );
        context.second(traffic(s));
        statuses.push(context.collector.getHealth('svc')!.status);
      }
      const first = statuses.findIndex(s => s !== 'healthy');
      expect(first, `${name} flagged`).to.be.within(0, 4);
      expect(
        statuses.slice(first).every(s => s !== 'healthy'),
        `${name}: ${statuses.join(' ')}`
      ).to.equal(true);
      context.breaker.recordStateChange(BreakerState.CLOSED);
      for (let s = 0; s < 60; s++) context.second(demo);
    }
  });

  it('tells health from state, anomalies and data', () => {
    context = setup();
    const { breaker, clock } = context;
    expect(context.collector.getHealth('svc')).to.deep.include({
      status: 'unknown',
      reasons: ['not enough data yet'],
    });
    for (let s = 0; s < 20; s++) context.second();
    expect(context.collector.getHealth('svc')!.status).to.equal('healthy');
    breaker.recordStateChange(BreakerState.OPEN);
    clock.tick(1000);
    expect(context.collector.getHealth('svc')).to.deep.include({
      status: 'unhealthy',
      reasons: ['open'],
    });
    breaker.recordStateChange(BreakerState.HALF_OPEN);
    clock.tick(1000);
    expect(context.collector.getHealth('svc')!.status).to.equal('degraded');
    breaker.recordStateChange(BreakerState.CLOSED);
    clock.tick(1000);
    expect(context.health.map(e => e.current)).to.deep.equal([
      'healthy',
      'unhealthy',
      'degraded',
      'healthy',
    ]);
  });
});

import { expect } from 'chai';
import type * as sinon from 'sinon';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BreakerState, CallOutcome, CircuitBreakerMetrics } from '../src';
import type {
  AnomalyEvent,
  BreakerRecorder,
  CircuitBreakerMetricsOptions,
  HealthChangeEvent,
  PatternEvent,
} from '../src';
import { T0, fakeTime, seededRandom } from './util';

interface Traffic {
  callsPerSecond: number;
  medianMillis: number;
  /** σ of log latency. */
  spread: number;
  errorRate: number;
}
const STEADY: Traffic = {
  callsPerSecond: 50,
  medianMillis: 20,
  spread: 0.3,
  errorRate: 0.01,
};

/** A collector with one hand-reported breaker, on fake time, recording its events. */
function setup(options: CircuitBreakerMetricsOptions = {}) {
  const clock = fakeTime();
  const collector = new CircuitBreakerMetrics({
    meterProvider: new MeterProvider(),
    ...options,
  });
  const anomalies: AnomalyEvent[] = [];
  const patterns: PatternEvent[] = [];
  const health: HealthChangeEvent[] = [];
  collector.onAnomaly(e => anomalies.push(e));
  collector.onPattern(e => patterns.push(e));
  collector.onHealthChange(e => health.push(e));
  const breaker = collector.register('svc');
  const random = seededRandom(42);
  /** One second of lognormal latencies and random errors, then the bucket closes. */
  const second = (traffic: Traffic = STEADY) => {
    for (let i = 0; i < traffic.callsPerSecond; i++) {
      const z =
        Math.sqrt(-2 * Math.log(1 - random())) *
        Math.cos(2 * Math.PI * random());
      const millis = traffic.medianMillis * Math.exp(traffic.spread * z);
      breaker.recordCall(
        random() < traffic.errorRate
          ? CallOutcome.FAILURE
          : CallOutcome.SUCCESS,
        millis
      );
    }
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

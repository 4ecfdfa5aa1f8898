import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BreakerState,
  CallOutcome,
  CircuitBreakerMetrics,
  VERSION,
  instrumentCockatiel,
  instrumentOpossum,
} from '../src';
import type { CockatielLike, OpossumLike } from '../src';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { collectorOnFakeTime } from './util';

/** A cockatiel-shaped policy whose events the test emits by hand: our listeners only. */
function cockatielShaped(): {
  policy: CockatielLike;
  listeners: Record<string, (value: unknown) => void>;
} {
  const listeners: Record<string, (value: unknown) => void> = {};
  const subscribe = (name: string) => (listener: (value: unknown) => void) => {
    listeners[name] = listener;
    return { dispose: () => delete listeners[name] };
  };
  const policy = {
    onSuccess: subscribe('success'),
    onFailure: subscribe('failure'),
    onStateChange: subscribe('state'),
    state: 0,
    execute: async () => undefined,
  } as unknown as CockatielLike;
  return { policy, listeners };
}

describe('bad input', () => {
  const context = collectorOnFakeTime();

  it('drops and counts what the generic API cannot use, never throwing', () => {
    const breaker = context.collector.register('svc');
    const attempts: (() => void)[] = [
      () => breaker.recordCall('exploded' as CallOutcome, 5),
      () => breaker.recordCall(CallOutcome.SUCCESS, NaN),
      () => breaker.recordCall(CallOutcome.SUCCESS, -5),
      () => breaker.recordCall(CallOutcome.SUCCESS, Infinity),
      () => breaker.recordCall(CallOutcome.FAILURE, '10' as unknown as number),
      () => breaker.recordStateChange('melted' as BreakerState),
      () => breaker.recordResource('', 1),
      () => breaker.recordResource('pool', NaN),
      () => breaker.recordResource({} as string, 1),
    ];
    for (const attempt of attempts) expect(attempt).not.to.throw();
    for (let i = 0; i < 20; i++) breaker.recordResource(`resource-${i}`, i);
    context.clock.tick(1000);
    // Calls with a bad latency still count; only the latency is dropped.
    const snapshot = context.collector.getSnapshot('svc')!;
    expect(snapshot.window.calls).to.include({ success: 3, failure: 1 });
    expect(snapshot.window.latencyMillis.count).to.equal(0);
    expect(snapshot.state).to.equal(BreakerState.CLOSED);
    // 9 above, and the 5 resources past the 15 a breaker takes (in flight is the 16th).
    expect(context.collector.rejectedInputs).to.equal(9 + 5);
    breaker.dispose();
    breaker.recordCall(CallOutcome.SUCCESS, 1);
    breaker.recordStateChange(BreakerState.OPEN);
    breaker.recordHealthCheckFailure();
    expect(context.collector.rejectedInputs).to.equal(9 + 5 + 3);
    expect(context.collector.getSnapshot('svc')).to.equal(undefined);
  });

  it('survives events of unexpected shapes from an opossum breaker', () => {
    const emitter = new EventEmitter() as unknown as OpossumLike & {
      emit(e: string, ...a: unknown[]): boolean;
    };
    Object.assign(emitter, {
      fire: () => undefined,
      opened: false,
      halfOpen: false,
      enabled: true,
      name: 'odd',
    });
    instrumentOpossum(emitter, { collector: context.collector });
    const shapes: [string, ...unknown[]][] = [
      ['success', undefined, 'fast'],
      ['success'],
      ['failure', null, NaN],
      ['failure', 'not an error', -1],
      ['failure', { code: 'ETIMEDOUT' }, 5],
      ['reject'],
      ['open', 'junk'],
      ['fallback'],
      ['healthCheckFailed', 'not an error'],
      ['close'],
    ];
    for (const [event, ...args] of shapes)
      expect(() => emitter.emit(event, ...args)).not.to.throw();
    context.clock.tick(1000);
    const snapshot = context.collector.getSnapshot('odd')!;
    expect(snapshot.window.calls).to.include({
      success: 2,
      failure: 2,
      timeout: 1,
      rejected: 1,
    });
    expect(snapshot.state).to.equal(BreakerState.CLOSED);
    expect(context.collector.rejectedInputs).to.equal(3); // 'fast', NaN and -1 are not latencies
  });

  it('survives odd payloads from a cockatiel-shaped policy', () => {
    const { policy, listeners } = cockatielShaped();
    instrumentCockatiel(policy, {
      collector: context.collector,
      name: 'shaped',
    });
    expect(() => listeners.success({ duration: 'x' })).not.to.throw();
    expect(() => listeners.success({})).not.to.throw();
    expect(() =>
      listeners.failure({ duration: 3, handled: false })
    ).not.to.throw();
    expect(() => listeners.state(7)).not.to.throw();
    (policy as { state: number }).state = 1; // as cockatiel does before it emits
    expect(() => listeners.state(1)).not.to.throw();
    context.clock.tick(1000);
    expect(context.collector.getSnapshot('shaped')!.window.calls).to.include({
      success: 2,
      ignored: 1,
    });
    expect(context.collector.getSnapshot('shaped')!.state).to.equal(
      BreakerState.OPEN
    );
    expect(context.collector.rejectedInputs).to.equal(1);
  });

  it('keeps closing buckets when a listener throws, whatever it throws', () => {
    context.collector.onHealthChange(() => {
      throw new Error('listener bug');
    });
    context.collector.onHealthChange(() => {
      // A thrown value that cannot even be made a string.
      throw new Proxy(
        {},
        {
          get() {
            throw new Error('trap');
          },
        }
      );
    });
    const seen: string[] = [];
    context.collector.onHealthChange(event => seen.push(event.current));
    const a = context.collector.register('a');
    context.collector.register('b');
    a.recordStateChange(BreakerState.OPEN);
    expect(() => context.clock.tick(1000)).not.to.throw();
    expect(seen).to.deep.equal(['unhealthy']);
    expect(context.collector.getSnapshot('b')).not.to.equal(undefined);
  });

  it('throws at registration for a bad name or attributes', () => {
    expect(() => context.collector.register('')).to.throw(
      TypeError,
      /CircuitBreakerMetrics.register: option 'name' must be a non-empty string/
    );
    expect(() => context.collector.register('x'.repeat(300))).to.throw(
      RangeError,
      /option 'name' must be at most 256 characters long/
    );
    expect(() =>
      context.collector.register('x', { attributes: 5 as never })
    ).to.throw(
      TypeError,
      /option 'attributes' must be an object of attributes/
    );
  });
});

describe('hostile input from breaker libraries and callers', () => {
  const context = collectorOnFakeTime();
  const trap = () => {
    throw new Error('trap');
  };

  it('cuts attributes at the collector limits (its own attributes included), counts them, and finds the breaker by the same attributes', () => {
    const collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      attributes: { team: 'core' },
      limits: {
        maxAttributesPerSeries: 3,
        maxAttributeValueLength: 8,
        maxAttributeBytesPerSeries: 100,
      },
    });
    const given = {
      long: 'abcdefghijkl',
      list: ['abcdefghij', 'x'],
      zz: 'dropped: a fourth attribute',
    };
    collector.register('cut', { attributes: given });
    // Sorted keys, the collector's 'team' among them; 8 characters each.
    expect(collector.getSnapshot('cut', given)!.attributes).to.deep.equal({
      list: ['abcdefgh', 'x'],
      long: 'abcdefgh',
      team: 'core',
    });
    // 'long', 'list[0]' and 'zz' cut; then 'zz' dropped, past three
    // attributes with the collector's 'team'.
    expect(collector.truncatedAttributes).to.equal(4);
    expect(collector.getSnapshot('cut', { team: 'core' })).to.equal(undefined);
    // The byte budget, estimated at 2 bytes a character and 8 a number:
    // 'a' takes 2 + 20, 'b' 22 more would pass 40, 'c' 2 + 8 still fits.
    const budget = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      limits: { maxAttributeBytesPerSeries: 40 },
    });
    budget.register('budget', {
      attributes: { a: 'x'.repeat(10), b: 'y'.repeat(10), c: 1 },
    });
    expect(budget.getSnapshot('budget')!.attributes).to.deep.equal({
      a: 'x'.repeat(10),
      c: 1,
    });
    expect(budget.truncatedAttributes).to.equal(1);
    budget.dispose();
    collector.dispose();
  });

  it('counts a lookup by something that is no attribute set, and finds nothing', () => {
    context.collector.register('svc', { attributes: { region: 'eu' } });
    for (const attributes of [
      { a: {} },
      'eu',
      new Proxy({}, { ownKeys: trap }),
    ]) {
      const before = context.collector.rejectedInputs;
      expect(
        context.collector.getSnapshot('svc', attributes as never)
      ).to.equal(undefined);
      expect(context.collector.getHealth('svc', attributes as never)).to.equal(
        undefined
      );
      expect(context.collector.rejectedInputs - before).to.equal(2);
    }
    expect(context.collector.getSnapshot('svc', { region: 'eu' })).not.to.equal(
      undefined
    );
  });

  it("gives a disposed duplicate's suffix again, and skips one taken by hand", () => {
    const { collector } = context;
    const x = [
      collector.register('x'),
      collector.register('x'),
      collector.register('x'),
    ];
    expect(x.map(r => r.name)).to.deep.equal(['x', 'x#2', 'x#3']);
    x[1].dispose();
    expect(collector.register('x').name).to.equal('x#2');
    expect(collector.register('x#4').name).to.equal('x#4');
    expect(collector.register('x').name).to.equal('x#5');
    // The same name with other attributes is another breaker.
    expect(
      collector.register('x', { attributes: { region: 'eu' } }).name
    ).to.equal('x');
  });

  it('counts what it cannot read from an opossum breaker (its state, a result, an error, removing listeners) and goes on', () => {
    const emitter = new EventEmitter() as unknown as OpossumLike & {
      emit(e: string, ...a: unknown[]): boolean;
    };
    let hostile = false;
    Object.defineProperties(emitter, {
      fire: { value: () => undefined },
      name: { value: 'unreadable' },
      opened: { get: () => (hostile ? trap() : false) },
      halfOpen: { get: () => false },
      enabled: { get: () => (hostile ? trap() : true) },
    });
    const recorder = instrumentOpossum(emitter, {
      collector: context.collector,
    });
    const other = context.collector.register('other');
    hostile = true;
    const proxy = new Proxy({}, { get: trap, getPrototypeOf: trap });
    expect(() => emitter.emit('success', proxy, 3)).not.to.throw();
    expect(() => emitter.emit('failure', proxy, 4)).not.to.throw();
    other.recordCall(CallOutcome.SUCCESS, 1);
    expect(() => context.clock.tick(1000)).not.to.throw();
    const snapshot = context.collector.getSnapshot('unreadable')!;
    expect(snapshot.window.calls).to.include({ success: 1, failure: 1 });
    expect(
      context.collector.getSnapshot('other')!.window.calls.success
    ).to.equal(1);
    // The result, the error and the state at the bucket close.
    expect(context.collector.rejectedInputs).to.equal(3);
    (emitter as unknown as { removeListener: unknown }).removeListener = trap;
    expect(() => recorder.dispose()).not.to.throw();
    expect(context.collector.getSnapshot('unreadable')).to.equal(undefined);
    expect(context.collector.rejectedInputs).to.be.above(3);
  });

  it('counts cockatiel-shaped payloads it cannot read, and still counts the call', () => {
    const { policy, listeners } = cockatielShaped();
    instrumentCockatiel(policy, { collector: context.collector, name: 'c' });
    const getters = Object.defineProperties(
      {},
      { duration: { get: trap }, handled: { get: trap } }
    );
    expect(() => listeners.success(getters)).not.to.throw();
    expect(() => listeners.failure(getters)).not.to.throw();
    expect(() => listeners.state(new Proxy({}, { get: trap }))).not.to.throw();
    context.clock.tick(1000);
    const snapshot = context.collector.getSnapshot('c')!;
    expect(snapshot.window.calls).to.include({ success: 1, failure: 1 });
    expect(snapshot.window.latencyMillis.count).to.equal(0);
    expect(context.collector.rejectedInputs).to.equal(3); // two durations, one 'handled'
  });
});

describe('CircuitBreakerMetrics options', () => {
  const invalid: [string, unknown, ErrorConstructor, RegExp][] = [
    [
      'a bucket below 10 ms',
      { bucketMillis: 5 },
      RangeError,
      /CircuitBreakerMetrics: option 'bucketMillis' must be an integer ≥ 10, got 5/,
    ],
    [
      'a window that is not a multiple of the bucket',
      { windowMillis: 1500 },
      RangeError,
      /option 'windowMillis' must be a multiple of 'bucketMillis' \(1000\), got 1500/,
    ],
    [
      'a window of one bucket',
      { windowMillis: 1000 },
      RangeError,
      /option 'windowMillis' must be ≥ 'bucketMillis × 2' \(2000\), got 1000/,
    ],
    [
      'a window over 3600 buckets',
      { windowMillis: 3_601_000 },
      RangeError,
      /option 'windowMillis' must be ≤ 'bucketMillis × 3600' \(3600000\)/,
    ],
    [
      'a trend window shorter than the window',
      { trendWindowMillis: 30_000 },
      RangeError,
      /option 'trendWindowMillis' must be ≥ 'windowMillis' \(60000\), got 30000/,
    ],
    [
      'a quantile of 1',
      { quantiles: [0.5, 1] },
      RangeError,
      /option 'quantiles' must hold numbers > 0 and < 1, got 1$/,
    ],
    [
      'a percentile among the quantiles',
      { quantiles: [0.5, 99] },
      RangeError,
      /option 'quantiles' must hold quantiles in \(0, 1\), not percentiles: 0.99 for p99, got 99/,
    ],
    [
      'no quantiles',
      { quantiles: [] },
      TypeError,
      /option 'quantiles' must be an array of 1 to 16 numbers > 0 and < 1/,
    ],
    [
      'the percentiles of earlier versions',
      { percentiles: [50, 99] },
      TypeError,
      /option 'percentiles' is now 'quantiles', in \(0, 1\) as in every Datapunk package: \[50, 99\] becomes \[0.5, 0.99\]/,
    ],
    [
      'a threshold of 0',
      { anomalyThreshold: 0 },
      RangeError,
      /option 'anomalyThreshold' must be a finite number > 0 and ≤ 100, got 0/,
    ],
    [
      'more consecutive buckets than the window',
      { consecutiveBuckets: 61 },
      RangeError,
      /option 'consecutiveBuckets' must be an integer ≥ 1 and ≤ 60, got 61/,
    ],
    [
      'an error-rate SLO above 1',
      { errorRateSlo: 1.5 },
      RangeError,
      /option 'errorRateSlo' must be a finite number > 0 and ≤ 1, got 1.5/,
    ],
    [
      'a latency SLO of 0',
      { latencySloMillis: 0 },
      RangeError,
      /option 'latencySloMillis' must be a finite number > 0, got 0/,
    ],
    [
      'a clear level at the raise level',
      { flapRaiseTransitions: 4, flapClearTransitions: 4 },
      RangeError,
      /option 'flapClearTransitions' must be ≤ 'flapRaiseTransitions − 1' \(3\), got 4/,
    ],
    [
      'a meter provider without getMeter',
      { meterProvider: {} },
      TypeError,
      /option 'meterProvider' must be a MeterProvider, got an object/,
    ],
    [
      'a misspelt option',
      { windowMilis: 1000 },
      TypeError,
      /unknown option 'windowMilis'/,
    ],
  ];
  for (const [name, options, type, message] of invalid) {
    it(`throws for ${name}`, () => {
      expect(() => new CircuitBreakerMetrics(options as never)).to.throw(
        type,
        message
      );
    });
  }

  it('keeps its version equal to package.json', () => {
    const pkg = JSON.parse(
      readFileSync(join(__dirname, '..', 'package.json'), 'utf8')
    ) as { version: string };
    expect(VERSION).to.equal(pkg.version);
  });
});

import { expect } from 'chai';
import type * as sinon from 'sinon';
import * as api from '@opentelemetry/api';
import { context, diag, trace } from '@opentelemetry/api';
import type {
  Attributes,
  Context,
  MeterProvider as MeterProviderApi,
  Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import * as cockatiel from 'cockatiel';
import {
  BreakerState,
  CallOutcome,
  CircuitBreakerMetrics,
  instrumentCockatiel,
  instrumentOpossum,
  semconv,
} from '../src';
import type {
  AnomalyEndEvent,
  AnomalyEvent,
  BreakerRecorder,
  OpossumLike,
  TraceExample,
} from '../src';
import { T0, captureWarnings, fakeTime, seededRandom } from './util';

/**
 * The global logs API: `@opentelemetry/api`'s own from 1.10 on, else the
 * `@opentelemetry/api-logs` package (the compat run's api 1.9 has none).
 */
const logsApi = ((api as { logs?: GlobalLogs }).logs ??
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('@opentelemetry/api-logs') as { logs: GlobalLogs })
    .logs) as GlobalLogs;
interface GlobalLogs {
  setGlobalLoggerProvider(provider: object): boolean;
  disable(): void;
}

/** What this test uses of opossum, which ships no types. */
interface OpossumBreaker extends OpossumLike {
  fire(...args: unknown[]): Promise<unknown>;
}
/* eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS */
const Opossum = require('opossum') as new (
  action: (...args: unknown[]) => Promise<unknown>,
  options?: Record<string, unknown>
) => OpossumBreaker;

/** A call the test made, and the span it ran in (none: no span at all). */
interface Call {
  second: number;
  outcome: CallOutcome;
  durationMillis: number;
  traceId?: string;
  spanId?: string;
  sampled: boolean;
}

// The rule the breaker documents, written out here: a bucket keeps its 3
// slowest successful calls and its first 3 failed ones (sampled spans
// only); a latency episode keeps the 5 slowest of its buckets' examples,
// an error rate episode the 5 newest failed ones.
const PER_BUCKET = 3;
const PER_EPISODE = 5;

function bucketExamples(calls: Call[], failed: boolean): Call[] {
  const sampled = calls.filter(
    c => c.sampled && (c.outcome === CallOutcome.SUCCESS) !== failed
  );
  if (failed) return sampled.slice(0, PER_BUCKET);
  // Stable: of equal durations, the earlier.
  return [...sampled]
    .sort((a, b) => b.durationMillis - a.durationMillis)
    .slice(0, PER_BUCKET);
}

/** The examples an episode holds after the buckets of `seconds` closed. */
function expectedExamples(
  calls: Call[],
  seconds: number[],
  failed: boolean
): { traceId: string; spanId: string; durationMillis: number }[] {
  const kept = seconds.flatMap(s =>
    bucketExamples(
      calls.filter(c => c.second === s),
      failed
    )
  );
  const chosen = failed
    ? kept.slice(-PER_EPISODE)
    : [...kept]
        .sort((a, b) => b.durationMillis - a.durationMillis)
        .slice(0, PER_EPISODE);
  return chosen.map(c => ({
    traceId: c.traceId!,
    spanId: c.spanId!,
    durationMillis: c.durationMillis,
  }));
}

const ids = (examples: readonly TraceExample[]) =>
  examples.map(({ traceId, spanId, durationMillis }) => ({
    traceId,
    spanId,
    durationMillis,
  }));

/** The seconds (bucket index from T0) whose buckets closed in [fromMillis, toMillis]. */
const secondsClosedIn = (fromMillis: number, toMillis: number) => {
  const seconds: number[] = [];
  for (let s = 0; T0 + (s + 1) * 1000 <= toMillis; s++)
    if (T0 + (s + 1) * 1000 >= fromMillis) seconds.push(s);
  return seconds;
};

describe('example calls by their trace (real tracing SDK)', () => {
  let clock: sinon.SinonFakeTimers;
  let collector: CircuitBreakerMetrics;
  let spans: InMemorySpanExporter;
  let tracerProvider: TracerProvider;
  let loggerProvider: LoggerProvider;
  let sampledTracer: Tracer;
  let unsampledTracer: Tracer;
  let logs: InMemoryLogRecordExporter;
  let calls: Call[];
  const anomalies: AnomalyEvent[] = [];
  const ends: AnomalyEndEvent[] = [];

  before(() => {
    expect(
      context.setGlobalContextManager(
        new AsyncLocalStorageContextManager().enable()
      ),
      'the context manager is registered'
    ).to.equal(true);
  });
  after(() => context.disable());

  beforeEach(() => {
    clock = fakeTime();
    spans = new InMemorySpanExporter();
    tracerProvider = new TracerProvider({
      sampler: new AlwaysOnSampler(),
      spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
    });
    sampledTracer = tracerProvider.getTracer('evidence-test');
    unsampledTracer = new TracerProvider({
      sampler: new AlwaysOffSampler(),
    }).getTracer('evidence-test');
    logs = new InMemoryLogRecordExporter();
    loggerProvider = new LoggerProvider({
      processors: [new SimpleLogRecordProcessor({ exporter: logs })],
    });
    collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      loggerProvider,
    });
    collector.onAnomaly(e => anomalies.push(e));
    collector.onAnomalyEnd(e => ends.push(e));
    calls = [];
    anomalies.length = 0;
    ends.length = 0;
  });
  afterEach(() => {
    collector.dispose();
    clock.restore();
  });

  const second = () => Math.floor((Date.now() - T0) / 1000);

  /** Runs `call` in a span of `tracer` (or none) and notes it with that span's ids. */
  function traced<T>(
    tracer: Tracer | undefined,
    note: Omit<Call, 'second' | 'sampled' | 'traceId' | 'spanId'>,
    call: () => T
  ): T {
    const entry: Call = { ...note, second: second(), sampled: false };
    calls.push(entry);
    if (tracer === undefined) return call();
    return tracer.startActiveSpan('downstream', span => {
      const spanContext = span.spanContext();
      entry.traceId = spanContext.traceId;
      entry.spanId = spanContext.spanId;
      entry.sampled = tracer === sampledTracer;
      const result = call();
      if (result instanceof Promise)
        return result.finally(() => span.end()) as T;
      span.end();
      return result;
    });
  }

  /**
   * Seconds of 30 calls to `breaker` around `median` ms (seeded lognormal):
   * a third in sampled spans, a third in unsampled ones (3× slower), a
   * third in none (2× slower); the bucket closes after each.
   */
  function latencyTraffic(breaker: BreakerRecorder): (median: number) => void {
    const random = seededRandom(7);
    return median => {
      for (let i = 0; i < 30; i++) {
        const z =
          Math.sqrt(-2 * Math.log(1 - random())) *
          Math.cos(2 * Math.PI * random());
        const base = median * Math.exp(0.3 * z);
        const tracer = [sampledTracer, unsampledTracer, undefined][i % 3];
        const durationMillis =
          Math.round(base * (i % 3 === 1 ? 3 : i % 3 === 2 ? 2 : 1) * 1000) /
          1000;
        traced(tracer, { outcome: CallOutcome.SUCCESS, durationMillis }, () =>
          breaker.recordCall(CallOutcome.SUCCESS, durationMillis)
        );
      }
      clock.tick(1000);
    };
  }

  it('a latency episode names the slowest successful calls of sampled spans, from start to end', async () => {
    const oneSecond = latencyTraffic(collector.register('svc'));
    for (let s = 0; s < 120; s++) oneSecond(20);
    expect(anomalies, 'no episode before the slowdown').to.deep.equal([]);
    while (anomalies.length === 0 && second() < 140) oneSecond(100);

    const raised = anomalies.find(a => a.kind === 'latency');
    expect(raised, 'a latency episode').not.to.equal(undefined);
    const atRaise = secondsClosedIn(
      raised!.startMillis,
      raised!.timestampMillis
    );
    expect(atRaise.length, 'buckets that raised it').to.be.at.least(1);
    expect(ids(raised!.examples)).to.deep.equal(
      expectedExamples(calls, atRaise, false)
    );
    expect(raised!.examples).to.have.length(PER_EPISODE);
    for (const example of raised!.examples) {
      expect(example.outcome).to.equal(CallOutcome.SUCCESS);
      expect(example.timestampMillis).to.be.within(
        raised!.startMillis,
        raised!.timestampMillis
      );
    }
    // Every example is a span the SDK sampled and exported.
    await tracerProvider.forceFlush();
    const exported = new Set(
      spans.getFinishedSpans().map(s => s.spanContext().spanId)
    );
    for (const example of raised!.examples)
      expect(exported.has(example.spanId), example.spanId).to.equal(true);

    // Held: the slowdown goes on; snapshot and health show the examples so far.
    for (let s = 0; s < 10; s++) oneSecond(100);
    const held = secondsClosedIn(raised!.startMillis, Date.now());
    const snapshot = collector.getSnapshot('svc')!;
    const latency = snapshot.anomalies.find(a => a.kind === 'latency')!;
    expect(ids(latency.episode!.examples)).to.deep.equal(
      expectedExamples(calls, held, false)
    );
    // Each episode under way names its first example in its health reason.
    const reasons = collector.getHealth('svc')!.reasons;
    const slowest = expectedExamples(calls, held, false)[0];
    expect(
      reasons.filter(
        r =>
          r.startsWith('latency anomaly') &&
          r.endsWith(`e.g. trace ${slowest.traceId}`)
      ),
      'the latency reason names the slowest trace'
    ).to.have.length(1);
    for (const anomaly of snapshot.anomalies.filter(a => a.episode))
      expect(
        reasons.some(r =>
          r.endsWith(`e.g. trace ${anomaly.episode!.examples[0].traceId}`)
        ),
        anomaly.kind
      ).to.equal(true);

    // Back to normal: the end event has the examples of the whole episode.
    while (!ends.some(e => e.kind === 'latency') && second() < 400)
      oneSecond(20);
    const ended = ends.find(e => e.kind === 'latency')!;
    expect(ended, 'the episode ended').not.to.equal(undefined);
    const whole = secondsClosedIn(
      raised!.startMillis,
      ended.timestampMillis - 1000
    );
    expect(ids(ended.examples)).to.deep.equal(
      expectedExamples(calls, whole, false)
    );

    // And as log records, with the same trace ids.
    await loggerProvider.forceFlush();
    const records = logs.getFinishedLogRecords();
    const start = records.find(
      r =>
        r.eventName === semconv.EVENT_ANOMALY_START &&
        r.attributes[semconv.ATTR_ANOMALY_KIND] === 'latency'
    )!;
    expect(start.attributes[semconv.ATTR_NAME]).to.equal('svc');
    expect(start.attributes[semconv.ATTR_ANOMALY_SCORE]).to.equal(
      raised!.score
    );
    expect(start.attributes[semconv.ATTR_EXAMPLE_TRACE_IDS]).to.deep.equal(
      raised!.examples.map(e => e.traceId)
    );
    expect(start.attributes[semconv.ATTR_EXAMPLE_SPAN_IDS]).to.deep.equal(
      raised!.examples.map(e => e.spanId)
    );
    const end = records.find(
      r =>
        r.eventName === semconv.EVENT_ANOMALY_END &&
        r.attributes[semconv.ATTR_ANOMALY_KIND] === 'latency'
    )!;
    expect(end.attributes[semconv.ATTR_EXAMPLE_TRACE_IDS]).to.deep.equal(
      ended.examples.map(e => e.traceId)
    );
    expect(end.attributes[semconv.ATTR_ANOMALY_END_REASON]).to.equal(
      ended.reason
    );
    expect(end.hrTime[0] * 1000 + end.hrTime[1] / 1e6).to.equal(
      ended.timestampMillis
    );
  });

  it('an episode accepted as the new normal ends with the examples it held', () => {
    const oneSecond = latencyTraffic(collector.register('svc'));
    for (let s = 0; s < 120; s++) oneSecond(20);
    while (!anomalies.some(a => a.kind === 'latency') && second() < 140)
      oneSecond(100);
    const raised = anomalies.find(a => a.kind === 'latency')!;
    for (let s = 0; s < 4; s++) oneSecond(100);
    const underWay = collector
      .getSnapshot('svc')!
      .anomalies.filter(a => a.active)
      .map(a => a.kind)
      .sort();
    expect(underWay).to.include('latency');
    const acceptedAt = Date.now();
    expect(collector.acceptNewNormal('svc')).to.equal(underWay.length);
    expect(ends.map(e => e.kind).sort()).to.deep.equal(underWay);
    expect(
      collector.getSnapshot('svc')!.anomalies.filter(a => a.active)
    ).to.deep.equal([]);
    oneSecond(100); // health is judged at the next close
    expect(
      collector.getHealth('svc')!.reasons.filter(r => r.includes('anomaly'))
    ).to.deep.equal([]);
    const accepted = ends.find(e => e.kind === 'latency')!;
    expect(accepted.reason).to.equal('accepted');
    expect(ids(accepted.examples)).to.deep.equal(
      expectedExamples(
        calls,
        secondsClosedIn(raised.startMillis, acceptedAt),
        false
      )
    );
  });

  it('calls in unsampled spans or in none leave no examples and no entries', () => {
    const breaker = collector.register('untraced');
    for (let s = 0; s < 130; s++) {
      for (let i = 0; i < 20; i++) {
        const slow = s >= 120;
        const durationMillis = slow ? 200 + i : 20 + (i % 5);
        traced(
          i % 2 ? unsampledTracer : undefined,
          { outcome: CallOutcome.SUCCESS, durationMillis },
          () => breaker.recordCall(CallOutcome.SUCCESS, durationMillis)
        );
      }
      clock.tick(1000);
    }
    const raised = anomalies.find(a => a.kind === 'latency');
    expect(raised, 'the slowdown is still raised').not.to.equal(undefined);
    expect(raised!.examples).to.deep.equal([]);
    expect(
      collector.getHealth('untraced')!.reasons.some(r => r.includes('trace'))
    ).to.equal(false);
  });

  it('an error rate episode of a real cockatiel breaker names its newest failed calls', async () => {
    const policy = cockatiel.circuitBreaker(cockatiel.handleAll, {
      halfOpenAfter: 60_000,
      breaker: new cockatiel.ConsecutiveBreaker(1_000_000),
    });
    instrumentCockatiel(policy, { collector, name: 'payments' });
    let n = 0;
    /** One second of 20 calls, every `failEvery`th failing; sampled spans for two in three. */
    const oneSecond = async (failEvery: number) => {
      for (let i = 0; i < 20; i++, n++) {
        const fail = n % failEvery === 0;
        const tracer = n % 3 === 2 ? unsampledTracer : sampledTracer;
        await traced(
          tracer,
          {
            outcome: fail ? CallOutcome.FAILURE : CallOutcome.SUCCESS,
            durationMillis: 0,
          },
          () =>
            policy
              .execute(async () => {
                if (fail) throw new Error('downstream failed');
                return 'ok';
              })
              .catch(() => undefined)
        );
      }
      clock.tick(1000);
    };
    // Durations are real (sub-millisecond, noisy): only the error rate counts here.
    const errorRate = () => anomalies.filter(a => a.kind === 'error_rate');
    for (let s = 0; s < 120; s++) await oneSecond(100);
    expect(errorRate()).to.deep.equal([]);
    while (errorRate().length === 0 && second() < 140) await oneSecond(3);
    const raised = anomalies.find(a => a.kind === 'error_rate');
    expect(raised, 'an error rate episode').not.to.equal(undefined);
    const seconds = secondsClosedIn(
      raised!.startMillis,
      raised!.timestampMillis
    );
    const expected = expectedExamples(calls, seconds, true);
    expect(expected.length, 'failed calls in sampled spans').to.be.at.least(
      PER_BUCKET
    );
    expect(
      raised!.examples.map(({ traceId, spanId }) => ({ traceId, spanId }))
    ).to.deep.equal(
      expected.map(({ traceId, spanId }) => ({ traceId, spanId }))
    );
    for (const example of raised!.examples)
      expect(example.outcome).to.equal(CallOutcome.FAILURE);
    // Held for 5 s more: the newest failed calls of all its buckets.
    for (let s = 0; s < 5; s++) await oneSecond(3);
    const held = collector
      .getSnapshot('payments')!
      .anomalies.find(a => a.kind === 'error_rate')!.episode!;
    expect(held.examples.map(e => e.spanId)).to.deep.equal(
      expectedExamples(
        calls,
        secondsClosedIn(raised!.startMillis, Date.now()),
        true
      ).map(e => e.spanId)
    );
    expect(held.examples).to.have.length(PER_EPISODE);
  });

  it('a trip of a real opossum breaker is a log record naming the failed calls that led to it', async () => {
    const breaker = new Opossum(
      async (...args: unknown[]) => {
        const fail = args[0];
        if (fail) throw new Error('downstream failed');
        return 'ok';
      },
      {
        errorThresholdPercentage: 50,
        volumeThreshold: 8,
        resetTimeout: 60_000,
      }
    );
    instrumentOpossum(breaker, { collector, name: 'orders' });
    const fire = (tracer: Tracer | undefined, fail: boolean) =>
      traced(
        tracer,
        {
          outcome: fail ? CallOutcome.FAILURE : CallOutcome.SUCCESS,
          durationMillis: 0,
        },
        () => breaker.fire(fail).catch(() => undefined)
      );
    clock.tick(5000);
    await fire(sampledTracer, false);
    await fire(sampledTracer, false);
    await fire(undefined, true);
    await fire(unsampledTracer, true);
    await fire(sampledTracer, false);
    for (let i = 0; i < 8; i++) await fire(sampledTracer, true);
    await loggerProvider.forceFlush();
    const trips = logs
      .getFinishedLogRecords()
      .filter(r => r.eventName === semconv.EVENT_TRIP);
    expect(trips, 'one trip').to.have.length(1);
    const [trip] = trips;
    expect(trip.attributes[semconv.ATTR_NAME]).to.equal('orders');
    expect(trip.hrTime[0] * 1000 + trip.hrTime[1] / 1e6).to.equal(Date.now());
    const failedSampled = calls.filter(
      c => c.outcome === CallOutcome.FAILURE && c.sampled
    );
    expect(trip.attributes[semconv.ATTR_EXAMPLE_TRACE_IDS]).to.deep.equal(
      failedSampled.slice(0, PER_BUCKET).map(c => c.traceId)
    );
    expect(trip.attributes[semconv.ATTR_EXAMPLE_SPAN_IDS]).to.deep.equal(
      failedSampled.slice(0, PER_BUCKET).map(c => c.spanId)
    );
  });
});

describe('example calls in the duration histogram', () => {
  /** What the collector recorded into its histograms, with the span of each record's context. */
  interface Recorded {
    value: number;
    outcome: unknown;
    spanId: string | undefined;
    traceId: string | undefined;
  }

  /**
   * The SDK's MeterProvider, its histograms' record() calls noted on the
   * way (the SDK keeps no exemplars yet, so the context is read here).
   */
  function notingProvider(records: Recorded[]): MeterProviderApi {
    const real = new MeterProvider();
    return {
      getMeter: (name, version, options) => {
        const meter = real.getMeter(name, version, options);
        return new Proxy(meter, {
          get(target, key) {
            if (key !== 'createHistogram')
              return (Reflect.get(target, key) as () => unknown).bind(target);
            return (...args: Parameters<typeof meter.createHistogram>) => {
              const histogram = target.createHistogram(...args);
              return {
                record(value: number, attributes?: Attributes, ctx?: Context) {
                  const span = ctx && trace.getSpanContext(ctx);
                  records.push({
                    value,
                    outcome: attributes?.[semconv.ATTR_OUTCOME],
                    spanId: span?.spanId,
                    traceId: span?.traceId,
                  });
                  histogram.record(value, attributes, ctx);
                },
              };
            };
          },
        });
      },
    };
  }

  it('replays the example calls with their own duration in their span, and every call once', () => {
    expect(
      context.setGlobalContextManager(
        new AsyncLocalStorageContextManager().enable()
      )
    ).to.equal(true);
    const clock = fakeTime();
    const records: Recorded[] = [];
    const collector = new CircuitBreakerMetrics({
      meterProvider: notingProvider(records),
      durationHistogram: true,
    });
    try {
      const tracer = new TracerProvider({
        sampler: new AlwaysOnSampler(),
      }).getTracer('histogram-test');
      const breaker = collector.register('svc');
      const calls: {
        outcome: CallOutcome;
        millis: number;
        spanId: string;
        traceId: string;
      }[] = [];
      const random = seededRandom(3);
      for (let i = 0; i < 40; i++) {
        const outcome = i % 4 === 3 ? CallOutcome.FAILURE : CallOutcome.SUCCESS;
        const millis = Math.round(1000 * (5 + 100 * random())) / 1000;
        tracer.startActiveSpan('call', span => {
          calls.push({ outcome, millis, ...span.spanContext() });
          breaker.recordCall(outcome, millis);
          span.end();
        });
      }
      clock.tick(1000);
      const bySpan = records.filter(r => r.spanId !== undefined);
      const successes = calls.filter(c => c.outcome === CallOutcome.SUCCESS);
      const failures = calls.filter(c => c.outcome === CallOutcome.FAILURE);
      const slowest = [...successes]
        .sort((a, b) => b.millis - a.millis)
        .slice(0, 3);
      const expected = [...slowest, ...failures.slice(0, 3)].map(c => ({
        value: c.millis / 1000,
        outcome: c.outcome,
        spanId: c.spanId,
        traceId: c.traceId,
      }));
      const key = (r: { spanId?: string }) => r.spanId!;
      expect(
        [...bySpan].sort((a, b) => key(a).localeCompare(key(b)))
      ).to.deep.equal(
        [...expected].sort((a, b) => key(a).localeCompare(key(b)))
      );
      // Every call recorded once, the examples among them.
      expect(
        records.filter(r => r.outcome === CallOutcome.SUCCESS)
      ).to.have.length(successes.length);
      expect(
        records.filter(r => r.outcome === CallOutcome.FAILURE)
      ).to.have.length(failures.length);
    } finally {
      collector.dispose();
      clock.restore();
      context.disable();
    }
  });
});

describe('log records of episodes: options', () => {
  it('are off without a loggerProvider, and checked when given', () => {
    expect(
      () =>
        new CircuitBreakerMetrics({
          meterProvider: new MeterProvider(),
          loggerProvider: {} as never,
        })
    ).to.throw(TypeError, /option 'loggerProvider' must be a LoggerProvider/);
    expect(
      () =>
        new CircuitBreakerMetrics({
          meterProvider: new MeterProvider(),
          logEvents: 'yes' as never,
        })
    ).to.throw(TypeError, /option 'logEvents' must be a boolean/);
  });

  it('go to the global LoggerProvider of the logs API with logEvents: true', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const clock = fakeTime();
    const collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      logEvents: true,
    });
    try {
      // Set after the collector: the logs API's proxy follows it.
      const sdkProvider = new LoggerProvider({
        processors: [new SimpleLogRecordProcessor({ exporter })],
      });
      expect(logsApi.setGlobalLoggerProvider(sdkProvider)).to.equal(true);
      collector.register('global').recordStateChange(BreakerState.OPEN);
      await sdkProvider.forceFlush();
      expect(
        exporter.getFinishedLogRecords().map(r => [r.eventName, r.body])
      ).to.deep.equal([[semconv.EVENT_TRIP, 'breaker global opened']]);
    } finally {
      logsApi.disable();
      collector.dispose();
      clock.restore();
    }
  });

  it('a logger that throws is reported through diag, never to the breaker library', () => {
    const warnings = captureWarnings();
    const collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      loggerProvider: {
        getLogger: () => ({
          emit: () => {
            throw new Error('logger down');
          },
        }),
      },
    });
    try {
      const breaker = collector.register('throwing');
      expect(() => breaker.recordStateChange(BreakerState.OPEN)).not.to.throw();
      expect(warnings.filter(w => w.includes('logger down'))).to.have.length(1);
    } finally {
      diag.disable();
      collector.dispose();
    }
  });
});

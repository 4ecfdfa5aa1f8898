import { ClockFollowingInterval } from './ClockFollowingInterval';
import { createNoopMeter, metrics } from '@opentelemetry/api';
import type { Attributes, MeterProvider } from '@opentelemetry/api';
import {
  EventEmitter,
  OptionReader,
  RateLimitedDiag,
  SlicedTask,
} from '@datapunk/otel-common';
import type { Event } from '@datapunk/otel-common';
import { Breaker } from './Breaker';
import type { BreakerRecorder, ClosedBucket, StateProbe } from './Breaker';
import { BreakerInstruments } from './BreakerInstruments';
import { resolveOptions } from './options';
import type { ResolvedOptions } from './options';
import { BreakerState } from './types';
import type { CallOutcome } from './types';
import { OUTCOMES } from './window/tallies';
import type { EndedAnomaly } from './analyzer/AnomalyStatus';
import type {
  AnomalyEndEvent,
  AnomalyEvent,
  BreakerHealth,
  BucketCloseEvent,
  BreakerSnapshot,
  CircuitBreakerMetricsOptions,
  HealthChangeEvent,
  PatternEvent,
} from './types';
import { VERSION } from './version';

const METER_NAME = '@datapunk/otel-circuit-breaker';
const MAX_NAME_LENGTH = 256;

/**
 * Collects the calls, states and analysis of many circuit breakers and
 * emits them as OpenTelemetry instruments on the meter
 * `@datapunk/otel-circuit-breaker`. One per process or per group.
 *
 * Each breaker keeps a rolling window of buckets (60 × 1 s by default);
 * one shared, unref'd timer closes every breaker's bucket at once, runs its
 * analysis (anomalies, trends, trip patterns, resource baselines, health)
 * and feeds the counters and the duration histogram. A call itself only
 * updates the current bucket: no clock read, no SDK call.
 *
 * Attach breakers with `instrumentOpossum`, `instrumentCockatiel`, the
 * auto-instrumentations, or {@link register} for any other breaker.
 */
export class CircuitBreakerMetrics {
  private readonly _options: ResolvedOptions;
  private readonly _diag = new RateLimitedDiag('CircuitBreakerMetrics');
  private readonly _breakers = new Map<string, Breaker>();
  private readonly _anomaly = new EventEmitter<AnomalyEvent>(
    'onAnomaly',
    this._diag
  );
  private readonly _anomalyEnd = new EventEmitter<AnomalyEndEvent>(
    'onAnomalyEnd',
    this._diag
  );
  private readonly _healthChange = new EventEmitter<HealthChangeEvent>(
    'onHealthChange',
    this._diag
  );
  private readonly _pattern = new EventEmitter<PatternEvent>(
    'onPattern',
    this._diag
  );
  private readonly _bucketClose = new EventEmitter<BucketCloseEvent>(
    'onBucketClose',
    this._diag
  );
  private _instruments: BreakerInstruments;
  /** The provider the instruments are on; followed while it is the global one. */
  private _provider: MeterProvider;
  private _followsGlobal: boolean;
  private _warnedNoProvider = false;
  /** Closes every breaker's bucket each bucketMillis while any is attached. */
  private readonly _ticker: ClockFollowingInterval;
  /** The bucket closes of the last tick, while they run. */
  private _closing: SlicedTask<void> | undefined;
  private _rejectedInputs = 0;
  private _disposed = false;

  /** An anomaly episode started: latency, error rate, an SLO breach or a resource over its baseline. */
  readonly onAnomaly: Event<AnomalyEvent> = this._anomaly.event;
  /** An anomaly episode ended: back within bounds, or its level accepted as the new normal. */
  readonly onAnomalyEnd: Event<AnomalyEndEvent> = this._anomalyEnd.event;
  /** A breaker's health status changed. */
  readonly onHealthChange: Event<HealthChangeEvent> = this._healthChange.event;
  /** Periodic tripping or flapping started or ended. */
  readonly onPattern: Event<PatternEvent> = this._pattern.event;
  /**
   * A breaker's bucket closed (every bucketMillis while it is attached),
   * with its call counts: for live views such as the dashboard.
   */
  readonly onBucketClose: Event<BucketCloseEvent> = this._bucketClose.event;

  /** @throws {TypeError|RangeError} naming the option and the rule, for invalid options. */
  constructor(options: CircuitBreakerMetricsOptions = {}) {
    this._options = resolveOptions(options);
    this._followsGlobal = this._options.meterProvider === undefined;
    this._provider = this._options.meterProvider ?? metrics.getMeterProvider();
    this._instruments = this._createInstruments(this._provider);
    this._ticker = new ClockFollowingInterval(
      () => this._closeBuckets(),
      this._options.bucketMillis
    );
  }

  /** Names of the breakers reported now. */
  get breakers(): string[] {
    return [...this._breakers.values()].map(b => b.name);
  }

  /** Inputs dropped so far: unknown outcomes or states, bad latencies or resources, reports after dispose. */
  get rejectedInputs(): number {
    return this._rejectedInputs;
  }

  /**
   * Starts reporting a breaker by hand, for any library: returns the
   * recorder its events go to. A name already taken (with the same
   * attributes) gets a suffix, `name#2`, so breakers never share data.
   * @throws {TypeError} for an empty or too long name, or attributes that are not an object.
   */
  register(
    name: string,
    options: { attributes?: Attributes } = {}
  ): BreakerRecorder {
    return this._attach(name, options.attributes ?? {}, BreakerState.CLOSED);
  }

  /**
   * As {@link register}, for the adapters (through adapters/attach.ts, not
   * part of the API): with the breaker's current state and a probe the
   * window reconciles the state with at every bucket close.
   */
  private _attach(
    name: string,
    attributes: Attributes,
    state: BreakerState,
    probe?: StateProbe
  ): Breaker {
    const reader = new OptionReader(
      'CircuitBreakerMetrics.register',
      { name, attributes },
      ['name', 'attributes']
    );
    const text = reader.string('name');
    if (text.length > MAX_NAME_LENGTH)
      reader.fail(
        'name',
        `must be at most ${MAX_NAME_LENGTH} characters long`,
        text
      );
    reader.object('attributes', {}, 'an object of attribute values');
    if (this._disposed)
      throw new Error('CircuitBreakerMetrics: register() after dispose()');
    const merged = { ...this._options.attributes, ...attributes };
    const unique = this._uniqueName(text, merged);
    const breaker = new Breaker(unique, merged, this._options, state, {
      reject: (reason, detail) => this._rejectInput(reason, detail),
      onStateChange: (b, to) => this._instruments.transition(b, to),
      onDispose: b => this._forget(b),
      probe,
    });
    this._breakers.set(keyOf(unique, merged), breaker);
    this._ticker.start();
    return breaker;
  }

  /** The health of a breaker as of its last bucket close; undefined if unknown. */
  getHealth(name: string, attributes?: Attributes): BreakerHealth | undefined {
    return this._find(name, attributes)?.health;
  }

  /** A breaker's window, state and analysis; undefined if unknown. */
  getSnapshot(
    name: string,
    attributes?: Attributes
  ): BreakerSnapshot | undefined {
    return this._find(name, attributes)?.snapshot(Date.now());
  }

  /**
   * Someone decided that a breaker's current levels are normal: every
   * anomaly episode under way ends as accepted (an onAnomalyEnd event with
   * reason 'accepted'), and its baseline starts over from the new level.
   * Returns how many ended; 0 for an unknown breaker.
   */
  acceptNewNormal(name: string, attributes?: Attributes): number {
    const breaker = this._find(name, attributes);
    if (breaker === undefined) return 0;
    const now = Date.now();
    const ended = breaker.acceptNewNormal(now);
    this._emitEnded(breaker, ended, now);
    return ended.length;
  }

  /**
   * Sends the instruments to another MeterProvider from now on (and stops
   * following the global one).
   */
  setMeterProvider(meterProvider: MeterProvider): void {
    this._followsGlobal = false;
    this._useProvider(meterProvider);
  }

  /** Stops the timer and detaches every breaker. Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    for (const breaker of [...this._breakers.values()]) breaker.dispose();
    this._ticker.stop();
    this._instruments.dispose();
  }

  private _useProvider(meterProvider: MeterProvider): void {
    this._instruments.dispose();
    this._provider = meterProvider;
    this._instruments = this._createInstruments(meterProvider);
  }

  /**
   * The OTel API has no proxy for the global MeterProvider: instruments
   * made before one is registered stay no-ops. So a collector on the global
   * provider checks it at every tick, moves to a new one, and says once
   * while there is none that its metrics go nowhere.
   */
  private _followGlobalProvider(): void {
    const global = metrics.getMeterProvider();
    if (global !== this._provider) this._useProvider(global);
    else if (!this._warnedNoProvider && isNoop(global)) {
      this._warnedNoProvider = true;
      this._diag.warn(
        'no_provider',
        'no global MeterProvider is registered: breaker metrics go nowhere until one is (e.g. by setupMetrics()); they follow it from then on'
      );
    }
  }

  private _createInstruments(meterProvider: MeterProvider): BreakerInstruments {
    return new BreakerInstruments(
      meterProvider.getMeter(METER_NAME, VERSION),
      this._options,
      () => this._breakers.values()
    );
  }

  private _uniqueName(name: string, attributes: Attributes): string {
    if (!this._breakers.has(keyOf(name, attributes))) return name;
    let n = 2;
    while (this._breakers.has(keyOf(`${name}#${n}`, attributes))) n++;
    this._diag.warn(
      `duplicate:${name}`,
      `another breaker is already named '${name}': reporting this one as '${name}#${n}'`
    );
    return `${name}#${n}`;
  }

  private _find(name: string, attributes?: Attributes): Breaker | undefined {
    if (attributes !== undefined)
      return this._breakers.get(
        keyOf(name, { ...this._options.attributes, ...attributes })
      );
    for (const breaker of this._breakers.values())
      if (breaker.name === name) return breaker;
    return undefined;
  }

  private _forget(breaker: Breaker): void {
    this._instruments.flush(breaker, breaker.closeLastBucket());
    this._breakers.delete(keyOf(breaker.name, breaker.attributes));
    if (this._breakers.size === 0) this._ticker.stop();
  }

  private _rejectInput(reason: string, detail: string): void {
    this._rejectedInputs++;
    this._diag.warn(reason, `dropped: ${detail}`);
  }

  /**
   * The shared tick: every breaker's bucket closes at the same time, a few
   * ms of breakers at a time (a large fleet never blocks the loop for long;
   * a few dozen close at once, within the tick). Closes the last tick left
   * unfinished are finished first: under fake timers ticked in a loop, with
   * no turn of the event loop between ticks, nothing is skipped.
   */
  private _closeBuckets(): void {
    this._closing?.finish();
    if (this._followsGlobal) this._followGlobalProvider();
    const now = Date.now();
    const breakers = [...this._breakers.values()];
    const closeAll = function* (this: CircuitBreakerMetrics) {
      for (const breaker of breakers) {
        if (!breaker.disposed) this._closeBucket(breaker, now);
        yield;
      }
    };
    this._closing = new SlicedTask(closeAll.call(this));
    this._closing
      .run()
      .catch(error =>
        this._diag.error('tick', `closing buckets failed: ${String(error)}`)
      );
  }

  private _closeBucket(breaker: Breaker, now: number): void {
    try {
      const closed = breaker.closeBucket(now);
      this._instruments.flush(breaker, closed);
      this._emit(breaker, closed, now);
    } catch (error) {
      this._diag.error(
        'tick',
        `closing the bucket of '${breaker.name}' failed: ${String(error)}`
      );
    }
  }

  private _emit(breaker: Breaker, closed: ClosedBucket, now: number): void {
    const { name, attributes } = breaker;
    if (this._bucketClose.size > 0) {
      const calls = {} as Record<CallOutcome, number>;
      OUTCOMES.forEach((outcome, i) => (calls[outcome] = closed.outcomes[i]));
      this._bucketClose.emit({
        breaker: name,
        attributes,
        calls,
        bucketMillis: this._options.bucketMillis,
        timestampMillis: now,
      });
    }
    for (const started of closed.changes.started) {
      this._anomaly.emit({
        breaker: name,
        attributes,
        kind: started.kind,
        resource: started.resource,
        direction: started.direction,
        score: started.score,
        value: started.value,
        baseline: { mean: started.mean, stddev: started.stddev },
        startMillis: started.episode?.startMillis ?? now,
        timestampMillis: now,
      });
    }
    this._emitEnded(breaker, closed.changes.ended, now);
    for (const { pattern, active } of closed.changes.patterns) {
      this._pattern.emit({
        breaker: name,
        attributes,
        pattern,
        active,
        trips: breaker.analysis.trips,
        timestampMillis: now,
      });
    }
    const health = closed.changes.health;
    if (health) {
      this._healthChange.emit({
        breaker: name,
        attributes,
        previous: health.previous,
        current: health.current.status,
        reasons: health.current.reasons,
        timestampMillis: now,
      });
    }
  }

  private _emitEnded(
    breaker: Breaker,
    ended: readonly EndedAnomaly[],
    now: number
  ): void {
    for (const { kind, resource, episode } of ended) {
      this._anomalyEnd.emit({
        breaker: breaker.name,
        attributes: breaker.attributes,
        kind,
        resource,
        direction: episode.direction,
        reason: episode.endReason,
        startMillis: episode.startMillis,
        endMillis: episode.endMillis,
        durationMillis: episode.endMillis - episode.startMillis,
        peakScore: episode.peakScore,
        timestampMillis: now,
      });
    }
  }
}

const NOOP_METER = createNoopMeter().constructor;

/** Whether a provider is the API's no-op one, which it returns while none is registered. */
function isNoop(provider: MeterProvider): boolean {
  return provider.getMeter(METER_NAME).constructor === NOOP_METER;
}

function keyOf(name: string, attributes: Attributes): string {
  return JSON.stringify([
    name,
    Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ]);
}

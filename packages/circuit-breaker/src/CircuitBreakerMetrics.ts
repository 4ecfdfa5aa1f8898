import type { Attributes, MeterProvider } from '@opentelemetry/api';
import {
  AttributeReader,
  OptionReader,
  describeValue,
  RateLimitedDiag,
} from '@datapunk/otel-common';
import type { AttributeReading, Event } from '@datapunk/otel-common';
import { Breaker } from './Breaker';
import type { BreakerRecorder, StateProbe } from './Breaker';
import { BreakerEvents } from './collector/BreakerEvents';
import {
  BreakerRegistry,
  REGISTER,
  checkName,
} from './collector/BreakerRegistry';
import { BucketCloseTicker } from './collector/BucketCloseTicker';
import { EpisodeLog } from './collector/EpisodeLog';
import { MeterProviderFollower } from './collector/MeterProviderFollower';
import { copyOptions, readAttributeOption, resolveOptions } from './options';
import type { ResolvedOptions } from './options';
import { BreakerState } from './types';
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
  private readonly _registry = new BreakerRegistry(this._diag);
  private readonly _attributeReader: AttributeReader;
  private readonly _events: BreakerEvents;
  private readonly _meter: MeterProviderFollower;
  private readonly _ticker: BucketCloseTicker;
  private readonly _log: EpisodeLog | undefined;
  private _rejectedInputs = 0;
  private _truncatedAttributes = 0;
  private _disposed = false;

  /** An anomaly episode started: latency, error rate, an SLO breach or a resource over its baseline. */
  readonly onAnomaly: Event<AnomalyEvent>;
  /** An anomaly episode ended: back within bounds, or its level accepted as the new normal. */
  readonly onAnomalyEnd: Event<AnomalyEndEvent>;
  /** A breaker's health status changed. */
  readonly onHealthChange: Event<HealthChangeEvent>;
  /** Periodic tripping or flapping started or ended. */
  readonly onPattern: Event<PatternEvent>;
  /**
   * A breaker's bucket closed (every bucketMillis while it is attached),
   * with its call counts: for live views such as the dashboard.
   */
  readonly onBucketClose: Event<BucketCloseEvent>;

  /** @throws {TypeError|RangeError} naming the option and the rule, for invalid options. */
  constructor(options: CircuitBreakerMetricsOptions = {}) {
    this._options = resolveOptions(options);
    this._attributeReader = new AttributeReader(this._options.attributeBounds);
    this._events = new BreakerEvents(this._options.bucketMillis, this._diag);
    this.onAnomaly = this._events.onAnomaly;
    this.onAnomalyEnd = this._events.onAnomalyEnd;
    this.onHealthChange = this._events.onHealthChange;
    this.onPattern = this._events.onPattern;
    this.onBucketClose = this._events.onBucketClose;
    const loggerProvider = this._options.loggerProvider;
    if (loggerProvider !== undefined) {
      const log = (this._log = new EpisodeLog(loggerProvider, this._diag));
      this.onAnomaly(event => log.started(event));
      this.onAnomalyEnd(event => log.ended(event));
    }
    this._meter = new MeterProviderFollower(
      this._options,
      () => this._registry.values(),
      this._diag
    );
    this._ticker = new BucketCloseTicker(
      this._options.bucketMillis,
      {
        breakers: () => this._registry.values(),
        before: () => this._meter.follow(),
        close: (breaker, now) => {
          const closed = breaker.closeBucket(now);
          this._meter.instruments.flush(breaker, closed);
          this._events.closed(breaker, closed, now);
        },
      },
      this._diag
    );
  }

  /** Names of the breakers reported now. */
  get breakers(): string[] {
    return [...this._registry.values()].map(b => b.name);
  }

  /**
   * Inputs dropped so far: unknown outcomes or states, bad latencies or
   * resources, reports after dispose, values from a breaker library that
   * could not be read (a throwing getter or Proxy), lookups by attributes
   * that are no attribute set.
   */
  get rejectedInputs(): number {
    return this._rejectedInputs;
  }

  /**
   * Attribute values cut to `limits.maxAttributeValueLength`, and
   * attributes dropped past `limits.maxAttributesPerSeries` or
   * `limits.maxAttributeBytesPerSeries`, so far.
   */
  get truncatedAttributes(): number {
    return this._truncatedAttributes;
  }

  /**
   * Starts reporting a breaker by hand, for any library: returns the
   * recorder its events go to. A name already taken (with the same
   * attributes) gets a suffix, `name#2`, so breakers never share data; the
   * suffix of a disposed duplicate is given again.
   * @throws {TypeError|RangeError} for an empty or too long name, attributes
   *   that are not OpenTelemetry attribute values, or an unknown option.
   */
  register(
    name: string,
    options: { attributes?: Attributes } = {}
  ): BreakerRecorder {
    checkName(name);
    const reader = new OptionReader(
      REGISTER,
      copyOptions(REGISTER, options ?? undefined),
      ['attributes']
    );
    return this._attach(
      name,
      this._readAttributes(reader),
      BreakerState.CLOSED
    );
  }

  /**
   * The `attributes` option of `reader`, checked, read and bounded by this
   * collector's limits (also for the adapters, through adapters/attach.ts).
   * @throws {TypeError} naming the entry at fault.
   */
  private _readAttributes(reader: OptionReader): Attributes {
    return this._count(
      readAttributeOption(reader, 'attributes', this._attributeReader)
    ).attributes;
  }

  /**
   * As {@link register}, for the adapters (through adapters/attach.ts, not
   * part of the API): with attributes read already (_readAttributes), the
   * breaker's current state and a probe the window reconciles the state
   * with at every bucket close.
   */
  private _attach(
    name: string,
    attributes: Attributes,
    state: BreakerState,
    probe?: StateProbe
  ): Breaker {
    const text = checkName(name);
    if (this._disposed)
      throw new Error('CircuitBreakerMetrics: register() after dispose()');
    const merged = this._count(this._merged(attributes)!);
    const breaker = this._registry.add(
      text,
      merged.key,
      unique =>
        new Breaker(
          unique,
          Object.freeze(merged.attributes),
          this._options,
          state,
          {
            reject: (reason, detail) => this._rejectInput(reason, detail),
            onStateChange: (b, to) => this._stateChanged(b, to),
            onDispose: b => this._forget(b),
            probe,
          }
        )
    );
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
    this._events.ended(breaker, ended, now);
    return ended.length;
  }

  /**
   * Sends the instruments to another MeterProvider from now on (and stops
   * following the global one).
   */
  setMeterProvider(meterProvider: MeterProvider): void {
    this._meter.setMeterProvider(meterProvider);
  }

  /** Stops the timer and detaches every breaker. Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    for (const breaker of [...this._registry.values()]) breaker.dispose();
    this._ticker.stop();
    this._meter.dispose();
  }

  /** A breaker's set: this collector's attributes and its own (read already), bounded together. */
  private _merged(own: Attributes): AttributeReading | undefined {
    return this._attributeReader.read({ ...this._options.attributes, ...own });
  }

  private _count(reading: AttributeReading): AttributeReading {
    const cut = reading.truncated + reading.dropped;
    if (cut > 0) {
      this._truncatedAttributes += cut;
      this._diag.warn(
        'attribute_limits',
        `${cut} breaker attributes cut or dropped at the collector's limits (${JSON.stringify(this._options.attributeBounds)})`
      );
    }
    return reading;
  }

  private _find(name: unknown, attributes?: unknown): Breaker | undefined {
    if (typeof name !== 'string') return undefined;
    if (attributes !== undefined) {
      const own = this._attributeReader.read(attributes);
      const merged =
        own !== undefined && own.invalid === 0
          ? this._merged(own.attributes)
          : undefined;
      if (merged === undefined) {
        this._rejectInput(
          'invalid_attributes',
          `a breaker looked up by ${describeValue(attributes)}, which is no set of attribute values`
        );
        return undefined;
      }
      return this._registry.get(name, merged.key);
    }
    return this._registry.first(name);
  }

  private _stateChanged(breaker: Breaker, to: BreakerState): void {
    this._meter.instruments.transition(breaker, to);
    if (to === BreakerState.OPEN && this._log !== undefined) {
      const now = Date.now();
      this._log.tripped(breaker, breaker.failedSoFar(now), now);
    }
  }

  private _forget(breaker: Breaker): void {
    this._meter.instruments.flush(breaker, breaker.closeLastBucket());
    this._registry.remove(breaker);
    if (this._registry.size === 0) this._ticker.stop();
  }

  private _rejectInput(reason: string, detail: string): void {
    this._rejectedInputs++;
    this._diag.warn(reason, `dropped: ${detail}`);
  }
}

import { ROOT_CONTEXT, TraceFlags, ValueType, trace } from '@opentelemetry/api';
import type {
  Attributes,
  BatchObservableResult,
  Counter,
  Histogram,
  Meter,
  MetricOptions,
  Observable,
} from '@opentelemetry/api';
import type { BreakerResults, ClosedBucket } from './BreakerResults';
import { OUTCOMES } from './window/tallies';
import { STATES } from './StateTimeline';
import type { ResolvedOptions } from './options';
import { exampleRanks } from './evidence/exampleRanks';
import * as semconv from './semconv';
import type { AnomalyKind, BreakerState, HealthStatus } from './types';

const HEALTH: readonly HealthStatus[] = [
  'healthy',
  'degraded',
  'unhealthy',
  'unknown',
];
const SCORED: readonly AnomalyKind[] = ['latency', 'latency_p99', 'error_rate'];

/** Attribute sets of one breaker, made once: recording never builds objects. */
class BreakerAttributes {
  readonly base: Attributes;
  readonly outcomes: Attributes[];
  readonly states: Map<BreakerState, Attributes>;
  readonly health: Map<HealthStatus, Attributes>;
  readonly quantiles: Attributes[];
  private readonly _variants = new Map<string, Attributes>();

  constructor(breaker: BreakerResults, quantiles: readonly number[]) {
    const base = { ...breaker.attributes, [semconv.ATTR_NAME]: breaker.name };
    this.base = base;
    this.outcomes = OUTCOMES.map(outcome => ({
      ...base,
      [semconv.ATTR_OUTCOME]: outcome,
    }));
    this.states = new Map(
      STATES.map(state => [state, { ...base, [semconv.ATTR_STATE]: state }])
    );
    this.health = new Map(
      HEALTH.map(status => [status, { ...base, [semconv.ATTR_HEALTH]: status }])
    );
    this.quantiles = quantiles.map(q => ({
      ...base,
      [semconv.ATTR_QUANTILE]: q,
    }));
  }

  /** A set with one more attribute, cached (kinds and resources come from small sets). */
  with(key: string, value: string): Attributes {
    const id = `${key}\u0000${value}`;
    let attributes = this._variants.get(id);
    if (attributes === undefined) {
      attributes = { ...this.base, [key]: value };
      this._variants.set(id, attributes);
    }
    return attributes;
  }
}

function described(
  description: string,
  unit: string,
  valueType?: ValueType
): MetricOptions {
  return valueType === undefined
    ? { description, unit }
    : { description, unit, valueType };
}

/**
 * The OpenTelemetry instruments of every breaker of a collector. Counters
 * are fed once per bucket close, never per call (an SDK record costs
 * ~0.5–1 µs, more than a whole cockatiel call); the optional duration
 * histogram is replayed from the bucket's sketches then, off the call path;
 * gauges are observed in one batch callback when the SDK collects.
 */
export class BreakerInstruments {
  private readonly _options: ResolvedOptions;
  private readonly _breakers: () => Iterable<BreakerResults>;
  private readonly _attributes = new WeakMap<
    BreakerResults,
    BreakerAttributes
  >();
  private readonly _calls: Counter;
  private readonly _fallbacks: Counter;
  private readonly _healthCheckFailures: Counter;
  private readonly _duration: Histogram | undefined;
  private readonly _transitions: Counter;
  private readonly _anomalies: Counter;
  private readonly _observables: Record<string, Observable>;
  private readonly _meter: Meter;
  private readonly _callback: (result: BatchObservableResult) => void;

  constructor(
    meter: Meter,
    options: ResolvedOptions,
    breakers: () => Iterable<BreakerResults>
  ) {
    this._meter = meter;
    this._options = options;
    this._breakers = breakers;
    const int = ValueType.INT;
    this._calls = meter.createCounter(
      semconv.METRIC_CALLS,
      described('Calls through the breaker, by outcome', '{call}', int)
    );
    this._fallbacks = meter.createCounter(
      semconv.METRIC_FALLBACKS,
      described('Fallbacks that answered instead of a call', '{call}', int)
    );
    this._healthCheckFailures = meter.createCounter(
      semconv.METRIC_HEALTH_CHECK_FAILURES,
      described('Health checks of the breaker that failed', '{check}', int)
    );
    this._duration = options.durationHistogram
      ? meter.createHistogram(
          semconv.METRIC_CALL_DURATION,
          described(
            'Duration of calls through the breaker, by outcome (each within 1.1%)',
            's'
          )
        )
      : undefined;
    this._transitions = meter.createCounter(
      semconv.METRIC_TRANSITIONS,
      described('State transitions, by the state entered', '{transition}', int)
    );
    this._anomalies = meter.createCounter(
      semconv.METRIC_ANOMALIES,
      described('Anomalies raised, by kind', '{anomaly}', int)
    );
    const gauge = (
      name: string,
      description: string,
      unit: string,
      valueType?: ValueType
    ) =>
      meter.createObservableGauge(
        name,
        described(description, unit, valueType)
      );
    this._observables = {
      state: gauge(
        semconv.METRIC_STATE,
        'Whether the breaker is in each state (1) or not (0)',
        '1',
        int
      ),
      stateTime: meter.createObservableCounter(
        semconv.METRIC_STATE_TIME,
        described('Time spent in each state', 's')
      ),
      failureRate: gauge(
        semconv.METRIC_FAILURE_RATE,
        'Share of calls that ran and failed, over the rolling window',
        '1'
      ),
      latency: gauge(
        semconv.METRIC_LATENCY,
        'Call duration quantiles over the rolling window',
        's'
      ),
      inFlight: gauge(
        semconv.METRIC_IN_FLIGHT,
        'Calls in flight',
        '{call}',
        int
      ),
      anomalyScore: gauge(
        semconv.METRIC_ANOMALY_SCORE,
        'Latest z-score of each watched signal',
        '1'
      ),
      anomalyActive: gauge(
        semconv.METRIC_ANOMALY_ACTIVE,
        'Whether an anomaly episode of each watched signal is under way (1) or not (0)',
        '1',
        int
      ),
      health: gauge(
        semconv.METRIC_HEALTH,
        'Whether the breaker is in each health status (1) or not (0)',
        '1',
        int
      ),
      latencyTrend: gauge(
        semconv.METRIC_LATENCY_TREND,
        'Slope of the mean latency of successful calls over the trend window',
        's/s'
      ),
      failureRateTrend: gauge(
        semconv.METRIC_FAILURE_RATE_TREND,
        'Slope of the failure rate over the trend window',
        '1/s'
      ),
      tripPeriod: gauge(
        semconv.METRIC_TRIP_PERIOD,
        'Mean interval between recent trips',
        's'
      ),
      tripRegularity: gauge(
        semconv.METRIC_TRIP_REGULARITY,
        'Coefficient of variation of recent trip intervals (0 clockwork, 1 random)',
        '1'
      ),
      tripRate: gauge(
        semconv.METRIC_TRIP_RATE,
        'Trips in the last hour',
        '{trip}/h'
      ),
      resource: gauge(
        semconv.METRIC_RESOURCE,
        'Latest sample of each resource the breaker reports',
        '1'
      ),
    };
    this._callback = result => this._observe(result);
    meter.addBatchObservableCallback(
      this._callback,
      Object.values(this._observables)
    );
  }

  /** Adds a closed bucket: calls, fallbacks, health checks, durations, anomalies. */
  flush(breaker: BreakerResults, closed: ClosedBucket): void {
    const attributes = this._of(breaker);
    closed.outcomes.forEach((count, i) => {
      if (count > 0) this._calls.add(count, attributes.outcomes[i]);
    });
    if (closed.fallbacks > 0)
      this._fallbacks.add(closed.fallbacks, attributes.base);
    if (closed.healthCheckFailures > 0)
      this._healthCheckFailures.add(
        closed.healthCheckFailures,
        attributes.base
      );
    this._replayDurations(closed, attributes);
    for (const started of closed.changes.started) {
      this._anomalies.add(
        1,
        attributes.with(semconv.ATTR_ANOMALY_KIND, started.kind)
      );
    }
  }

  transition(breaker: BreakerResults, state: BreakerState): void {
    this._transitions.add(1, this._of(breaker).states.get(state)!);
  }

  dispose(): void {
    this._meter.removeBatchObservableCallback(
      this._callback,
      Object.values(this._observables)
    );
  }

  /**
   * Records the bucket's latencies into the duration histogram, per outcome:
   * the sketch's value at each rank 0…n−1 (q = (k + ½)/(n − 1) lands on rank
   * k), so counts are exact and each value within the sketch's relative
   * error. An example call takes its rank with its own duration and its
   * span's context, for an SDK that keeps exemplars to link the bucket to
   * its trace.
   */
  private _replayDurations(
    closed: ClosedBucket,
    attributes: BreakerAttributes
  ): void {
    const histogram = this._duration;
    if (histogram === undefined) return;
    closed.latencies.forEach((sketch, i) => {
      const n = sketch?.count ?? 0;
      if (n === 0) return;
      const qs = new Array<number>(n);
      for (let k = 0; k < n - 1; k++) qs[k] = (k + 0.5) / (n - 1);
      qs[n - 1] = 1;
      const replayed = sketch!.quantiles(qs);
      const examples = exampleRanks(
        sketch!,
        replayed,
        closed.examples,
        OUTCOMES[i]
      );
      replayed.forEach((millis, rank) => {
        const example = examples.get(rank);
        if (example === undefined)
          histogram.record(millis / 1000, attributes.outcomes[i]);
        else
          histogram.record(
            example.durationMillis / 1000,
            attributes.outcomes[i],
            trace.setSpanContext(ROOT_CONTEXT, {
              traceId: example.traceId,
              spanId: example.spanId,
              traceFlags: TraceFlags.SAMPLED,
            })
          );
      });
    });
  }

  private _of(breaker: BreakerResults): BreakerAttributes {
    let attributes = this._attributes.get(breaker);
    if (attributes === undefined) {
      attributes = new BreakerAttributes(breaker, this._options.quantiles);
      this._attributes.set(breaker, attributes);
    }
    return attributes;
  }

  private _observe(result: BatchObservableResult): void {
    const now = Date.now();
    const o = this._observables;
    for (const breaker of this._breakers()) {
      const attributes = this._of(breaker);
      for (const [state, attrs] of attributes.states)
        result.observe(o.state, state === breaker.state ? 1 : 0, attrs);
      const seconds = breaker.secondsInState(now);
      for (const [state, attrs] of attributes.states)
        result.observe(o.stateTime, seconds[state], attrs);
      const failureRate = breaker.failureRate();
      if (Number.isFinite(failureRate))
        result.observe(o.failureRate, failureRate, attributes.base);
      breaker.windowPercentiles().forEach((millis, i) => {
        if (Number.isFinite(millis))
          result.observe(o.latency, millis / 1000, attributes.quantiles[i]);
      });
      result.observe(o.inFlight, breaker.inFlight, attributes.base);
      const health = breaker.health.status;
      for (const [status, attrs] of attributes.health)
        result.observe(o.health, status === health ? 1 : 0, attrs);
      for (const anomaly of breaker.anomalies) {
        const kind = attributes.with(semconv.ATTR_ANOMALY_KIND, anomaly.kind);
        if (anomaly.kind !== 'resource')
          result.observe(o.anomalyActive, anomaly.active ? 1 : 0, kind);
        if (SCORED.includes(anomaly.kind) && Number.isFinite(anomaly.score))
          result.observe(o.anomalyScore, anomaly.score, kind);
      }
      const { latency, errorRate } = breaker.trends();
      result.observe(
        o.latencyTrend,
        latency.slopePerSecond / 1000,
        attributes.base
      );
      result.observe(
        o.failureRateTrend,
        errorRate.slopePerSecond,
        attributes.base
      );
      const trips = breaker.trips;
      if (Number.isFinite(trips.periodMillis))
        result.observe(
          o.tripPeriod,
          trips.periodMillis / 1000,
          attributes.base
        );
      if (Number.isFinite(trips.regularity))
        result.observe(o.tripRegularity, trips.regularity, attributes.base);
      result.observe(o.tripRate, trips.tripsPerHour, attributes.base);
      for (const [resource, { value }] of Object.entries(breaker.resources())) {
        result.observe(
          o.resource,
          value,
          attributes.with(semconv.ATTR_RESOURCE, resource)
        );
      }
    }
  }
}

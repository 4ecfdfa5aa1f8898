import { EventEmitter } from '@datapunk/otel-common';
import type { Event, RateLimitedDiag } from '@datapunk/otel-common';
import type { EndedAnomaly } from '../analyzer/AnomalyStatus';
import type { BreakerResults, ClosedBucket } from '../BreakerResults';
import type {
  AnomalyEndEvent,
  AnomalyEvent,
  BucketCloseEvent,
  CallOutcome,
  HealthChangeEvent,
  PatternEvent,
} from '../types';
import { OUTCOMES } from '../window/tallies';

/**
 * A collector's five events, and what a bucket close (or an accepted new
 * normal) makes of them: each change the analysis reported at that close,
 * as the public event shape.
 */
export class BreakerEvents {
  private readonly _bucketMillis: number;
  private readonly _anomaly: EventEmitter<AnomalyEvent>;
  private readonly _anomalyEnd: EventEmitter<AnomalyEndEvent>;
  private readonly _healthChange: EventEmitter<HealthChangeEvent>;
  private readonly _pattern: EventEmitter<PatternEvent>;
  private readonly _bucketClose: EventEmitter<BucketCloseEvent>;

  readonly onAnomaly: Event<AnomalyEvent>;
  readonly onAnomalyEnd: Event<AnomalyEndEvent>;
  readonly onHealthChange: Event<HealthChangeEvent>;
  readonly onPattern: Event<PatternEvent>;
  readonly onBucketClose: Event<BucketCloseEvent>;

  constructor(bucketMillis: number, diag: RateLimitedDiag) {
    this._bucketMillis = bucketMillis;
    this._anomaly = new EventEmitter<AnomalyEvent>('onAnomaly', diag);
    this._anomalyEnd = new EventEmitter<AnomalyEndEvent>('onAnomalyEnd', diag);
    this._healthChange = new EventEmitter<HealthChangeEvent>(
      'onHealthChange',
      diag
    );
    this._pattern = new EventEmitter<PatternEvent>('onPattern', diag);
    this._bucketClose = new EventEmitter<BucketCloseEvent>(
      'onBucketClose',
      diag
    );
    this.onAnomaly = this._anomaly.event;
    this.onAnomalyEnd = this._anomalyEnd.event;
    this.onHealthChange = this._healthChange.event;
    this.onPattern = this._pattern.event;
    this.onBucketClose = this._bucketClose.event;
  }

  /** The events of one bucket close of `breaker`, at `now`. */
  closed(breaker: BreakerResults, closed: ClosedBucket, now: number): void {
    const { name, attributes } = breaker;
    if (this._bucketClose.size > 0) {
      const calls = {} as Record<CallOutcome, number>;
      OUTCOMES.forEach((outcome, i) => (calls[outcome] = closed.outcomes[i]));
      this._bucketClose.emit({
        breaker: name,
        attributes,
        calls,
        bucketMillis: this._bucketMillis,
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
        examples: [...started.examples],
      });
    }
    this.ended(breaker, closed.changes.ended, now);
    for (const { pattern, active } of closed.changes.patterns) {
      this._pattern.emit({
        breaker: name,
        attributes,
        pattern,
        active,
        trips: breaker.trips,
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

  /** Episodes of `breaker` that ended at `now`: cleared, or accepted as the new normal. */
  ended(
    breaker: BreakerResults,
    ended: readonly EndedAnomaly[],
    now: number
  ): void {
    for (const { kind, resource, episode, examples } of ended) {
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
        examples: [...examples],
      });
    }
  }
}

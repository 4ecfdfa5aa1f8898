import type {
  AnomalyEndEvent,
  AnomalyEvent,
  CircuitBreakerMetrics,
  PatternEvent,
} from '@datapunk/otel-circuit-breaker';
import type { Fault, FaultKind } from './FaultSchedule';

/** Something the breaker collector reported, at seconds into the run. */
export interface Signal {
  breaker: string;
  seconds: number;
  what: string;
  /** Which kind of fault this signal is evidence of. */
  evidenceOf: FaultKind[];
}

/** An anomaly episode, seconds into the run; `toSeconds` unset while it lasts. */
export interface EpisodeRecord {
  breaker: string;
  kind: string;
  fromSeconds: number;
  toSeconds?: number;
  reason?: 'cleared' | 'accepted';
}

/** Seconds after a fault ends during which its after-effects are not false alarms. */
const AFTERMATH_SECONDS = 10;

/**
 * Everything CircuitBreakerMetrics raised during the run: anomalies and
 * trip patterns from its events, trips from the breakers' transition logs.
 */
export class Detections {
  readonly signals: Signal[] = [];
  readonly episodes: EpisodeRecord[] = [];
  /** Each breaker's health status, second by second (index = seconds into the run). */
  readonly health = new Map<string, string[]>();
  private readonly _seenTrips = new Map<string, number>();
  private readonly _metrics: CircuitBreakerMetrics;
  private readonly _startedMillis: number;

  constructor(metrics: CircuitBreakerMetrics, startedMillis: number) {
    this._metrics = metrics;
    this._startedMillis = startedMillis;
    metrics.onAnomaly(e => this._onAnomaly(e));
    metrics.onAnomalyEnd(e => this._onAnomalyEnd(e));
    metrics.onPattern(e => this._onPattern(e));
  }

  /** Samples every breaker's health; called every second. */
  pollHealth(seconds: number): void {
    for (const name of this._metrics.breakers) {
      const statuses = this.health.get(name) ?? [];
      statuses[seconds] = this._metrics.getHealth(name)!.status;
      this.health.set(name, statuses);
    }
  }

  /**
   * How much of a fault the breaker read as not healthy: of all of it, and
   * of what remained after it was first flagged.
   */
  coverageOf(fault: Fault): { all: number; afterFirstFlag: number } {
    const statuses = (this.health.get(fault.route) ?? []).slice(
      Math.ceil(fault.fromSeconds),
      Math.floor(fault.toSeconds)
    );
    const flagged = (s: string | undefined) =>
      s !== undefined && s !== 'healthy';
    const first = statuses.findIndex(flagged);
    const share = (part: (string | undefined)[]) =>
      part.length === 0 ? 0 : part.filter(flagged).length / part.length;
    return {
      all: share(statuses),
      afterFirstFlag: first < 0 ? 0 : share(statuses.slice(first)),
    };
  }

  /** The newest signal of `breaker`, if any. */
  latest(breaker: string): Signal | undefined {
    for (let i = this.signals.length - 1; i >= 0; i--)
      if (this.signals[i].breaker === breaker) return this.signals[i];
    return undefined;
  }

  /** Reads new trips from the breakers' transition logs; called every second. */
  pollTrips(): void {
    for (const name of this._metrics.breakers) {
      const { transitions } = this._metrics.getSnapshot(name)!;
      const seen = this._seenTrips.get(name) ?? 0;
      this._seenTrips.set(name, transitions.trips);
      if (transitions.trips === seen) continue;
      const opened = transitions.recent.filter(t => t.to === 'open');
      const newest = opened[opened.length - 1];
      this.signals.push({
        breaker: name,
        seconds: this._seconds(newest?.timestampMillis ?? Date.now()),
        what: `tripped (open) ×${transitions.trips - seen}`,
        evidenceOf: ['fail', 'flap'],
      });
    }
  }

  /** The first signal that is evidence of `fault`, during it or just after. */
  detectionOf(fault: Fault): Signal | undefined {
    return this.signals.find(
      s =>
        s.breaker === fault.route &&
        s.evidenceOf.includes(fault.kind) &&
        s.seconds >= fault.fromSeconds &&
        s.seconds <= fault.toSeconds + 2
    );
  }

  /** Anomalies raised where no fault was injected (nor had just ended). */
  falseAlarms(faults: readonly Fault[]): Signal[] {
    return this.signals.filter(
      s =>
        s.what.startsWith('anomaly') &&
        !faults.some(
          f =>
            f.route === s.breaker &&
            s.seconds >= f.fromSeconds &&
            s.seconds <= f.toSeconds + AFTERMATH_SECONDS
        )
    );
  }

  private _onAnomaly(e: AnomalyEvent): void {
    const arrow =
      e.direction === 'up' ? '↑' : e.direction === 'down' ? '↓' : '';
    const rising = e.direction !== 'down';
    this.episodes.push({
      breaker: e.breaker,
      kind: kindOf(e),
      fromSeconds: this._seconds(e.startMillis),
    });
    this.signals.push({
      breaker: e.breaker,
      seconds: this._seconds(e.timestampMillis),
      what: `anomaly ${e.kind}${e.resource ? ` ${e.resource}` : ''} ${arrow} (score ${e.score.toFixed(1)})`,
      evidenceOf: !rising
        ? []
        : e.kind.startsWith('latency')
          ? ['slow']
          : e.kind.startsWith('error_rate')
            ? ['fail', 'flap']
            : [],
    });
  }

  private _onAnomalyEnd(e: AnomalyEndEvent): void {
    const kind = kindOf(e);
    const open = this.episodes.find(
      episode =>
        episode.breaker === e.breaker &&
        episode.kind === kind &&
        episode.toSeconds === undefined
    );
    if (open) {
      open.toSeconds = this._seconds(e.endMillis);
      open.reason = e.reason;
    }
  }

  private _onPattern(e: PatternEvent): void {
    this.signals.push({
      breaker: e.breaker,
      seconds: this._seconds(e.timestampMillis),
      what: `pattern ${e.pattern} ${e.active ? 'started' : 'ended'}`,
      evidenceOf: e.active && e.pattern === 'flapping' ? ['flap'] : [],
    });
  }

  private _seconds(millis: number): number {
    return (millis - this._startedMillis) / 1000;
  }
}

/** An anomaly's kind, with its resource for resources: 'resource in_flight'. */
function kindOf(e: { kind: string; resource?: string }): string {
  return e.resource ? `${e.kind} ${e.resource}` : e.kind;
}

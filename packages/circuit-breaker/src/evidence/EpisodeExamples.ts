import { NO_EXAMPLES } from '../analyzer/AnomalyStatus';
import type { AnomalyStatus, EndedAnomaly } from '../analyzer/AnomalyStatus';
import type { EpisodeEvidence } from '../analyzer/EpisodeEvidence';
import { CallOutcome } from '../types';
import type { AnomalyKind, TraceExample } from '../types';
import type { ExampleWindow } from './ExampleWindow';

/** Example calls an episode keeps. */
export const EXAMPLES_PER_EPISODE = 5;
/** Kinds whose examples are failed calls; every other kind's are slow successful ones. */
const FAILURE_KINDS: ReadonlySet<AnomalyKind> = new Set<AnomalyKind>([
  'error_rate',
  'error_rate_slo',
]);

/**
 * The example calls of each episode under way, from the buckets that raised
 * it (those that closed from its start on) and those that held it (each
 * close while it lasts), {@link EXAMPLES_PER_EPISODE} at most: for an error
 * rate episode the newest failed calls, for any other the slowest
 * successful ones (latency, p99 and the latency SLO are about successful
 * calls; calls in flight and other resources pile up when calls slow down).
 */
export class EpisodeExamples implements EpisodeEvidence {
  private readonly _window: ExampleWindow;
  private readonly _episodes = new Map<string, TraceExample[]>();

  constructor(window: ExampleWindow) {
    this._window = window;
  }

  attach(
    started: readonly AnomalyStatus[],
    anomalies: Iterable<AnomalyStatus>,
    ended: readonly EndedAnomaly[],
    nowMillis: number
  ): void {
    for (const anomaly of ended) {
      const key = keyOf(anomaly);
      anomaly.examples = this._episodes.get(key) ?? [];
      this._episodes.delete(key);
    }
    for (const anomaly of started) {
      const kept: TraceExample[] = [];
      offer(
        kept,
        anomaly.kind,
        this._window.since(anomaly.episode!.startMillis)
      );
      this._episodes.set(keyOf(anomaly), kept);
    }
    let closed: readonly TraceExample[] | undefined;
    for (const anomaly of anomalies) {
      if (!anomaly.active) {
        anomaly.examples = NO_EXAMPLES;
        continue;
      }
      const key = keyOf(anomaly);
      let kept = this._episodes.get(key);
      if (kept === undefined) this._episodes.set(key, (kept = []));
      if (!started.includes(anomaly))
        offer(kept, anomaly.kind, (closed ??= this._window.since(nowMillis)));
      anomaly.examples = [...kept];
    }
  }
}

function keyOf({
  kind,
  resource,
}: {
  kind: AnomalyKind;
  resource?: string;
}): string {
  return resource === undefined ? kind : `${kind}:${resource}`;
}

/** Offers `candidates` (oldest first) to `kept` by `kind`'s rule. */
function offer(
  kept: TraceExample[],
  kind: AnomalyKind,
  candidates: readonly TraceExample[]
): void {
  const failures = FAILURE_KINDS.has(kind);
  for (const example of candidates) {
    if ((example.outcome === CallOutcome.SUCCESS) === failures) continue;
    if (failures) {
      kept.push(example);
      if (kept.length > EXAMPLES_PER_EPISODE) kept.shift();
      continue;
    }
    // Slowest first; an equal one after those already kept.
    let at = kept.length;
    while (at > 0 && kept[at - 1].durationMillis < example.durationMillis) at--;
    if (at < EXAMPLES_PER_EPISODE) {
      kept.splice(at, 0, example);
      if (kept.length > EXAMPLES_PER_EPISODE) kept.pop();
    }
  }
}

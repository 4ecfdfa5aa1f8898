import type { AnomalyStatus, EndedAnomaly } from './AnomalyStatus';

/**
 * Example calls of anomaly episodes, kept apart from the analysis (the
 * calls are the breaker's): at every close, before health is judged, the
 * analyzer hands over the episodes that started, those under way and those
 * that ended, and this sets their `examples`.
 */
export interface EpisodeEvidence {
  attach(
    started: readonly AnomalyStatus[],
    anomalies: Iterable<AnomalyStatus>,
    ended: readonly EndedAnomaly[],
    nowMillis: number
  ): void;
}

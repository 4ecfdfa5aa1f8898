import type { AnomalyKind, TraceExample } from '../types';
import type { Direction, Episode } from './EpisodeTracker';

/** The examples of an episode before its evidence is attached, or of no episode. */
export const NO_EXAMPLES: readonly TraceExample[] = Object.freeze([]);

/** One watched signal as of the last bucket close. */
export interface AnomalyStatus {
  kind: AnomalyKind;
  /** For kind 'resource': which resource. */
  resource?: string;
  /** The latest score: z against the baseline, or value / SLO for a breach. */
  score: number;
  /** Whether an episode is under way. */
  active: boolean;
  /** The latest observation's direction, when out of line. */
  direction: Direction | undefined;
  value: number;
  /** The baseline (or the SLO) the value was held against. */
  mean: number;
  stddev: number;
  /** The episode under way, if any. */
  episode: Episode | undefined;
  /** Calls of the episode under way, by their trace (set by the breaker's EpisodeEvidence); none without one. */
  examples: readonly TraceExample[];
}

/** An episode that ended at this close, with the signal it was about. */
export interface EndedAnomaly {
  kind: AnomalyKind;
  resource?: string;
  episode: Required<Episode>;
  /** Calls of the episode, by their trace (set by the breaker's EpisodeEvidence). */
  examples: readonly TraceExample[];
}

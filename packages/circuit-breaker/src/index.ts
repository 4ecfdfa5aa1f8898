import * as semconv from './semconv';

export { CircuitBreakerMetrics } from './CircuitBreakerMetrics';
export type { BreakerRecorder } from './Breaker';
export { instrumentOpossum } from './adapters/instrumentOpossum';
export type { OpossumLike } from './adapters/instrumentOpossum';
export { instrumentCockatiel } from './adapters/instrumentCockatiel';
export type {
  CockatielEvent,
  CockatielLike,
} from './adapters/instrumentCockatiel';
export { AnomalyDetector } from './analyzer/AnomalyDetector';
export type {
  AnomalyDetectorOptions,
  AnomalyResult,
} from './analyzer/AnomalyDetector';
export type {
  Direction,
  Episode,
  EpisodeEnd,
  EpisodePhase,
} from './analyzer/EpisodeTracker';
export type { Trend } from './analyzer/TrendEstimator';
export type { TripPatternState } from './analyzer/TripPatterns';
export { BreakerState, CallOutcome } from './types';
export type {
  AnomalyEndEvent,
  AnomalyEvent,
  AnomalyKind,
  BreakerHealth,
  BreakerSnapshot,
  BreakerTransitions,
  BucketCloseEvent,
  CircuitBreakerMetricsOptions,
  CockatielInstrumentOptions,
  HealthChangeEvent,
  HealthStatus,
  InstrumentOptions,
  LoggerProviderLike,
  LogRecordLike,
  PatternEvent,
  TraceExample,
  Transition,
} from './types';
export { VERSION } from './version';
export { semconv };

import type { CircuitBreakerMetrics } from '@datapunk/otel-circuit-breaker';
import type { RetentionMeterProvider } from '@datapunk/otel-metrics';
import type { Detections } from './Detections';
import type { FaultSchedule } from './FaultSchedule';

/** What the live view and the final report read from. */
export interface DemoRun {
  schedule: FaultSchedule;
  breakers: CircuitBreakerMetrics;
  metrics: RetentionMeterProvider;
  detections: Detections;
  startedMillis: number;
}

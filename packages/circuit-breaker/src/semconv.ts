/**
 * Names of this package's instruments and attributes. There are no
 * OpenTelemetry semantic conventions for circuit breakers yet
 * (semantic-conventions#2355), so keys are namespaced `circuit_breaker.*`
 * as the OTel Java failsafe instrumentation does.
 */
export const ATTR_NAME = 'circuit_breaker.name';
export const ATTR_STATE = 'circuit_breaker.state';
export const ATTR_OUTCOME = 'circuit_breaker.outcome';
export const ATTR_ANOMALY_KIND = 'circuit_breaker.anomaly.kind';
export const ATTR_HEALTH = 'circuit_breaker.health';
export const ATTR_RESOURCE = 'circuit_breaker.resource';
export const ATTR_QUANTILE = 'quantile';

export const METRIC_CALLS = 'circuit_breaker.calls';
export const METRIC_FALLBACKS = 'circuit_breaker.fallbacks';
export const METRIC_HEALTH_CHECK_FAILURES =
  'circuit_breaker.health_check.failures';
export const METRIC_CALL_DURATION = 'circuit_breaker.call.duration';
export const METRIC_TRANSITIONS = 'circuit_breaker.transitions';
export const METRIC_STATE = 'circuit_breaker.state';
export const METRIC_STATE_TIME = 'circuit_breaker.state.time';
export const METRIC_FAILURE_RATE = 'circuit_breaker.failure_rate';
export const METRIC_LATENCY = 'circuit_breaker.latency';
export const METRIC_IN_FLIGHT = 'circuit_breaker.in_flight';
export const METRIC_ANOMALIES = 'circuit_breaker.anomalies';
export const METRIC_ANOMALY_SCORE = 'circuit_breaker.anomaly.score';
export const METRIC_ANOMALY_ACTIVE = 'circuit_breaker.anomaly.active';
export const METRIC_HEALTH = 'circuit_breaker.health';
export const METRIC_LATENCY_TREND = 'circuit_breaker.latency.trend';
export const METRIC_FAILURE_RATE_TREND = 'circuit_breaker.failure_rate.trend';
export const METRIC_TRIP_PERIOD = 'circuit_breaker.trips.period';
export const METRIC_TRIP_REGULARITY = 'circuit_breaker.trips.regularity';
export const METRIC_TRIP_RATE = 'circuit_breaker.trips.rate';
export const METRIC_RESOURCE = 'circuit_breaker.resource.usage';

/** Log record event names (episodes and trips as events, for annotations). */
export const EVENT_ANOMALY_START = 'circuit_breaker.anomaly.start';
export const EVENT_ANOMALY_END = 'circuit_breaker.anomaly.end';
export const EVENT_TRIP = 'circuit_breaker.trip';
export const ATTR_ANOMALY_DIRECTION = 'circuit_breaker.anomaly.direction';
export const ATTR_ANOMALY_SCORE = 'circuit_breaker.anomaly.score';
export const ATTR_ANOMALY_PEAK_SCORE = 'circuit_breaker.anomaly.peak_score';
export const ATTR_ANOMALY_END_REASON = 'circuit_breaker.anomaly.end_reason';
export const ATTR_ANOMALY_START_TIME = 'circuit_breaker.anomaly.start_time';
export const ATTR_EXAMPLE_TRACE_IDS = 'circuit_breaker.example.trace_ids';
export const ATTR_EXAMPLE_SPAN_IDS = 'circuit_breaker.example.span_ids';

import type { Attributes, HrTime } from '@opentelemetry/api';

/**
 * A measurement kept beside a data point, as OTLP carries it: the value,
 * when it was measured, the measurement's attributes that are not on the
 * point, and the span it was measured in. Points carry them in an optional
 * `exemplars` array (see {@link ExemplarCarrier}).
 */
export type Exemplar = {
  readonly filteredAttributes: Attributes;
  readonly value: number;
  /** Hex, 32 digits (OTLP/JSON's form). */
  readonly traceId?: string;
  /** Hex, 16 digits. */
  readonly spanId?: string;
} & (
  | { readonly timeMillis: number; readonly hrTime?: undefined }
  | { readonly hrTime: HrTime; readonly timeMillis?: undefined }
);

/** A data point that may carry exemplars (the SDK's DataPoint has no field for them). */
export interface ExemplarCarrier {
  /** Measurements kept beside the point, exposed on counters and histogram buckets. */
  readonly exemplars?: readonly Exemplar[];
}

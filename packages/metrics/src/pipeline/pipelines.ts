import type { MetricPipeline } from './MetricPipeline';

/**
 * The pipeline behind each retention reader and provider, for the parts of
 * this package that work on either (the Instruments facade recording
 * directly, the Prometheus scrape): an internal link, not public API.
 */
const PIPELINES = new WeakMap<object, MetricPipeline>();

export function registerPipeline(
  owner: object,
  pipeline: MetricPipeline
): void {
  PIPELINES.set(owner, pipeline);
}

/** The pipeline of a RetentionMetricReader or RetentionMeterProvider; undefined for anything else. */
export function pipelineOf(owner: unknown): MetricPipeline | undefined {
  return typeof owner === 'object' && owner !== null
    ? PIPELINES.get(owner)
    : undefined;
}

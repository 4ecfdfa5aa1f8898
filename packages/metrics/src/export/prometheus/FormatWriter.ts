import type { FamilyPoint, MetricFamily } from './families';

/**
 * How one exposition format writes a scrape that arrives in batches: each
 * family's points into an output of its own as they come, then the body,
 * family after family (a format wants a family's samples together, and a
 * batch holds points of several families).
 */
export interface FormatWriter<Output> {
  /** A family's output, made at its first point. */
  open(family: MetricFamily): Output;
  /** Writes one point of `family` into its output. */
  point(output: Output, family: MetricFamily, point: FamilyPoint): void;
  /** The body: each family with its output, in order, as chunks. */
  close(families: readonly (readonly [MetricFamily, Output])[]): Buffer[];
}

import type { HistogramChoice } from '../provider/ViewRegistry';
import { MetricKind } from '../types';
import { AlignedHistogramBucketExemplarReservoir } from './AlignedHistogramBucketExemplarReservoir';
import type { ExemplarBudget } from './ExemplarBudget';
import type { ExemplarReservoir } from './ExemplarReservoir';
import { SimpleFixedSizeExemplarReservoir } from './SimpleFixedSizeExemplarReservoir';

/** The most exemplars an exponential histogram's point keeps (the specification's twenty). */
const EXPONENTIAL_RESERVOIR_SIZE = 20;

/**
 * The specification's default reservoir for a stream ("Exemplar
 * defaults"): explicit-bucket histograms with more than one bucket one
 * exemplar per bucket; exponential histograms (every histogram a View does
 * not make explicit) min(20, maxBuckets) sampled uniformly; everything else
 * one.
 */
export function defaultReservoir(
  kind: MetricKind,
  histogram: HistogramChoice | undefined,
  maxBuckets: number,
  budget: ExemplarBudget,
  random: () => number = () => Math.random()
): ExemplarReservoir {
  if (kind === MetricKind.HISTOGRAM && histogram?.type === 'explicit') {
    if (histogram.boundaries.length > 0)
      return new AlignedHistogramBucketExemplarReservoir(
        histogram.boundaries,
        budget,
        random
      );
  } else if (kind === MetricKind.HISTOGRAM) {
    return new SimpleFixedSizeExemplarReservoir(
      Math.min(EXPONENTIAL_RESERVOIR_SIZE, maxBuckets),
      budget,
      random
    );
  }
  return new SimpleFixedSizeExemplarReservoir(1, budget, random);
}

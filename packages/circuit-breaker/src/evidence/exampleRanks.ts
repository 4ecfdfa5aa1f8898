import { getMapping } from '@datapunk/otel-sketch';
import type { ExponentialSketch } from '@datapunk/otel-sketch';
import type { CallOutcome, TraceExample } from '../types';

const NONE: ReadonlyMap<number, TraceExample> = new Map();

/**
 * Where each example call of `outcome` stands among a sketch's replayed
 * values (its value at each rank, ascending, as `sketch.quantiles` gives
 * them): the first rank not taken yet whose value is that of the call's
 * bucket. Every
 * call was recorded into the sketch, so its bucket has a rank for it; one
 * that finds none (its duration is not in this sketch) is left out.
 */
export function exampleRanks(
  sketch: ExponentialSketch,
  replayed: readonly number[],
  examples: readonly TraceExample[],
  outcome: CallOutcome
): ReadonlyMap<number, TraceExample> {
  if (examples.length === 0) return NONE;
  const ranks = new Map<number, TraceExample>();
  const mapping = getMapping(sketch.scale);
  for (const example of examples) {
    if (example.outcome !== outcome) continue;
    const millis = example.durationMillis;
    const value =
      millis === 0
        ? 0
        : Math.min(
            Math.max(mapping.midpoint(mapping.mapToIndex(millis)), sketch.min),
            sketch.max
          );
    let rank = lowerBound(replayed, value);
    while (
      rank < replayed.length &&
      replayed[rank] === value &&
      ranks.has(rank)
    )
      rank++;
    if (rank < replayed.length && replayed[rank] === value)
      ranks.set(rank, example);
    else if (millis === sketch.max && !ranks.has(replayed.length - 1))
      ranks.set(replayed.length - 1, example); // the last rank replays the exact max
  }
  return ranks;
}

/** The first index whose value is ≥ `value`, in ascending `values`. */
function lowerBound(values: readonly number[], value: number): number {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

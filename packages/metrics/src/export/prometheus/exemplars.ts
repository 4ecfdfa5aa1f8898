import type { Exemplar } from '../../exemplars/Exemplar';
import type { LabelNamer, LabelPair } from './labels';

export type { Exemplar, ExemplarCarrier } from '../../exemplars/Exemplar';

/** OpenMetrics' limit on an exemplar's label names and values together, in code points. */
export const MAX_EXEMPLAR_LABEL_CODE_POINTS = 128;

/** An exemplar ready to write: its labels and its time as seconds and nanoseconds. */
export interface ExposedExemplar {
  readonly labels: readonly LabelPair[];
  readonly value: number;
  readonly seconds: number;
  readonly nanos: number;
}

/**
 * The exemplar as Prometheus takes it (spec "Exemplar Conversion"):
 * `trace_id` and `span_id` labels, which win over filtered attributes of
 * the same name; the filtered attributes as labels unless, all together,
 * they would pass OpenMetrics' 128-code-point limit (then none are kept:
 * a partial set would look complete); the measurement's time.
 */
export function exposeExemplar(
  exemplar: Exemplar,
  namer: LabelNamer
): ExposedExemplar {
  const ids: LabelPair[] = [];
  if (exemplar.traceId) ids.push(['trace_id', exemplar.traceId]);
  if (exemplar.spanId) ids.push(['span_id', exemplar.spanId]);
  const taken = new Set(ids.map(([name]) => name));
  const attributes = namer
    .labels(exemplar.filteredAttributes)
    .filter(([name]) => !taken.has(name));
  const all = [...ids, ...attributes].sort(byName);
  const [seconds, nanos] = timeOf(exemplar);
  return {
    labels:
      codePoints(all) <= MAX_EXEMPLAR_LABEL_CODE_POINTS
        ? all
        : ids.sort(byName),
    value: exemplar.value,
    seconds,
    nanos,
  };
}

/** The exemplar measured last, or undefined for none. */
export function latestExemplar(
  exemplars: readonly Exemplar[]
): Exemplar | undefined {
  let latest: Exemplar | undefined;
  for (const exemplar of exemplars)
    if (latest === undefined || millisOf(exemplar) >= millisOf(latest))
      latest = exemplar;
  return latest;
}

/**
 * The latest exemplar of each classic bucket: index i for (b[i-1], b[i]],
 * index `boundaries.length` for +Inf. An exemplar belongs to the bucket its
 * value falls in (OpenMetrics requires it).
 */
export function exemplarsByBucket(
  exemplars: readonly Exemplar[],
  boundaries: readonly number[]
): (Exemplar | undefined)[] {
  const byBucket: (Exemplar | undefined)[] = [];
  for (const exemplar of exemplars) {
    const index = bucketIndex(boundaries, exemplar.value);
    const held = byBucket[index];
    if (held === undefined || millisOf(exemplar) >= millisOf(held))
      byBucket[index] = exemplar;
  }
  return byBucket;
}

/** The first bucket whose upper bound holds `value`; boundaries.length for +Inf. */
export function bucketIndex(
  boundaries: readonly number[],
  value: number
): number {
  let low = 0;
  let high = boundaries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (value <= boundaries[middle]) high = middle;
    else low = middle + 1;
  }
  return low;
}

function timeOf(exemplar: Exemplar): [number, number] {
  if (exemplar.hrTime !== undefined)
    return [exemplar.hrTime[0], exemplar.hrTime[1]];
  const seconds = Math.floor(exemplar.timeMillis / 1000);
  const nanos = Math.round((exemplar.timeMillis - seconds * 1000) * 1e6);
  return [seconds, Math.min(nanos, 999_999_999)];
}

function millisOf(exemplar: Exemplar): number {
  return exemplar.hrTime !== undefined
    ? exemplar.hrTime[0] * 1000 + exemplar.hrTime[1] / 1e6
    : exemplar.timeMillis;
}

function codePoints(labels: readonly LabelPair[]): number {
  let count = 0;
  for (const [name, value] of labels)
    count += [...name].length + [...value].length;
  return count;
}

function byName(a: LabelPair, b: LabelPair): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

import {
  AggregationTemporality,
  DataPointType,
} from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  ExponentialHistogram,
  Histogram,
  MetricData,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import { isSummaryMetricData } from '../SummaryMetricData';
import type { SummaryMetricData, SummaryValue } from '../SummaryMetricData';
import {
  adviceBoundaries,
  explicitBuckets,
  exponentialBuckets,
} from './classicBuckets';
import type { ClassicBuckets } from './classicBuckets';
import type { Exemplar, ExemplarCarrier } from './exemplars';
import { LabelNamer, renderLabels } from './labels';
import type { LabelPair } from './labels';
import { metricName, unitWord } from './names';
import type { NameKind } from './names';

/** A Prometheus metric type; `info` is OpenMetrics' (a gauge elsewhere). */
export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'info';

/** A histogram point: classic buckets, and the exponential one for native exposition. */
export interface HistogramPoint extends ClassicBuckets {
  readonly count: number;
  readonly sum: number | undefined;
  readonly exponential: ExponentialHistogram | undefined;
}

/** A summary point, quantiles ascending within [0, 1]. */
export interface SummaryPoint {
  readonly count: number;
  readonly sum: number;
  readonly quantiles: readonly { quantile: number; value: number }[];
}

/** One series of a family. */
export interface FamilyPoint {
  /** Sorted by name, names unique. */
  readonly labels: readonly LabelPair[];
  /** The labels as the text formats write them, `a="x",b="y"`. */
  readonly labelText: string;
  readonly value: number | HistogramPoint | SummaryPoint;
  /** Only on counters and histograms, the types that expose them. */
  readonly exemplars: readonly Exemplar[];
}

/** Everything of one Prometheus metric name. */
export interface MetricFamily {
  /** The name of its samples: counters end in `_total`, info in `_info`. */
  readonly name: string;
  readonly type: FamilyType;
  readonly help: string;
  /** The unit word (`seconds`), '' for none. */
  readonly unit: string;
  readonly points: FamilyPoint[];
}

export interface FamilyOptions {
  /** Classic boundaries of exponential histograms without advice. */
  readonly histogramBoundaries: readonly number[];
  readonly diag: RateLimitedDiag;
}

/** The names a family's samples take (and OpenMetrics' family name), none of which another may use. */
const SAMPLE_SUFFIXES: Record<FamilyType, readonly string[]> = {
  counter: ['', '_created'],
  gauge: [''],
  histogram: ['', '_bucket', '_count', '_sum', '_created'],
  summary: ['', '_count', '_sum', '_created'],
  info: [''],
};

const NO_EXEMPLARS: readonly Exemplar[] = [];

interface FamilyBuilder extends MetricFamily {
  /** Label texts already in the family: a repeat would be a duplicate series. */
  readonly seen: Set<string>;
}

/** How one OTel metric becomes points of a family; undefined when it cannot be exposed. */
interface Shape {
  readonly type: FamilyType;
  readonly kind: NameKind;
  readonly value: (point: DataPoint<unknown>) => FamilyPoint['value'];
  readonly exemplars: boolean;
}

/**
 * The families of a scrape: the resource as `target_info`, then every
 * metric under its Prometheus name with the scope as `otel_scope_*` labels
 * (the spec's default). Cumulative sums, gauges, both histogram kinds and
 * Summary points are exposed; delta sums and histograms are not (Prometheus
 * takes only cumulative ones) and are reported. Whatever the names and
 * attributes, the result is valid: a metric whose name clashes with a
 * family of another type (or with a family's `_bucket`/`_count`/… samples)
 * is left out, a point whose labels repeat another's in its family too,
 * and a point whose attributes cannot be read; each is reported through
 * diag. Families without points are left out. One step per point.
 */
export function* buildFamilies(
  resourceMetrics: ResourceMetrics,
  options: FamilyOptions
): Generator<void, MetricFamily[], undefined> {
  const { diag } = options;
  const namer = new LabelNamer();
  const families = new Map<string, FamilyBuilder>();
  /** Sample name → the family that owns it. */
  const owners = new Map<string, string>();
  const familyFor = (
    name: string,
    type: FamilyType,
    help: string,
    unit: string
  ): FamilyBuilder | undefined => {
    const existing = families.get(name);
    if (existing) return existing.type === type ? existing : undefined;
    const samples = sampleNames(name, type);
    if (samples.some(sample => owners.has(sample))) return undefined;
    for (const sample of samples) owners.set(sample, name);
    const family: FamilyBuilder = {
      name,
      type,
      help,
      unit,
      points: [],
      seen: new Set(),
    };
    families.set(name, family);
    return family;
  };

  const resource = namer.labels(resourceMetrics.resource.attributes);
  if (resource.length > 0) {
    familyFor('target_info', 'info', 'Target metadata', '')!.points.push({
      labels: resource,
      labelText: renderLabels(resource),
      value: 1,
      exemplars: NO_EXEMPLARS,
    });
  }

  for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
    const scopeLabels: [string, string][] = [['otel.scope.name', scope.name]];
    if (scope.version) scopeLabels.push(['otel.scope.version', scope.version]);
    if (scope.schemaUrl)
      scopeLabels.push(['otel.scope.schema_url', scope.schemaUrl]);
    for (const metric of metrics as (MetricData | SummaryMetricData)[]) {
      const { descriptor } = metric;
      const shape = shapeOf(metric, options);
      if (shape === undefined) {
        diag.warn(
          `delta:${descriptor.name}`,
          `metric '${descriptor.name}' is not exposed: Prometheus takes only cumulative sums and histograms`
        );
        continue;
      }
      const name = metricName(descriptor.name, descriptor.unit, shape.kind);
      const family =
        name === ''
          ? undefined
          : familyFor(
              name,
              shape.type,
              descriptor.description || descriptor.name,
              unitWord(descriptor.unit)
            );
      if (family === undefined) {
        diag.warn(
          `clash:${descriptor.name}`,
          `metric '${descriptor.name}' is not exposed: its Prometheus name '${name}' is invalid or taken by another metric`
        );
        continue;
      }
      for (const point of metric.dataPoints as DataPoint<unknown>[]) {
        let labels: LabelPair[];
        let value: FamilyPoint['value'];
        try {
          labels = namer.labels(point.attributes, scopeLabels);
          value = shape.value(point);
        } catch (error) {
          diag.warn(
            `point:${descriptor.name}`,
            `a point of '${descriptor.name}' is not exposed: ${String(error)}`
          );
          continue;
        }
        const labelText = renderLabels(labels);
        if (family.seen.has(labelText)) {
          diag.warn(
            `duplicate:${family.name}`,
            `a point of '${descriptor.name}' is not exposed: another point of '${family.name}' has the same labels {${labelText}}`
          );
          continue;
        }
        family.seen.add(labelText);
        family.points.push({
          labels,
          labelText,
          value,
          exemplars: shape.exemplars ? exemplarsOf(point) : NO_EXEMPLARS,
        });
        yield;
      }
    }
  }
  return [...families.values()].filter(family => family.points.length > 0);
}

function shapeOf(
  metric: MetricData | SummaryMetricData,
  options: FamilyOptions
): Shape | undefined {
  if (isSummaryMetricData(metric)) {
    return {
      type: 'summary',
      kind: 'summary',
      value: point => summaryPoint(point.value as SummaryValue),
      exemplars: false,
    };
  }
  const number = (point: DataPoint<unknown>) => point.value as number;
  const cumulative =
    metric.aggregationTemporality === AggregationTemporality.CUMULATIVE;
  switch (metric.dataPointType) {
    case DataPointType.GAUGE:
      return { type: 'gauge', kind: 'gauge', value: number, exemplars: false };
    case DataPointType.SUM:
      if (!cumulative) return undefined;
      return metric.isMonotonic
        ? { type: 'counter', kind: 'counter', value: number, exemplars: true }
        : { type: 'gauge', kind: 'gauge', value: number, exemplars: false };
    case DataPointType.HISTOGRAM:
      if (!cumulative) return undefined;
      return {
        type: 'histogram',
        kind: 'histogram',
        value: point => {
          const histogram = point.value as Histogram;
          return {
            ...explicitBuckets(histogram),
            count: histogram.count,
            sum: histogram.sum,
            exponential: undefined,
          };
        },
        exemplars: true,
      };
    case DataPointType.EXPONENTIAL_HISTOGRAM: {
      if (!cumulative) return undefined;
      const boundaries =
        adviceBoundaries(metric.descriptor) ?? options.histogramBoundaries;
      return {
        type: 'histogram',
        kind: 'histogram',
        value: point => {
          const histogram = point.value as ExponentialHistogram;
          return {
            ...exponentialBuckets(histogram, boundaries),
            count: histogram.count,
            sum: histogram.sum,
            exponential: histogram,
          };
        },
        exemplars: true,
      };
    }
  }
}

function summaryPoint(value: SummaryValue): SummaryPoint {
  return {
    count: value.count,
    sum: value.sum,
    quantiles: value.quantileValues
      .filter(q => q.quantile >= 0 && q.quantile <= 1)
      .sort((a, b) => a.quantile - b.quantile),
  };
}

function sampleNames(name: string, type: FamilyType): string[] {
  // OpenMetrics names a counter family without `_total`, an info one without `_info`.
  const base =
    type === 'counter'
      ? name.replace(/_total$/, '')
      : type === 'info'
        ? name.replace(/_info$/, '')
        : name;
  return [...new Set([name, ...SAMPLE_SUFFIXES[type].map(s => base + s)])];
}

function exemplarsOf(point: DataPoint<unknown>): readonly Exemplar[] {
  const exemplars = (point as ExemplarCarrier).exemplars;
  return Array.isArray(exemplars) ? exemplars : NO_EXEMPLARS;
}

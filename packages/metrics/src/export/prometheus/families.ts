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
import type { LabelNamer, LabelPair, PointLabels } from './labels';
import type { LabelSetSeen } from './LabelSetSeen';
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

/** One series of a family, made when the writer gets to it. */
export interface FamilyPoint {
  /** Sorted by name, names unique. */
  readonly labels: readonly LabelPair[];
  /** The labels as the text formats write them, `a="x",b="y"`. */
  readonly labelText: string;
  readonly value: number | HistogramPoint | SummaryPoint;
  /** Only on counters and histograms, the types that expose them. */
  readonly exemplars: readonly Exemplar[];
}

/** One Prometheus metric name: what its header says. */
export interface MetricFamily {
  /** The name of its samples: counters end in `_total`, info in `_info`. */
  readonly name: string;
  readonly type: FamilyType;
  readonly help: string;
  /** The unit word (`seconds`), '' for none. */
  readonly unit: string;
}

/** One metric's points in a family (several metrics meet in one when their names do). */
export interface FamilySource {
  readonly family: MetricFamily;
  readonly name: string;
  readonly points: readonly DataPoint<unknown>[];
  readonly shape: Shape;
  /** Added to every point's attributes: the scope's, as `otel.scope.*`. */
  readonly scopeLabels: readonly (readonly [string, string])[];
  /** The scope labels as one string, to know them again. */
  readonly scopeKey: string;
}

/** What the writers share while they write one scrape. */
export interface WriteContext {
  readonly namer: LabelNamer;
  readonly diag: RateLimitedDiag;
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

/** How one OTel metric becomes points of a family. */
interface Shape {
  readonly type: FamilyType;
  readonly kind: NameKind;
  readonly value: (point: DataPoint<unknown>) => FamilyPoint['value'];
  readonly exemplars: boolean;
}

const INFO: Shape = {
  type: 'info',
  kind: 'gauge',
  value: () => 1,
  exemplars: false,
};

/**
 * The families of a scrape, planned as its metrics arrive (a collection
 * comes in batches): the resource as `target_info`, then every metric
 * under its Prometheus name, metrics whose names meet in one family.
 * Cumulative sums, gauges, both histogram kinds and Summary points are
 * exposed; delta sums and histograms are not (Prometheus takes only
 * cumulative ones). A metric whose name clashes with a family of another
 * type (or with a family's `_bucket`/`_count`/… samples) is left out. Each
 * is reported through diag.
 */
export class FamilyPlan {
  /** In the order first met: the order they are written in. */
  readonly families: MetricFamily[] = [];
  private readonly _options: FamilyOptions;
  private readonly _byName = new Map<string, MetricFamily>();
  /** Sample names taken, by any family. */
  private readonly _taken = new Set<string>();
  private _resourceSeen = false;

  constructor(options: FamilyOptions) {
    this._options = options;
  }

  /** Where the points of `resourceMetrics` go, metric by metric. */
  *sources(resourceMetrics: ResourceMetrics): Generator<FamilySource> {
    if (!this._resourceSeen) {
      this._resourceSeen = true;
      const resource = resourceMetrics.resource.attributes;
      const family =
        Object.keys(resource).length > 0 &&
        this._familyFor('target_info', 'Target metadata', '', INFO);
      if (family) {
        yield {
          family,
          name: 'target_info',
          points: [
            {
              attributes: resource,
              startTime: [0, 0],
              endTime: [0, 0],
              value: 1,
            },
          ],
          shape: INFO,
          scopeLabels: [],
          scopeKey: '',
        };
      }
    }
    const { diag } = this._options;
    for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
      const scopeLabels: [string, string][] = [['otel.scope.name', scope.name]];
      if (scope.version)
        scopeLabels.push(['otel.scope.version', scope.version]);
      if (scope.schemaUrl)
        scopeLabels.push(['otel.scope.schema_url', scope.schemaUrl]);
      const scopeKey = JSON.stringify(scopeLabels);
      for (const metric of metrics as (MetricData | SummaryMetricData)[]) {
        const { descriptor } = metric;
        if (metric.dataPoints.length === 0) continue;
        const shape = shapeOf(metric, this._options);
        if (shape === undefined) {
          diag.warn(
            `delta:${descriptor.name}`,
            `metric '${descriptor.name}' is not exposed: Prometheus takes only cumulative sums and histograms`
          );
          continue;
        }
        const name = metricName(descriptor.name, descriptor.unit, shape.kind);
        const family =
          name !== '' &&
          this._familyFor(
            name,
            descriptor.description || descriptor.name,
            unitWord(descriptor.unit),
            shape
          );
        if (!family) {
          diag.warn(
            `clash:${descriptor.name}`,
            `metric '${descriptor.name}' is not exposed: its Prometheus name '${name}' is invalid or taken by another metric`
          );
          continue;
        }
        yield {
          family,
          name: descriptor.name,
          points: metric.dataPoints as DataPoint<unknown>[],
          shape,
          scopeLabels,
          scopeKey,
        };
      }
    }
  }

  /** The family named `name`, made if new; undefined when the name is taken by another type. */
  private _familyFor(
    name: string,
    help: string,
    unit: string,
    shape: Shape
  ): MetricFamily | undefined {
    const existing = this._byName.get(name);
    if (existing) return existing.type === shape.type ? existing : undefined;
    const samples = sampleNames(name, shape.type);
    if (samples.some(sample => this._taken.has(sample))) return undefined;
    for (const sample of samples) this._taken.add(sample);
    const family = { name, type: shape.type, help, unit };
    this._byName.set(name, family);
    this.families.push(family);
    return family;
  }
}

/**
 * A source's points, one per step, as the writers take them: labels
 * sanitized and joined, values converted. A point whose attributes cannot
 * be read, or whose labels repeat another's in the family (`seen`: a
 * duplicate series), is left out, reported: the step yields undefined.
 */
export function* familyPoints(
  source: FamilySource,
  seen: LabelSetSeen,
  { namer, diag }: WriteContext
): Generator<FamilyPoint | undefined, void, undefined> {
  const { family, name, points, shape, scopeLabels, scopeKey } = source;
  for (const point of points) {
    let labels: PointLabels;
    let value: FamilyPoint['value'];
    try {
      labels = namer.pointLabels(point.attributes, scopeLabels, scopeKey);
      value = shape.value(point);
    } catch (error) {
      diag.warn(
        `point:${name}`,
        `a point of '${name}' is not exposed: ${String(error)}`
      );
      yield undefined;
      continue;
    }
    if (!seen.add(labels.text)) {
      diag.warn(
        `duplicate:${family.name}`,
        `a point of '${name}' is not exposed: another point of '${family.name}' has the same labels {${labels.text}}`
      );
      yield undefined;
      continue;
    }
    yield {
      labels: labels.labels,
      labelText: labels.text,
      value,
      exemplars: shape.exemplars ? exemplarsOf(point) : NO_EXEMPLARS,
    };
  }
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

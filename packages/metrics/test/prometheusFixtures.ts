/** Crafted metrics for the Prometheus exposition tests, in the shapes a MetricReader collects. */
import { ValueType } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
} from '@opentelemetry/sdk-metrics';
import type {
  ExponentialHistogram,
  Histogram,
  MetricData,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { SUMMARY_DATA_POINT_TYPE } from '../src';
import type { SummaryMetricData, SummaryValue } from '../src';
import type { Exemplar } from '../src/export/prometheus';

export const START: [number, number] = [1_700_000_000, 0];
export const END: [number, number] = [1_700_000_060, 0];

type Value = number | Histogram | ExponentialHistogram | SummaryValue;

export interface PointSpec {
  attributes?: Attributes;
  value: Value;
  exemplars?: Exemplar[];
}

function descriptor(name: string, unit = '', description = '') {
  return { name, unit, description, valueType: ValueType.DOUBLE };
}

function points(specs: PointSpec[]) {
  return specs.map(({ attributes = {}, value, exemplars }) => ({
    attributes,
    startTime: START,
    endTime: END,
    value,
    ...(exemplars ? { exemplars } : {}),
  }));
}

export function counter(
  name: string,
  specs: PointSpec[],
  options: { unit?: string; description?: string; delta?: boolean } = {}
): MetricData {
  return {
    descriptor: descriptor(name, options.unit, options.description),
    aggregationTemporality: options.delta
      ? AggregationTemporality.DELTA
      : AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: points(specs),
  } as MetricData;
}

export function upDownCounter(
  name: string,
  specs: PointSpec[],
  unit = ''
): MetricData {
  return {
    descriptor: descriptor(name, unit),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: false,
    dataPoints: points(specs),
  } as MetricData;
}

export function gauge(
  name: string,
  specs: PointSpec[],
  options: { unit?: string; description?: string } = {}
): MetricData {
  return {
    descriptor: descriptor(name, options.unit, options.description),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: points(specs),
  } as MetricData;
}

export function histogram(
  name: string,
  specs: PointSpec[],
  unit = ''
): MetricData {
  return {
    descriptor: descriptor(name, unit),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: points(specs),
  } as MetricData;
}

export function exponentialHistogram(
  name: string,
  specs: PointSpec[],
  options: { unit?: string; advice?: number[] } = {}
): MetricData {
  return {
    descriptor: {
      ...descriptor(name, options.unit),
      // As the SDK's descriptors carry it at run time.
      ...(options.advice
        ? { advice: { explicitBucketBoundaries: options.advice } }
        : {}),
    },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
    dataPoints: points(specs),
  } as MetricData;
}

export function summary(
  name: string,
  specs: PointSpec[],
  unit = ''
): SummaryMetricData {
  return {
    descriptor: descriptor(name, unit),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: SUMMARY_DATA_POINT_TYPE,
    dataPoints: points(specs) as SummaryMetricData['dataPoints'],
  };
}

/** One scope's metrics under a resource. */
export function resourceMetrics(
  metrics: (MetricData | SummaryMetricData)[],
  options: {
    resource?: Attributes;
    scope?: { name: string; version?: string; schemaUrl?: string };
  } = {}
): ResourceMetrics {
  return {
    resource: resourceFromAttributes(
      options.resource ?? { 'service.name': 'shop' }
    ),
    scopeMetrics: [
      {
        scope: options.scope ?? { name: 'app', version: '1.2' },
        metrics: metrics as MetricData[],
      },
    ],
  };
}

/**
 * The OpenTelemetry exponential histogram of positive `values` at
 * `scale`: bucket i counts the values in (b^i, b^(i+1)], b = 2^(2^-scale).
 * Computed here from that formula, apart from the code under test.
 */
export function exponentialPoint(
  values: number[],
  scale: number
): ExponentialHistogram {
  const indexes = values.map(v => Math.ceil(Math.log2(v) * 2 ** scale) - 1);
  const offset = Math.min(...indexes);
  const counts = new Array<number>(Math.max(...indexes) - offset + 1).fill(0);
  for (const i of indexes) counts[i - offset]++;
  return {
    count: values.length,
    sum: values.reduce((a, b) => a + b, 0),
    scale,
    zeroCount: 0,
    positive: { offset, bucketCounts: counts },
    negative: { offset: 0, bucketCounts: [] },
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** {@link exponentialPoint} at scale 0: bucket i holds (2^i, 2^(i+1)]. */
export function scaleZeroHistogram(values: number[]): ExponentialHistogram {
  return exponentialPoint(values, 0);
}

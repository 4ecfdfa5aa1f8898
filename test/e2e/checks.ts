import { expect } from 'chai';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import { relativeErrorAt } from '../util';
import type { OtlpMetricsRequest } from './Collector';
import { CUMULATIVE, key, latest, plain, pointsByAttributes } from './otlp';

/**
 * Assertions on what the Collector wrote, each against what the program
 * recorded. They take the expectation as an argument so that a test can
 * show each one failing on a wrong value.
 */

/** A monotonic cumulative sum whose latest point per attribute set is exactly `totals`. */
export function checkCounterTotals(
  requests: OtlpMetricsRequest[],
  service: string,
  name: string,
  unit: string,
  totals: Map<string, number>,
  attribute: string
): void {
  const { metric } = latest(requests, service, name);
  expect(metric.unit, `${name} unit`).to.equal(unit);
  expect(metric.sum, `${name} is a sum`).to.not.equal(undefined);
  expect(metric.sum!.isMonotonic, `${name} monotonic`).to.equal(true);
  expect(metric.sum!.aggregationTemporality).to.equal(CUMULATIVE);
  const expected = Object.fromEntries(
    [...totals].map(([value, total]) => [key({ [attribute]: value }), total])
  );
  expect(
    Object.fromEntries(pointsByAttributes(metric)),
    `${name} totals`
  ).to.deep.equal(expected);
}

/**
 * A cumulative exponential histogram with exactly `values`' count, min and
 * max, bucket counts adding up to the count, the sum to 1e-12, and, loaded
 * into our sketch, every percentile within the sketch's relative error.
 */
export function checkExponentialHistogram(
  requests: OtlpMetricsRequest[],
  service: string,
  name: string,
  unit: string,
  values: number[]
): void {
  const { metric } = latest(requests, service, name);
  expect(metric.unit, `${name} unit`).to.equal(unit);
  const histogram = metric.exponentialHistogram;
  expect(histogram, `${name} is an exponential histogram`).to.not.equal(
    undefined
  );
  expect(histogram!.aggregationTemporality).to.equal(CUMULATIVE);
  expect(histogram!.dataPoints).to.have.length(1);
  const point = histogram!.dataPoints[0];
  const buckets = (counts: string[] = []) =>
    counts.reduce((total, c) => total + Number(c), 0);
  const count = Number(point.count);
  expect(count, `${name} count`).to.equal(values.length);
  expect(
    Number(point.zeroCount ?? 0) +
      buckets(point.positive?.bucketCounts) +
      buckets(point.negative?.bucketCounts),
    `${name} bucket counts`
  ).to.equal(count);
  expect(point.min, `${name} min`).to.equal(Math.min(...values));
  expect(point.max, `${name} max`).to.equal(Math.max(...values));
  const exactSum = values.reduce((a, b) => a + b, 0);
  expect(point.sum! / exactSum, `${name} sum`).to.be.closeTo(1, 1e-12);

  const sketch = ExponentialSketch.fromExponentialHistogram({
    count,
    sum: point.sum,
    min: point.min,
    max: point.max,
    scale: point.scale ?? 0,
    zeroCount: Number(point.zeroCount ?? 0),
    positive: {
      offset: point.positive?.offset ?? 0,
      bucketCounts: (point.positive?.bucketCounts ?? []).map(Number),
    },
    negative: {
      offset: point.negative?.offset ?? 0,
      bucketCounts: (point.negative?.bucketCounts ?? []).map(Number),
    },
  });
  expectQuantilesWithin(
    name,
    values,
    [0.5, 0.9, 0.99],
    q => sketch.quantile(q),
    relativeErrorAt(point.scale ?? 0)
  );
}

/**
 * A Summary (`<name>.window`) with the exact count and sum of `values`,
 * exact min (quantile 0) and max (quantile 1), and its other quantiles
 * within the relative error of a sketch with the reader's defaults.
 */
export function checkSummary(
  requests: OtlpMetricsRequest[],
  service: string,
  name: string,
  unit: string,
  values: number[]
): void {
  const { metric } = latest(requests, service, `${name}.window`);
  expect(metric.unit, `${name}.window unit`).to.equal(unit);
  expect(metric.summary, `${name}.window is a Summary`).to.not.equal(undefined);
  const [point] = metric.summary!.dataPoints;
  expect(Number(point.count), `${name}.window count`).to.equal(values.length);
  expect(point.sum, `${name}.window sum`).to.equal(
    values.reduce((a, b) => a + b, 0)
  );
  const quantiles = new Map(
    (point.quantileValues ?? []).map(q => [q.quantile ?? 0, q.value ?? 0])
  );
  expect([...quantiles.keys()]).to.deep.equal([0, 0.5, 0.9, 0.95, 0.99, 1]);
  expect(quantiles.get(0), `${name}.window min`).to.equal(Math.min(...values));
  expect(quantiles.get(1), `${name}.window max`).to.equal(Math.max(...values));
  const bound = relativeErrorAt(5); // the reader's default sketch scale
  expectQuantilesWithin(
    `${name}.window`,
    values,
    [0.5, 0.9, 0.95, 0.99],
    q => quantiles.get(q)!,
    bound
  );
}

/**
 * At most `maxSeries` points; the ones with a tenant carry that tenant's
 * exact total, and the overflow series (`otel.metric.overflow: true`)
 * exactly what the others do not.
 */
export function checkOverflow(
  requests: OtlpMetricsRequest[],
  service: string,
  name: string,
  maxSeries: number,
  totals: Map<string, number>
): void {
  const { metric } = latest(requests, service, name);
  const points = metric.sum!.dataPoints.map(p => ({
    attributes: plain(p.attributes),
    value: Number(p.asInt ?? p.asDouble),
  }));
  expect(points, `${name} series`).to.have.length(maxSeries);
  const overflow = points.filter(
    p => p.attributes['otel.metric.overflow'] === true
  );
  expect(overflow, `${name} overflow series`).to.have.length(1);
  let kept = 0;
  for (const { attributes, value } of points) {
    if (attributes['otel.metric.overflow'] === true) continue;
    expect(value, `${name} ${attributes.tenant}`).to.equal(
      totals.get(String(attributes.tenant))
    );
    kept += value;
  }
  const total = [...totals.values()].reduce((a, b) => a + b, 0);
  expect(overflow[0].value, `${name} overflow total`).to.equal(total - kept);
}

/** Each quantile within `bound` of the exact value at rank ⌊q·(n − 1)⌋. */
function expectQuantilesWithin(
  name: string,
  values: number[],
  quantiles: number[],
  estimate: (q: number) => number,
  bound: number
): void {
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of quantiles) {
    const exact = sorted[Math.floor(q * (sorted.length - 1))];
    expect(
      Math.abs(estimate(q) - exact) / exact,
      `${name} q${q}: ${estimate(q)} vs exact ${exact}`
    ).to.be.at.most(bound);
  }
}

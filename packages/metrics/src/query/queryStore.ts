import type { Attributes } from '@opentelemetry/api';
import { OptionReader } from '@datapunk/otel-common';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import type { Aggregate } from '../store/Aggregate';
import { GaugeAggregate } from '../store/GaugeAggregate';
import { HistogramAggregate } from '../store/HistogramAggregate';
import type { MetricStore } from '../store/MetricStore';
import { SumAggregate } from '../store/SumAggregate';
import { MetricKind } from '../types';
import type {
  QueryOptions,
  QueryResult,
  Statistic,
  StatisticInput,
} from '../types';

const OWNER = 'RetentionMetricReader.query';

/**
 * Merges the retained points of `metricName` that overlap the range, from
 * every matching series (live or expired). Each moment is held by exactly
 * one tier (finer tiers hold the recent past, coarser ones what rolled out
 * of them), so merging all overlapping points never counts data twice.
 * @throws {TypeError|RangeError} for invalid arguments.
 */
export function queryStore(
  store: MetricStore,
  metricName: string,
  options: QueryOptions,
  nowMillis: number,
  statistics: ReadonlyMap<string, Statistic>,
  diag: RateLimitedDiag
): QueryResult | undefined {
  if (typeof metricName !== 'string' || metricName.length === 0) {
    throw new TypeError(`${OWNER}: 'metricName' must be a non-empty string`);
  }
  const { from, to, filter } = readOptions(options, nowMillis);
  store.settle();
  const streams = [...store.streams.values()].filter(
    s => s.descriptor.name === metricName
  );
  if (streams.length === 0) return undefined;
  const aggregator = streams[0].aggregator;
  const kind = aggregator.kind;
  if (streams.some(s => s.aggregator.kind !== kind)) {
    throw new RangeError(
      `${OWNER}: '${metricName}' is recorded as more than one kind (${streams.map(s => s.aggregator.kind).join(', ')})`
    );
  }
  const merged = aggregator.create();
  // Gauges merge oldest first, so `last` is the latest observation; sums and
  // histograms merge exactly in any order.
  const ordered: { start: number; value: Aggregate }[] | undefined =
    aggregator.ordered ? [] : undefined;
  // Sums: each point's total and end, by start, for the rate.
  const sums: Map<number, RatePoint> | undefined =
    kind === MetricKind.SUM ? new Map() : undefined;
  // Nothing is known past the latest collection.
  const collected = store.lastCollectionMillis;
  const knownTo = Math.min(
    nowMillis,
    Number.isNaN(collected) ? Infinity : collected
  );
  let series = 0;
  let coveredFrom = Infinity;
  let coveredTo = -Infinity;
  let resolutionMillis = 0;
  for (const stream of streams) {
    for (let s = 0; s < stream.idLimit; s++) {
      if (!stream.exists(s)) continue;
      if (!matches(stream.attributesOf(s), filter)) continue;
      series++;
      const seriesStart = stream.startOf(s);
      store.tiers.forEach(({ resolutionMillis: resolution }, tier) => {
        stream.forEachPoint(s, tier, (start, reader) => {
          if (start >= to || start + resolution <= from) return;
          // A series' first point holds nothing from before the series began.
          coveredFrom = Math.min(coveredFrom, Math.max(start, seriesStart));
          coveredTo = Math.max(coveredTo, start + resolution);
          resolutionMillis = Math.max(resolutionMillis, resolution);
          if (ordered === undefined && sums === undefined) {
            merged.mergeFrom(reader);
            return;
          }
          const value = stream.aggregator.create();
          value.mergeFrom(reader);
          if (ordered !== undefined) ordered.push({ start, value });
          if (sums !== undefined) {
            merged.merge(value);
            const total = (value as SumAggregate).total;
            const point = sums.get(start);
            if (point !== undefined) point.total += total;
            else
              sums.set(start, {
                start,
                nominalEnd: start + resolution,
                end: Math.min(start + resolution, knownTo),
                total,
              });
          }
        });
      });
    }
  }
  ordered
    ?.sort((a, b) => a.start - b.start)
    .forEach(({ value }) => merged.merge(value));
  coveredTo = Math.min(coveredTo, knownTo);
  if (!(coveredTo > coveredFrom)) {
    // An empty answer: no data in the range (or a range in the future).
    coveredFrom = coveredTo = Math.max(Math.min(to, knownTo), from);
  }
  const result: QueryResult = {
    kind,
    series,
    fromMillis: coveredFrom,
    toMillis: coveredTo,
    resolutionMillis,
    ...merged.describe(),
  };
  if (sums !== undefined) {
    const rate = rateOf([...sums.values()], store.startMillis);
    if (rate !== undefined) result.rate = rate;
  }
  if (statistics.size > 0) {
    const input: StatisticInput = {
      kind,
      fromMillis: coveredFrom,
      toMillis: coveredTo,
      sketch: merged instanceof HistogramAggregate ? merged.sketch : undefined,
      stats: merged instanceof GaugeAggregate ? merged.stats : undefined,
      sum: merged instanceof SumAggregate ? merged.total : undefined,
    };
    result.statistics = {};
    for (const [name, statistic] of statistics) {
      result.statistics[name] = evaluate(name, statistic, input, diag);
    }
  }
  return result;
}

function readOptions(
  options: QueryOptions,
  nowMillis: number
): { from: number; to: number; filter: Attributes } {
  const reader = new OptionReader(OWNER, options, [
    'attributes',
    'fromMillis',
    'toMillis',
  ]);
  const filter = reader.object(
    'attributes',
    {},
    'an object of attribute values'
  ) as Attributes;
  const from =
    reader.raw('fromMillis') == null
      ? -Infinity
      : reader.number('fromMillis', undefined);
  const to = reader.number('toMillis', nowMillis);
  return { from, to, filter };
}

/** One retained point of a sum (all matching series merged): its total over (start, end]. */
interface RatePoint {
  start: number;
  /** Where its interval ends: a point ending after the process started may hold its data. */
  nominalEnd: number;
  /** Where its data is known to end (the latest collection, for the newest point). */
  end: number;
  total: number;
}

/**
 * Per second, as a backend computes a rate from cumulative samples: the
 * increase after the first point over the time from the end of the first
 * point to the end of the last (so at least two points are needed), never
 * across the process's start: points restored from before it and points
 * that may hold data since are two runs, each needing two points of its
 * own (a point holding both is the second run's first, so restored data
 * never counts as new traffic). Undefined when no run has two points.
 */
function rateOf(points: RatePoint[], startMillis: number): number | undefined {
  points.sort((a, b) => a.start - b.start);
  let increase = 0;
  let seconds = 0;
  for (const run of [
    points.filter(p => p.nominalEnd <= startMillis),
    points.filter(p => p.nominalEnd > startMillis),
  ]) {
    if (run.length < 2) continue;
    for (let i = 1; i < run.length; i++) increase += run[i].total;
    seconds += (run[run.length - 1].end - run[0].end) / 1000;
  }
  return seconds > 0 ? increase / seconds : undefined;
}

/** Whether `attributes` include every entry of `filter` (arrays compared by value). */
function matches(attributes: Attributes, filter: Attributes): boolean {
  for (const key of Object.keys(filter)) {
    const wanted = filter[key];
    const actual = attributes[key];
    if (wanted === actual) continue;
    if (
      !(
        Array.isArray(wanted) &&
        Array.isArray(actual) &&
        JSON.stringify(wanted) === JSON.stringify(actual)
      )
    ) {
      return false;
    }
  }
  return true;
}

function evaluate(
  name: string,
  statistic: Statistic,
  input: StatisticInput,
  diag: RateLimitedDiag
): number {
  try {
    const value = statistic(input);
    return typeof value === 'number' ? value : NaN;
  } catch (error) {
    diag.warn(
      `statistic:${name}`,
      `custom statistic '${name}' threw: ${String(error)}`
    );
    return NaN;
  }
}

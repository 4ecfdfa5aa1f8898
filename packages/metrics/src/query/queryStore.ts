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
  const kind = streams[0].kind;
  if (streams.some(s => s.kind !== kind)) {
    throw new RangeError(
      `${OWNER}: '${metricName}' is recorded as more than one kind (${streams.map(s => s.kind).join(', ')})`
    );
  }
  const merged = streams[0].createAggregate();
  // Gauges merge oldest first, so `last` is the latest observation; sums and
  // histograms merge exactly in any order.
  const ordered: { start: number; value: Aggregate }[] | undefined =
    kind === MetricKind.GAUGE ? [] : undefined;
  let series = 0;
  let found = 0;
  let coveredFrom = Infinity;
  let coveredTo = -Infinity;
  let resolutionMillis = 0;
  for (const stream of streams) {
    for (const s of stream.allSeries()) {
      if (!matches(s.attributes, filter)) continue;
      series++;
      store.tiers.forEach(({ resolutionMillis: resolution }, tier) => {
        s.forEachPoint(tier, (start, reader) => {
          if (start >= to || start + resolution <= from) return;
          found++;
          // A series' first point holds nothing from before the series began.
          coveredFrom = Math.min(coveredFrom, Math.max(start, s.startMillis));
          coveredTo = Math.max(coveredTo, start + resolution);
          resolutionMillis = Math.max(resolutionMillis, resolution);
          if (ordered === undefined) {
            merged.mergeFrom(reader);
          } else {
            const value = stream.createAggregate();
            value.mergeFrom(reader);
            ordered.push({ start, value });
          }
        });
      });
    }
  }
  ordered
    ?.sort((a, b) => a.start - b.start)
    .forEach(({ value }) => merged.merge(value));
  if (found === 0) {
    coveredFrom = Number.isFinite(from) ? from : to;
    coveredTo = to;
  }
  // Nothing is known past the latest collection.
  const collected = store.lastCollectionMillis;
  coveredTo = Math.min(
    coveredTo,
    nowMillis,
    Number.isNaN(collected) ? Infinity : collected
  );
  const result: QueryResult = {
    kind,
    series,
    fromMillis: coveredFrom,
    toMillis: coveredTo,
    resolutionMillis,
    ...merged.describe(),
  };
  if (kind === MetricKind.SUM && coveredTo > coveredFrom) {
    result.rate =
      (merged as SumAggregate).total / ((coveredTo - coveredFrom) / 1000);
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
  reader.ordered('fromMillis', from, '<', 'toMillis', to);
  return { from, to, filter };
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

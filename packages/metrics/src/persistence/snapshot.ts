import { ValueType } from '@opentelemetry/api';
import {
  checkArray,
  checkNumber,
  checkRecord,
  checkString,
} from '@datapunk/otel-common';
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { ResolvedOptions } from '../options';
import type { Aggregate } from '../store/Aggregate';
import type { MetricStore } from '../store/MetricStore';
import type { MetricStream } from '../store/MetricStream';
import type { Series } from '../store/Series';
import { MetricKind } from '../types';

const FORMAT = 'datapunk.metrics.snapshot';
const VERSION = 1;
/** More points in one tier of one series than any valid configuration keeps. */
const MAX_POINTS_PER_TIER = 100_000;

type Json = Record<string, unknown>;

/** Text is written in chunks of about this many characters. */
const CHUNK_CHARS = 1 << 20;

/**
 * The store as versioned JSON text, in chunks: live state and history of
 * every series, one series per step, for the reader to run in slices.
 */
export function* takeSnapshot(
  store: MetricStore,
  options: ResolvedOptions,
  nowMillis: number
): Generator<void, string[], undefined> {
  const chunks: string[] = [];
  let text = `{"format":${JSON.stringify(FORMAT)},"version":${VERSION},"savedAtMillis":${nowMillis},"tiers":${JSON.stringify(
    options.tiers.map(t => [t.resolutionMillis, t.durationMillis])
  )},"metrics":[`;
  let firstMetric = true;
  for (const stream of store.streams.values()) {
    const head = JSON.stringify({
      scope: { ...stream.scope },
      descriptor: {
        name: stream.descriptor.name,
        description: stream.descriptor.description,
        unit: stream.descriptor.unit,
        valueType: stream.descriptor.valueType,
      },
      kind: stream.kind,
      monotonic: stream.isMonotonic,
    });
    // The metric's fields, then its series: `{…,"series":[…]}`.
    text += `${firstMetric ? '' : ','}${head.slice(0, -1)},"series":[`;
    firstMetric = false;
    let firstSeries = true;
    for (const series of stream.allSeries()) {
      text +=
        (firstSeries ? '' : ',') + JSON.stringify(seriesJson(stream, series));
      firstSeries = false;
      if (text.length >= CHUNK_CHARS) {
        chunks.push(text);
        text = '';
      }
      yield;
    }
    text += ']}';
  }
  chunks.push(text + ']}');
  return chunks;
}

function seriesJson(stream: MetricStream, series: Series): Json {
  const state = series.state(stream);
  return {
    attributes: series.attributes,
    startMillis: state.startMillis,
    lastUpdateMillis: state.lastUpdateMillis,
    pendingSinceMillis: state.pendingSinceMillis,
    live: state.live?.toJSON() ?? null,
    ...(state.totals
      ? { deltaTotals: [state.totals.count, state.totals.sum] }
      : {}),
    history: state.history.map(points =>
      points.map(([start, value]) => [start, value.toJSON()])
    ),
  };
}

/**
 * Loads a snapshot into an empty store, through the same limits as new
 * data. History is kept only when the tiers are configured as they were.
 * @throws {TypeError|RangeError} naming the field, for a foreign, newer or
 *   malformed snapshot; the store may then hold part of it, so the caller
 *   must discard the store.
 */
export function* restoreSnapshot(
  store: MetricStore,
  json: unknown,
  options: ResolvedOptions
): Generator<void, void, undefined> {
  const root = record(json, 'snapshot');
  if (root.format !== FORMAT)
    throw new TypeError(
      `'format' is ${String(root.format)}, not a ${FORMAT} file`
    );
  if (root.version !== VERSION) {
    throw new RangeError(
      `'version' ${String(root.version)} is not ${VERSION} (written by a newer or older release)`
    );
  }
  finite(root.savedAtMillis, 'savedAtMillis');
  const sameTiers =
    JSON.stringify(root.tiers) ===
    JSON.stringify(
      options.tiers.map(t => [t.resolutionMillis, t.durationMillis])
    );
  for (const [m, metric] of list(root.metrics, 'metrics').entries()) {
    yield* restoreMetric(
      store,
      record(metric, `metrics[${m}]`),
      `metrics[${m}]`,
      sameTiers
    );
  }
}

function* restoreMetric(
  store: MetricStore,
  metric: Json,
  path: string,
  sameTiers: boolean
): Generator<void, void, undefined> {
  const scope = record(metric.scope, `${path}.scope`);
  const descriptor = record(metric.descriptor, `${path}.descriptor`);
  const kind = metric.kind;
  if (
    kind !== MetricKind.SUM &&
    kind !== MetricKind.GAUGE &&
    kind !== MetricKind.HISTOGRAM
  ) {
    throw new TypeError(`'${path}.kind' must be sum, gauge or histogram`);
  }
  const valueType = descriptor.valueType;
  if (valueType !== ValueType.INT && valueType !== ValueType.DOUBLE) {
    throw new TypeError(
      `'${path}.descriptor.valueType' must be ${ValueType.INT} or ${ValueType.DOUBLE}`
    );
  }
  const stream = store.streamFor(
    {
      name: text(scope.name, `${path}.scope.name`),
      version: optionalText(scope.version, `${path}.scope.version`),
      schemaUrl: optionalText(scope.schemaUrl, `${path}.scope.schemaUrl`),
    },
    {
      name: text(descriptor.name, `${path}.descriptor.name`),
      description: text(
        descriptor.description,
        `${path}.descriptor.description`,
        true
      ),
      unit: text(descriptor.unit, `${path}.descriptor.unit`, true),
      valueType,
    },
    kind,
    metric.monotonic === true
  );
  if (stream === undefined) {
    store.stats.droppedPoints.add('metric_limit');
    return;
  }
  for (const [s, value] of list(metric.series, `${path}.series`).entries()) {
    const at = `${path}.series[${s}]`;
    const series = record(value, at);
    const live =
      series.live === null
        ? undefined
        : stream.aggregateFromJSON(series.live, `${at}.live`);
    const history = sameTiers
      ? list(series.history, `${at}.history`).map((tier, t) =>
          list(tier, `${at}.history[${t}]`, MAX_POINTS_PER_TIER).map(
            (point, p): [number, Aggregate] => {
              const pair = list(point, `${at}.history[${t}][${p}]`);
              return [
                finite(pair[0], `${at}.history[${t}][${p}][0]`),
                stream.aggregateFromJSON(
                  pair[1],
                  `${at}.history[${t}][${p}][1]`
                ),
              ];
            }
          )
        )
      : [];
    const totals =
      series.deltaTotals === undefined
        ? undefined
        : list(series.deltaTotals, `${at}.deltaTotals`);
    store.restoreSeries(
      stream,
      attributes(series.attributes, `${at}.attributes`),
      {
        startMillis: finite(series.startMillis, `${at}.startMillis`),
        lastUpdateMillis: finite(
          series.lastUpdateMillis,
          `${at}.lastUpdateMillis`
        ),
        pendingSinceMillis: finite(
          series.pendingSinceMillis,
          `${at}.pendingSinceMillis`
        ),
        live,
        totals: totals && {
          count: finite(totals[0], `${at}.deltaTotals[0]`),
          sum: finite(totals[1], `${at}.deltaTotals[1]`),
        },
        history,
      }
    );
    yield;
  }
}

const OWNER = 'snapshot';

function record(value: unknown, path: string): Json {
  return checkRecord(OWNER, `'${path}'`, value);
}

function list(value: unknown, path: string, max = Infinity): unknown[] {
  return checkArray(OWNER, `'${path}'`, value, max);
}

function finite(value: unknown, path: string): number {
  return checkNumber(OWNER, `'${path}'`, value);
}

function text(value: unknown, path: string, emptyAllowed = false): string {
  return checkString(OWNER, `'${path}'`, value, emptyAllowed);
}

function optionalText(value: unknown, path: string): string | undefined {
  return value === undefined ? undefined : text(value, path, true);
}

/** Attribute values as the API allows them: primitives, or arrays of them. */
function attributes(value: unknown, path: string): Attributes {
  const object = record(value, path);
  for (const [key, v] of Object.entries(object)) {
    const ok =
      isPrimitive(v) ||
      (Array.isArray(v) && v.every(e => e === null || isPrimitive(e)));
    if (!ok) throw new TypeError(`'${path}.${key}' is not an attribute value`);
  }
  return object as Record<string, AttributeValue>;
}

function isPrimitive(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

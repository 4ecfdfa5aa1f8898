import { ValueType } from '@opentelemetry/api';
import {
  AttributeReader,
  checkArray,
  checkNumber,
  checkRecord,
  checkString,
} from '@datapunk/otel-common';
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import type { ResolvedOptions } from '../options';
import type { Aggregate } from '../store/Aggregate';
import type { MetricStore } from '../store/MetricStore';
import { aggregateFromJSON } from '../store/aggregateFromJSON';
import type { Scope, SeriesState, Stream } from '../store/Stream';
import { MetricKind } from '../types';

const FORMAT = 'datapunk.metrics.snapshot';
/** 2: one JSON document per line (header, then a metric line before its series' lines). */
const VERSION = 2;
/** More points in one tier of one series than any valid configuration keeps. */
const MAX_POINTS_PER_TIER = 100_000;

type Json = Record<string, unknown>;

/** Text is written in chunks of about this many characters. */
const CHUNK_CHARS = 1 << 20;

/**
 * The store as versioned, line-delimited JSON, in chunks: a header line,
 * then per metric a line of its own and one line per series (live state
 * and history), one series per step, for the reader to run in slices. One
 * line per series lets a restore parse it in slices too.
 */
export function* takeSnapshot(
  store: MetricStore,
  options: ResolvedOptions,
  nowMillis: number
): Generator<void, string[], undefined> {
  const chunks: string[] = [];
  let text = `${JSON.stringify({
    format: FORMAT,
    version: VERSION,
    savedAtMillis: nowMillis,
    tiers: options.tiers.map(t => [t.resolutionMillis, t.durationMillis]),
  })}\n`;
  for (const stream of store.streams.values()) {
    text += `${JSON.stringify({
      metric: {
        scope: { ...stream.scope },
        descriptor: {
          name: stream.descriptor.name,
          description: stream.descriptor.description,
          unit: stream.descriptor.unit,
          valueType: stream.descriptor.valueType,
        },
        kind: stream.aggregator.kind,
        monotonic: stream.isMonotonic,
      },
    })}\n`;
    for (let series = 0; series < stream.idLimit; series++) {
      if (!stream.exists(series)) continue;
      text += `${JSON.stringify({ series: seriesJson(stream, series) })}\n`;
      if (text.length >= CHUNK_CHARS) {
        chunks.push(text);
        text = '';
      }
      yield;
    }
  }
  chunks.push(text);
  return chunks;
}

function seriesJson(stream: Stream, series: number): Json {
  const state = stream.state(series);
  return {
    attributes: stream.attributesOf(series),
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

/** One metric of a parsed snapshot, with its series. */
interface ParsedMetric {
  scope: Scope;
  descriptor: MetricData['descriptor'];
  kind: MetricKind;
  monotonic: boolean;
  series: { attributes: Attributes; state: SeriesState }[];
}

/** A snapshot checked from end to end, ready to apply. */
export interface ParsedSnapshot {
  metrics: ParsedMetric[];
  /** History points dated after the restore (a clock that went back, a forged file): dropped. */
  futurePoints: number;
}

/**
 * Checks and decodes a whole snapshot, one line per step, without touching
 * the store: a malformed line anywhere means nothing of it is applied.
 * History is kept only when the tiers are configured as they were; points
 * dated after `nowMillis` are dropped (counted), times in the future are
 * brought back to `nowMillis`.
 * @throws {TypeError|RangeError} naming the line and field, for a foreign,
 *   older or newer, or malformed snapshot.
 */
export function* parseSnapshot(
  chunks: readonly Buffer[],
  options: ResolvedOptions,
  nowMillis: number
): Generator<void, ParsedSnapshot, undefined> {
  const lines = splitLines(chunks);
  const first = lines.next();
  if (first.done) throw new TypeError('the file is empty');
  const root = record(parseLine(first.value, 1), 'line 1');
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
  const quantiles = options.summary?.quantiles ?? [];
  const parsed: ParsedSnapshot = { metrics: [], futurePoints: 0 };
  let number = 1;
  for (const line of lines) {
    number++;
    if (line.length === 0) continue;
    const entry = record(parseLine(line, number), `line ${number}`);
    if (entry.metric !== undefined) {
      parsed.metrics.push(
        parseMetric(record(entry.metric, `line ${number}.metric`), number)
      );
    } else {
      const metric = parsed.metrics[parsed.metrics.length - 1];
      if (metric === undefined)
        throw new TypeError(`line ${number}: a series before any metric`);
      metric.series.push(
        parseSeries(
          record(entry.series, `line ${number}.series`),
          `line ${number}.series`,
          metric.kind,
          quantiles,
          sameTiers,
          nowMillis,
          parsed
        )
      );
    }
    yield;
  }
  return parsed;
}

/**
 * Loads a parsed snapshot into the store, one series per step, through the
 * same limits as new data.
 */
export function* applySnapshot(
  store: MetricStore,
  snapshot: ParsedSnapshot
): Generator<void, void, undefined> {
  store.stats.evictedPoints.add('future', snapshot.futurePoints);
  const reader = new AttributeReader(store.limits);
  for (const metric of snapshot.metrics) {
    const stream = store.streamFor(
      metric.scope,
      metric.descriptor,
      metric.kind,
      metric.monotonic
    );
    if (stream === undefined) {
      store.stats.droppedPoints.add('metric_limit', metric.series.length);
      continue;
    }
    for (const { attributes, state } of metric.series) {
      stream.restore(reader.readKey(attributes)!.key, state, store.stats);
      yield;
    }
  }
}

/** The file's lines, decoded one at a time (a line may span chunks). */
function* splitLines(chunks: readonly Buffer[]): Generator<string> {
  let pending: Buffer[] = [];
  for (const chunk of chunks) {
    let from = 0;
    for (;;) {
      const end = chunk.indexOf(0x0a, from);
      if (end < 0) break;
      pending.push(chunk.subarray(from, end));
      yield Buffer.concat(pending).toString('utf8');
      pending = [];
      from = end + 1;
    }
    if (from < chunk.length) pending.push(chunk.subarray(from));
  }
  if (pending.length > 0) yield Buffer.concat(pending).toString('utf8');
}

function parseLine(line: string, number: number): unknown {
  try {
    return JSON.parse(line, refusePrototypeObjects);
  } catch (error) {
    const why =
      error instanceof SyntaxError
        ? 'is not JSON (truncated or corrupt)'
        : 'is refused';
    throw new TypeError(`line ${number} ${why}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * A JSON.parse reviver refusing a `__proto__` key that holds an object: no
 * snapshot we write has one (attribute values are primitives), and code that
 * copied it by assignment would replace a prototype. A primitive one is a
 * legitimate attribute key.
 */
function refusePrototypeObjects(key: string, value: unknown): unknown {
  if (key === '__proto__' && typeof value === 'object' && value !== null)
    throw new TypeError("a '__proto__' key holds an object");
  return value;
}

function parseMetric(metric: Json, number: number): ParsedMetric {
  const path = `line ${number}.metric`;
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
  return {
    scope: {
      name: text(scope.name, `${path}.scope.name`),
      version: optionalText(scope.version, `${path}.scope.version`),
      schemaUrl: optionalText(scope.schemaUrl, `${path}.scope.schemaUrl`),
    },
    descriptor: {
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
    monotonic: metric.monotonic === true,
    series: [],
  };
}

function parseSeries(
  series: Json,
  at: string,
  kind: MetricKind,
  quantiles: readonly number[],
  sameTiers: boolean,
  nowMillis: number,
  parsed: ParsedSnapshot
): { attributes: Attributes; state: SeriesState } {
  const live =
    series.live === null
      ? undefined
      : aggregateFromJSON(kind, series.live, `${at}.live`, quantiles);
  const history = sameTiers
    ? list(series.history, `${at}.history`).map((tier, t) => {
        const points: [number, Aggregate][] = [];
        list(tier, `${at}.history[${t}]`, MAX_POINTS_PER_TIER).forEach(
          (point, p) => {
            const pair = list(point, `${at}.history[${t}][${p}]`);
            const start = finite(pair[0], `${at}.history[${t}][${p}][0]`);
            const value = aggregateFromJSON(
              kind,
              pair[1],
              `${at}.history[${t}][${p}][1]`,
              quantiles
            );
            if (start >= nowMillis) parsed.futurePoints++;
            else points.push([start, value]);
          }
        );
        return points;
      })
    : [];
  const totals =
    series.deltaTotals === undefined
      ? undefined
      : list(series.deltaTotals, `${at}.deltaTotals`);
  const notAfterNow = (value: unknown, field: string) =>
    Math.min(finite(value, field), nowMillis);
  return {
    attributes: attributes(series.attributes, `${at}.attributes`),
    state: {
      startMillis: notAfterNow(series.startMillis, `${at}.startMillis`),
      lastUpdateMillis: notAfterNow(
        series.lastUpdateMillis,
        `${at}.lastUpdateMillis`
      ),
      pendingSinceMillis: notAfterNow(
        series.pendingSinceMillis,
        `${at}.pendingSinceMillis`
      ),
      live,
      totals: totals && {
        count: finite(totals[0], `${at}.deltaTotals[0]`),
        sum: finite(totals[1], `${at}.deltaTotals[1]`),
      },
      history,
    },
  };
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

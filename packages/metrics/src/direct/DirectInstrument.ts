import type { Attributes } from '@opentelemetry/api';
import type { ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
} from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  ExponentialHistogram,
  MetricData,
} from '@opentelemetry/sdk-metrics';
import type { ExponentialSketchOptions } from '@datapunk/otel-sketch';
import { OVERFLOW_ATTRIBUTES } from '../attributes';
import { LastValueSeries, SketchSeries, SumSeries } from './DirectSeries';
import type { DirectSeries } from './DirectSeries';

export type DirectKind = 'counter' | 'gauge' | 'histogram';

export interface DirectDescriptor {
  name: string;
  description: string;
  unit: string;
  valueType: ValueType;
}

/** What an attributes object held when it was last looked up. */
interface CachedLookup {
  keys: string[];
  values: unknown[];
  series: DirectSeries;
}

/** Attribute objects missed lately that are held to spot reuse. */
const RECENT_MISSES = 16;

/** Collections without data after which an idle series is let go. */
const IDLE_COLLECTIONS = 10;

/**
 * One instrument recorded directly, without the SDK: its series by
 * attribute set. A set is hashed once, when bound (or when an attributes
 * object is first seen); an object passed again is recognised by identity
 * and checked entry by entry, so one the caller changed is looked up anew.
 * Past `maxSeries` sets, new ones fold into the overflow series, as the
 * SDK's cardinality limit does, so the reader's limits then apply the same.
 */
export class DirectInstrument {
  readonly descriptor: DirectDescriptor;
  readonly kind: DirectKind;
  private readonly _maxSeries: number;
  private readonly _sketch: ExponentialSketchOptions;
  private readonly _series = new Map<string, DirectSeries>();
  private readonly _lookups = new WeakMap<object, CachedLookup>();
  private readonly _recentMisses: Attributes[] = [];
  private _nextMiss = 0;
  private _closed = false;

  constructor(
    descriptor: DirectDescriptor,
    kind: DirectKind,
    maxSeries: number,
    sketch: ExponentialSketchOptions
  ) {
    this.descriptor = descriptor;
    this.kind = kind;
    this._maxSeries = maxSeries;
    this._sketch = sketch;
  }

  /** The series of an attribute set (a copy is kept), made if new. */
  bind(attributes: Attributes | undefined): DirectSeries {
    const keys = definedKeys(attributes);
    const key = setKey(attributes, keys);
    const existing = this._series.get(key);
    if (existing !== undefined) return existing;
    if (this._series.size >= this._maxSeries - 1) return this._overflow();
    const copy: Attributes = {};
    for (const name of keys) copy[name] = attributes![name];
    return this._add(key, copy);
  }

  /**
   * As {@link bind}, recognising an object passed again: then it costs a
   * check, not a hash. Only an object seen twice is remembered, so a caller
   * that builds a new object per call pays no more than the hash.
   */
  lookup(attributes: Attributes | undefined): DirectSeries {
    if (attributes === undefined) return this.bind(undefined);
    const cached = this._lookups.get(attributes);
    if (cached !== undefined && sameEntries(attributes, cached)) {
      const series = cached.series;
      if (series.live) return series;
    }
    const series = this.bind(attributes);
    if (cached === undefined && !this._seenOnce(attributes)) return series;
    const keys: string[] = [];
    const values: unknown[] = [];
    for (const key in attributes) {
      const value = attributes[key];
      // An array value could change inside: such an object is not remembered.
      if (Array.isArray(value)) return series;
      keys.push(key);
      values.push(value);
    }
    this._lookups.set(attributes, { keys, values, series });
    return series;
  }

  /** A series let go while idle, in use again: back in (or merged into its set's new one). */
  revive(series: DirectSeries): DirectSeries {
    const current = this._series.get(series.key);
    if (current !== undefined) return current;
    if (this._series.size >= this._maxSeries - 1) return this._overflow();
    series.live = true;
    series.idle = 0;
    this._series.set(series.key, series);
    return series;
  }

  /**
   * The deltas since the last collection, as the SDK's delta data; idle
   * series are let go. Yields after each series (work for a SlicedTask).
   */
  *collect(
    startTime: [number, number],
    endTime: [number, number]
  ): Generator<void, MetricData | undefined> {
    const points: DataPoint<number | ExponentialHistogram>[] = [];
    for (const series of this._series.values()) {
      yield;
      if (!series.dirty) {
        if (++series.idle >= IDLE_COLLECTIONS) {
          series.live = false;
          this._series.delete(series.key);
        }
        continue;
      }
      series.idle = 0;
      points.push({
        attributes: series.attributes,
        startTime,
        endTime,
        value: series.take(),
      });
    }
    if (points.length === 0) return undefined;
    const common = {
      descriptor: this.descriptor,
      aggregationTemporality: AggregationTemporality.DELTA,
    };
    switch (this.kind) {
      case 'counter':
        return {
          ...common,
          dataPointType: DataPointType.SUM,
          isMonotonic: true,
          dataPoints: points as DataPoint<number>[],
        };
      case 'gauge':
        return {
          ...common,
          dataPointType: DataPointType.GAUGE,
          dataPoints: points as DataPoint<number>[],
        };
      case 'histogram':
        return {
          ...common,
          dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
          dataPoints: points as DataPoint<ExponentialHistogram>[],
        };
    }
  }

  /**
   * Stops every series: their handles' next uses are counted no-ops. What
   * they recorded before still goes out with the next (final) collection.
   */
  close(): void {
    this._closed = true;
    for (const series of this._series.values()) series.live = false;
  }

  /** Whether an object missed recently (then it is being reused); else it is noted. */
  private _seenOnce(attributes: Attributes): boolean {
    const recent = this._recentMisses;
    for (let i = 0; i < recent.length; i++)
      if (recent[i] === attributes) return true;
    recent[this._nextMiss] = attributes;
    this._nextMiss = (this._nextMiss + 1) % RECENT_MISSES;
    return false;
  }

  private _overflow(): DirectSeries {
    const key = setKey(OVERFLOW_ATTRIBUTES, definedKeys(OVERFLOW_ATTRIBUTES));
    return this._series.get(key) ?? this._add(key, OVERFLOW_ATTRIBUTES);
  }

  private _add(key: string, attributes: Attributes): DirectSeries {
    const series =
      this.kind === 'counter'
        ? new SumSeries(key, attributes)
        : this.kind === 'gauge'
          ? new LastValueSeries(key, attributes)
          : new SketchSeries(key, attributes, this._sketch);
    series.live = !this._closed;
    this._series.set(key, series);
    return series;
  }
}

/** Whether an attributes object still holds what it held when cached. */
function sameEntries(attributes: Attributes, cached: CachedLookup): boolean {
  let i = 0;
  for (const key in attributes) {
    if (key !== cached.keys[i] || attributes[key] !== cached.values[i])
      return false;
    i++;
  }
  return i === cached.keys.length;
}

/** An attribute set's names with a value, sorted. */
function definedKeys(attributes: Attributes | undefined): string[] {
  const keys: string[] = [];
  if (attributes === undefined) return keys;
  for (const name of Object.keys(attributes))
    if (attributes[name] !== undefined) keys.push(name);
  return keys.sort();
}

/** One string per attribute set (as the SDK hashes one). */
function setKey(attributes: Attributes | undefined, keys: string[]): string {
  return JSON.stringify(keys.map(name => [name, attributes![name]]));
}

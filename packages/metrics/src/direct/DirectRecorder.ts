import { emptyResource } from '@opentelemetry/resources';
import type {
  CollectionResult,
  MetricData,
  MetricProducer,
  ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { SlicedTask } from '@datapunk/otel-common';
import type { ExponentialSketchOptions } from '@datapunk/otel-sketch';
import { hrTime } from '../export/buildResourceMetrics';
import { DirectInstrument } from './DirectInstrument';
import type { DirectDescriptor, DirectKind } from './DirectInstrument';

/**
 * Instruments recorded without the SDK (the Instruments facade's, when it has
 * the reader), handed to the reader as one of its MetricProducers: the SDK
 * merges their deltas into every collection of the reader, so they are
 * folded, limited, expired, summarised, persisted and exported on exactly
 * the path of the SDK's own data, under the facade's meter scope.
 */
export class DirectRecorder implements MetricProducer {
  private readonly _scopes = new Map<string, Map<string, DirectInstrument>>();
  private readonly _maxSeries: number;
  private readonly _sketch: ExponentialSketchOptions;
  private _lastCollectionMillis = Date.now();
  private _closed = false;

  /**
   * @param maxSeriesPerMetric the reader's limit: twice it is kept per
   *   collection, as the reader asks of the SDK.
   */
  constructor(maxSeriesPerMetric: number, sketch: ExponentialSketchOptions) {
    this._maxSeries = 2 * maxSeriesPerMetric;
    this._sketch = sketch;
  }

  /** Whether the reader has shut down: nothing is recorded any more. */
  get closed(): boolean {
    return this._closed;
  }

  /** The instrument `descriptor.name` of `kind` in a meter scope, made on first use. */
  instrument(
    scope: string,
    descriptor: DirectDescriptor,
    kind: DirectKind
  ): DirectInstrument {
    let instruments = this._scopes.get(scope);
    if (instruments === undefined) {
      instruments = new Map();
      this._scopes.set(scope, instruments);
    }
    let instrument = instruments.get(descriptor.name);
    if (instrument === undefined) {
      instrument = new DirectInstrument(
        descriptor,
        kind,
        this._maxSeries,
        this._sketch
      );
      if (this._closed) instrument.close();
      instruments.set(descriptor.name, instrument);
    }
    return instrument;
  }

  /** Every instrument's deltas, a few ms of series at a time (never one long block). */
  async collect(): Promise<CollectionResult> {
    const now = Date.now();
    const start = hrTime(this._lastCollectionMillis);
    const end = hrTime(now);
    this._lastCollectionMillis = now;
    const scopeMetrics = await new SlicedTask(
      this._collectScopes(start, end)
    ).run();
    return {
      resourceMetrics: { resource: emptyResource(), scopeMetrics },
      errors: [],
    };
  }

  private *_collectScopes(
    start: [number, number],
    end: [number, number]
  ): Generator<void, ScopeMetrics[]> {
    const scopeMetrics: ScopeMetrics[] = [];
    for (const [name, instruments] of this._scopes) {
      const metrics: MetricData[] = [];
      for (const instrument of instruments.values()) {
        const data = yield* instrument.collect(start, end);
        if (data !== undefined) metrics.push(data);
      }
      if (metrics.length > 0) scopeMetrics.push({ scope: { name }, metrics });
    }
    return scopeMetrics;
  }

  /** At shutdown, before the final collection: every handle's next use is a counted no-op. */
  close(): void {
    this._closed = true;
    for (const instruments of this._scopes.values())
      for (const instrument of instruments.values()) instrument.close();
  }
}

import { metrics as metricsApi } from '@opentelemetry/api';
import type { Attributes, MeterProvider } from '@opentelemetry/api';
import { InstrumentationBase } from '@opentelemetry/instrumentation';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { Breaker } from '../Breaker';
import { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import type { CircuitBreakerMetricsOptions } from '../types';

export interface CircuitBreakerInstrumentationConfig
  extends InstrumentationConfig {
  /** The collector to report to; by default the instrumentation makes one (see `metrics` getter). */
  metrics?: CircuitBreakerMetrics;
  /** Options of the collector it makes (unused with `metrics`). */
  metricsOptions?: Omit<CircuitBreakerMetricsOptions, 'meterProvider'>;
  /** Names a breaker; undefined keeps the default (opossum's own name; `cockatiel-1`, … for cockatiel). */
  nameOf?: (breaker: object) => string | undefined;
  /** Attributes for every breaker it reports. */
  attributes?: Attributes;
}

/**
 * What the opossum and cockatiel instrumentations share: a collector made on
 * first use (on the MeterProvider given to the instrumentation, the global
 * one otherwise), and attaching each breaker once, on its first call.
 */
export abstract class BreakerInstrumentation extends InstrumentationBase<CircuitBreakerInstrumentationConfig> {
  private _collector: CircuitBreakerMetrics | undefined;
  private _provider: MeterProvider | undefined;
  private _seen = new WeakMap<object, Breaker | undefined>();

  /** The collector breakers are reported to: health, snapshots and events come from it. */
  get metrics(): CircuitBreakerMetrics {
    this._collector ??=
      this._config.metrics ??
      new CircuitBreakerMetrics({
        ...this._config.metricsOptions,
        meterProvider: this._provider ?? metricsApi.getMeterProvider(),
      });
    return this._collector;
  }

  override setMeterProvider(meterProvider: MeterProvider): void {
    super.setMeterProvider(meterProvider);
    this._provider = meterProvider;
    if (this._collector !== undefined && this._config.metrics === undefined) {
      this._collector.setMeterProvider(meterProvider);
    }
  }

  /**
   * The recorder of `target`, attaching it on first sight; undefined if it
   * cannot be (reported once, never thrown into the caller's call).
   */
  protected _recorderOf(
    target: object,
    attach: (metrics: CircuitBreakerMetrics) => Breaker
  ): Breaker | undefined {
    // Fields are set after InstrumentationBase's constructor, which may already patch.
    this._seen ??= new WeakMap();
    if (this._seen.has(target)) {
      const known = this._seen.get(target);
      if (known === undefined || !known.disposed) return known;
    }
    let recorder: Breaker | undefined;
    try {
      recorder = attach(this.metrics);
    } catch (error) {
      this._diag.warn(`could not instrument a breaker: ${String(error)}`);
    }
    this._seen.set(target, recorder);
    return recorder;
  }
}

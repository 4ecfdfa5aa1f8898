import type { Attributes, MeterProvider } from '@opentelemetry/api';
import { InstrumentationBase } from '@opentelemetry/instrumentation';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import { attachOnce } from '../adapters/attach';
import type { RegisterBreaker } from '../adapters/attach';
import type { Breaker } from '../Breaker';
import { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import type { CircuitBreakerMetricsOptions } from '../types';

export interface CircuitBreakerInstrumentationConfig
  extends InstrumentationConfig {
  /**
   * The collector to report to. By default every instrumentation without
   * one (opossum's and cockatiel's) shares one collector, made on first use.
   */
  collector?: CircuitBreakerMetrics;
  /** Options of a collector of its own, made on first use (unused with `collector`). */
  collectorOptions?: Omit<CircuitBreakerMetricsOptions, 'meterProvider'>;
  /** Names a breaker; undefined keeps the default (opossum's own name; `cockatiel-1`, … for cockatiel). */
  nameOf?: (breaker: object) => string | undefined;
  /** Attributes for every breaker it reports. */
  attributes?: Attributes;
}

/**
 * The collectors instrumentations share when given neither a collector nor
 * options for one: one per MeterProvider they are given, one for the global.
 */
const sharedByProvider = new WeakMap<MeterProvider, CircuitBreakerMetrics>();
let sharedGlobal: CircuitBreakerMetrics | undefined;

/**
 * What the opossum and cockatiel instrumentations share: the collector (the
 * shared one unless configured otherwise, on the MeterProvider given to the
 * instrumentation or the global one), and attaching each breaker once, on
 * its first call.
 */
export abstract class BreakerInstrumentation extends InstrumentationBase<CircuitBreakerInstrumentationConfig> {
  private _collector: CircuitBreakerMetrics | undefined;
  private _provider: MeterProvider | undefined;
  /** Breakers that could not be attached: not tried again at every call. */
  private _failed = new WeakSet<object>();

  /** The collector breakers are reported to: health, snapshots and events come from it. */
  get collector(): CircuitBreakerMetrics {
    this._collector ??= this._config.collector ?? this._makeCollector();
    return this._collector;
  }

  override setMeterProvider(meterProvider: MeterProvider): void {
    super.setMeterProvider(meterProvider);
    this._provider = meterProvider;
    // A collector of its own follows; a shared one belongs to its provider.
    if (this._config.collectorOptions !== undefined)
      this._collector?.setMeterProvider(meterProvider);
  }

  /**
   * The recorder of `target`, attaching it on first sight; undefined if it
   * cannot be (reported once, never thrown into the caller's call) or was
   * disposed (a shut-down breaker is not attached again).
   */
  protected _recorderOf(
    target: object,
    connect: (register: RegisterBreaker) => Breaker
  ): Breaker | undefined {
    // Fields are set after InstrumentationBase's constructor, which may already patch.
    this._failed ??= new WeakSet();
    if (this._failed.has(target)) return undefined;
    try {
      return attachOnce(this.collector, target, false, connect);
    } catch (error) {
      this._failed.add(target);
      this._diag.warn(`could not instrument a breaker: ${String(error)}`);
      return undefined;
    }
  }

  private _makeCollector(): CircuitBreakerMetrics {
    const meterProvider = this._provider;
    if (this._config.collectorOptions !== undefined) {
      return new CircuitBreakerMetrics({
        ...this._config.collectorOptions,
        ...(meterProvider ? { meterProvider } : {}),
      });
    }
    if (meterProvider === undefined)
      return (sharedGlobal ??= new CircuitBreakerMetrics());
    let collector = sharedByProvider.get(meterProvider);
    if (collector === undefined) {
      collector = new CircuitBreakerMetrics({ meterProvider });
      sharedByProvider.set(meterProvider, collector);
    }
    return collector;
  }
}

import type { Attributes, MeterProvider } from '@opentelemetry/api';
import { InstrumentationBase } from '@opentelemetry/instrumentation';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  AttributeReader,
  OptionReader,
  isPlainObject,
} from '@datapunk/otel-common';
import { attachOnce, isCollector } from '../adapters/attach';
import type { RegisterBreaker } from '../adapters/attach';
import type { Breaker } from '../Breaker';
import { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import {
  DEFAULT_BREAKER_ATTRIBUTE_BOUNDS,
  copyOptions,
  readAttributeOption,
  resolveOptions,
} from '../options';
import { errorText } from '../readForeign';
import type { CircuitBreakerMetricsOptions } from '../types';

export interface CircuitBreakerInstrumentationConfig
  extends InstrumentationConfig {
  /**
   * The collector to report to. By default every instrumentation without
   * one (opossum's and cockatiel's) shares one collector, made on first use.
   */
  collector?: CircuitBreakerMetrics;
  /**
   * Options of a collector of its own, made on first use; not with
   * `collector`. Its MeterProvider is the instrumentation's.
   */
  collectorOptions?: Omit<CircuitBreakerMetricsOptions, 'meterProvider'>;
  /**
   * Names a breaker; undefined keeps the default (opossum's own name;
   * `cockatiel-1`, … for cockatiel). A breaker it names badly (or that it
   * throws for) is not reported, and counted in the collector's `rejectedInputs`.
   */
  nameOf?: (breaker: object) => string | undefined;
  /** Attributes for every breaker it reports: OpenTelemetry attribute values. */
  attributes?: Attributes;
}

const CONFIG_KEYS = [
  'enabled',
  'collector',
  'collectorOptions',
  'nameOf',
  'attributes',
] as const;

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

  /**
   * Checks the configuration, at construction and at every setConfig():
   * `enabled` (InstrumentationConfig's), `collector`, `collectorOptions`,
   * `nameOf` and `attributes`; anything else is refused.
   * @throws {TypeError|RangeError} naming the option and the rule.
   */
  override setConfig(config: CircuitBreakerInstrumentationConfig = {}): void {
    super.setConfig(readConfig(this.constructor.name, config));
  }

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
    if (typeof target !== 'object' || target === null) return undefined;
    if (this._failed.has(target)) return undefined;
    const collector = this.collector;
    try {
      return attachOnce(collector, target, false, connect);
    } catch (error) {
      this._failed.add(target);
      try {
        collector['_rejectInput'](
          'uninstrumented',
          `a breaker could not be instrumented: ${errorText(error)}`
        );
      } catch {
        // Only a diag logger of the host's that throws gets here.
      }
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

/**
 * The configuration as checked plain data: what InstrumentationBase keeps.
 * Attributes are read and bounded by the limits of the collector they go
 * to (the given one, one of `collectorOptions`, or the shared one's).
 */
function readConfig(
  owner: string,
  config: unknown
): CircuitBreakerInstrumentationConfig {
  const copy = copyOptions(owner, config ?? undefined);
  if (isPlainObject(copy) && 'metrics' in copy && !('collector' in copy)) {
    throw new TypeError(
      `${owner}: option 'metrics' is now 'collector' (a CircuitBreakerMetrics)`
    );
  }
  const reader = new OptionReader(owner, copy, CONFIG_KEYS);
  const read: CircuitBreakerInstrumentationConfig = {};
  if (reader.raw('enabled') != null)
    read.enabled = reader.boolean('enabled', true);
  const collector = reader.raw('collector');
  const options = reader.raw('collectorOptions');
  if (collector != null) {
    if (!isCollector(collector))
      return reader.failType('collector', 'a CircuitBreakerMetrics', collector);
    if (options != null)
      reader.fail(
        'collectorOptions',
        "is for a collector of the instrumentation's own: not with 'collector'"
      );
    read.collector = collector;
  }
  let bounds = DEFAULT_BREAKER_ATTRIBUTE_BOUNDS;
  if (options != null) {
    const plain = copyOptions(owner, options, 'collectorOptions');
    if (isPlainObject(plain) && 'meterProvider' in plain) {
      throw new TypeError(
        `${owner}: unknown option 'collectorOptions.meterProvider': the collector is on the instrumentation's MeterProvider (registerInstrumentations' meterProvider, or setMeterProvider())`
      );
    }
    bounds = resolveOptions(
      plain as CircuitBreakerMetricsOptions,
      owner,
      'collectorOptions'
    ).attributeBounds;
    read.collectorOptions = plain as CircuitBreakerMetricsOptions;
  }
  const nameOf = reader.raw('nameOf');
  if (nameOf != null) {
    if (typeof nameOf !== 'function')
      reader.failType('nameOf', 'a function', nameOf);
    read.nameOf = nameOf as CircuitBreakerInstrumentationConfig['nameOf'];
  }
  if (reader.raw('attributes') != null) {
    read.attributes = isCollector(collector)
      ? collector['_readAttributes'](reader)
      : readAttributeOption(reader, 'attributes', new AttributeReader(bounds))
          .attributes;
  }
  return read;
}

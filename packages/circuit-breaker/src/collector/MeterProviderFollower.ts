import { createNoopMeter, metrics } from '@opentelemetry/api';
import type { MeterProvider } from '@opentelemetry/api';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import { BreakerInstruments } from '../BreakerInstruments';
import type { BreakerResults } from '../BreakerResults';
import type { ResolvedOptions } from '../options';
import { VERSION } from '../version';

const METER_NAME = '@datapunk/otel-circuit-breaker';
const NOOP_METER = createNoopMeter().constructor;

/**
 * A collector's instruments, on the MeterProvider it was given or on the
 * global one. The OTel API has no proxy for the global MeterProvider:
 * instruments made before one is registered stay no-ops. So while it
 * follows the global one, {@link follow} (at every tick) moves the
 * instruments to a new global provider, and says once while there is none
 * that the metrics go nowhere.
 */
export class MeterProviderFollower {
  private readonly _options: ResolvedOptions;
  private readonly _breakers: () => Iterable<BreakerResults>;
  private readonly _diag: RateLimitedDiag;
  private _provider: MeterProvider;
  private _instruments: BreakerInstruments;
  private _followsGlobal: boolean;
  private _warnedNoProvider = false;

  constructor(
    options: ResolvedOptions,
    breakers: () => Iterable<BreakerResults>,
    diag: RateLimitedDiag
  ) {
    this._options = options;
    this._breakers = breakers;
    this._diag = diag;
    this._followsGlobal = options.meterProvider === undefined;
    this._provider = options.meterProvider ?? metrics.getMeterProvider();
    this._instruments = this._create(this._provider);
  }

  /** The instruments on the provider followed now. */
  get instruments(): BreakerInstruments {
    return this._instruments;
  }

  /** Moves to `meterProvider` for good: the global one is not followed any more. */
  setMeterProvider(meterProvider: MeterProvider): void {
    this._followsGlobal = false;
    this._use(meterProvider);
  }

  /** Moves to the global provider if it changed (while following it). */
  follow(): void {
    if (!this._followsGlobal) return;
    const global = metrics.getMeterProvider();
    if (global !== this._provider) this._use(global);
    else if (!this._warnedNoProvider && isNoop(global)) {
      this._warnedNoProvider = true;
      this._diag.warn(
        'no_provider',
        'no global MeterProvider is registered: breaker metrics go nowhere until one is (e.g. by setupMetrics()); they follow it from then on'
      );
    }
  }

  dispose(): void {
    this._instruments.dispose();
  }

  private _use(meterProvider: MeterProvider): void {
    this._instruments.dispose();
    this._provider = meterProvider;
    this._instruments = this._create(meterProvider);
  }

  private _create(meterProvider: MeterProvider): BreakerInstruments {
    return new BreakerInstruments(
      meterProvider.getMeter(METER_NAME, VERSION),
      this._options,
      this._breakers
    );
  }
}

/** Whether a provider is the API's no-op one, which it returns while none is registered. */
function isNoop(provider: MeterProvider): boolean {
  return provider.getMeter(METER_NAME).constructor === NOOP_METER;
}

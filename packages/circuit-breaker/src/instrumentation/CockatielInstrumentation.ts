import {
  InstrumentationNodeModuleDefinition,
  isWrapped,
} from '@opentelemetry/instrumentation';
import {
  connectCockatiel,
  executeTracked,
} from '../adapters/instrumentCockatiel';
import type { CockatielLike } from '../adapters/instrumentCockatiel';
import { VERSION } from '../version';
import { BreakerInstrumentation } from './BreakerInstrumentation';
import type { CircuitBreakerInstrumentationConfig } from './BreakerInstrumentation';

interface CockatielExports {
  CircuitBreakerPolicy?: { prototype: CockatielLike };
}

/**
 * Instruments every cockatiel (3.2, 4) CircuitBreakerPolicy without code
 * changes, rejections and calls in flight included: a policy is attached on
 * its first execute(). CommonJS through the require hook; cockatiel 4 is
 * ESM-only, and is instrumented when Node starts with
 * `--import` of a file that registers `@opentelemetry/instrumentation/hook.mjs`
 * (see the README). cockatiel policies have no names: they are reported as
 * `cockatiel-1`, `cockatiel-2`, … unless `nameOf` names them.
 */
export class CockatielInstrumentation extends BreakerInstrumentation {
  private _count = 0;

  constructor(config: CircuitBreakerInstrumentationConfig = {}) {
    super('@datapunk/otel-circuit-breaker/cockatiel', VERSION, config);
  }

  protected override init(): InstrumentationNodeModuleDefinition {
    return new InstrumentationNodeModuleDefinition(
      'cockatiel',
      ['>=3.2.0 <5'],
      exports => this._patch(exports as CockatielExports),
      exports => this._unpatch(exports as CockatielExports | undefined)
    );
  }

  private _patch<T extends CockatielExports>(exports: T): T {
    const prototype = exports?.CircuitBreakerPolicy?.prototype;
    if (typeof prototype?.execute !== 'function') {
      this._diag.warn(
        'cockatiel exports no CircuitBreakerPolicy: not instrumented'
      );
      return exports;
    }
    if (isWrapped(prototype.execute)) this._unwrap(prototype, 'execute');
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper needs both `this`s
    const instrumentation = this;
    this._wrap(
      prototype,
      'execute',
      original =>
        function <T>(
          this: CockatielLike,
          fn: Parameters<CockatielLike['execute']>[0],
          signal?: AbortSignal
        ): Promise<T> {
          const config = instrumentation.getConfig();
          const recorder = instrumentation._recorderOf(this, register =>
            connectCockatiel(this, register, {
              name:
                config.nameOf?.(this) ??
                `cockatiel-${++instrumentation._count}`,
              attributes: config.attributes,
            })
          );
          return recorder
            ? executeTracked<T>(recorder, this, original, fn, signal)
            : (original.call(this, fn, signal) as Promise<T>);
        }
    );
    return exports;
  }

  private _unpatch(exports: CockatielExports | undefined): void {
    const prototype = exports?.CircuitBreakerPolicy?.prototype;
    if (prototype !== undefined && isWrapped(prototype.execute))
      this._unwrap(prototype, 'execute');
  }
}

import {
  InstrumentationNodeModuleDefinition,
  isWrapped,
} from '@opentelemetry/instrumentation';
import { connectOpossum } from '../adapters/instrumentOpossum';
import type { OpossumLike } from '../adapters/instrumentOpossum';
import { VERSION } from '../version';
import { BreakerInstrumentation } from './BreakerInstrumentation';
import type { CircuitBreakerInstrumentationConfig } from './BreakerInstrumentation';

const METHODS = ['fire', 'call'] as const;
type Patched = Record<
  (typeof METHODS)[number],
  (...args: unknown[]) => unknown
>;

/**
 * Instruments every opossum (8–10) CircuitBreaker without code changes:
 * `registerInstrumentations({ instrumentations: [new OpossumInstrumentation()] })`
 * before opossum is required. A breaker is attached on its first fire() or
 * call(), named by opossum (options.name, or the action's name; one named
 * with a random UUID is reported as 'opossum'); never again once it shut down.
 */
export class OpossumInstrumentation extends BreakerInstrumentation {
  constructor(config: CircuitBreakerInstrumentationConfig = {}) {
    super('@datapunk/otel-circuit-breaker/opossum', VERSION, config);
  }

  protected override init(): InstrumentationNodeModuleDefinition {
    return new InstrumentationNodeModuleDefinition(
      'opossum',
      ['>=8.0.0 <11'],
      exports => this._patch(exports as { prototype?: Patched }),
      exports => this._unpatch(exports as { prototype?: Patched } | undefined)
    );
  }

  private _patch<T extends { prototype?: Patched }>(CircuitBreaker: T): T {
    const prototype = CircuitBreaker?.prototype;
    if (typeof prototype?.fire !== 'function') {
      this._diag.warn(
        'opossum exports no CircuitBreaker class: not instrumented'
      );
      return CircuitBreaker;
    }
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper needs both `this`s
    const instrumentation = this;
    for (const method of METHODS) {
      if (isWrapped(prototype[method])) this._unwrap(prototype, method);
      this._wrap(
        prototype,
        method,
        original =>
          function (this: OpossumLike, ...args: unknown[]) {
            const config = instrumentation.getConfig();
            instrumentation._recorderOf(this, register =>
              connectOpossum(this, register, {
                name: config.nameOf?.(this),
                attributes: config.attributes,
              })
            );
            return original.apply(this, args);
          }
      );
    }
    return CircuitBreaker;
  }

  private _unpatch(CircuitBreaker: { prototype?: Patched } | undefined): void {
    const prototype = CircuitBreaker?.prototype;
    if (prototype === undefined) return;
    for (const method of METHODS)
      if (isWrapped(prototype[method])) this._unwrap(prototype, method);
  }
}

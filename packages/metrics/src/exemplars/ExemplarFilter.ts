import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  TraceFlags,
  context as contextApi,
  diag,
  trace,
} from '@opentelemetry/api';
import type { Context, SpanContext } from '@opentelemetry/api';
import type { OptionReader } from '@datapunk/otel-common';
import type { ExemplarBudget } from './ExemplarBudget';

/**
 * Which measurements may become exemplars (the specification's
 * ExemplarFilter): every one, none, or those recorded in a sampled span.
 */
export type ExemplarFilterName = 'always_on' | 'always_off' | 'trace_based';

export const EXEMPLAR_FILTERS: readonly ExemplarFilterName[] = [
  'always_on',
  'always_off',
  'trace_based',
];

/** The specification's default. */
export const DEFAULT_EXEMPLAR_FILTER: ExemplarFilterName = 'trace_based';

const ENV = 'OTEL_METRICS_EXEMPLAR_FILTER';

/**
 * The `exemplarFilter` option, else OTEL_METRICS_EXEMPLAR_FILTER
 * (case-insensitive), else 'trace_based'. An unknown value in the
 * environment is reported through diag and ignored, as the specification
 * asks of enum variables; in the option it throws.
 * @throws {RangeError} naming the option and its values.
 */
export function resolveExemplarFilter(
  options: OptionReader,
  env: NodeJS.ProcessEnv = process.env
): ExemplarFilterName {
  return options.oneOf('exemplarFilter', EXEMPLAR_FILTERS, filterFromEnv(env));
}

function filterFromEnv(env: NodeJS.ProcessEnv): ExemplarFilterName {
  const given = env[ENV]?.trim();
  if (!given) return DEFAULT_EXEMPLAR_FILTER;
  const name = given.toLowerCase() as ExemplarFilterName;
  if (EXEMPLAR_FILTERS.includes(name)) return name;
  diag.warn(
    `@datapunk/otel-metrics: ${ENV}='${given}' is not one of ${EXEMPLAR_FILTERS.join(', ')}; using '${DEFAULT_EXEMPLAR_FILTER}'`
  );
  return DEFAULT_EXEMPLAR_FILTER;
}

/**
 * The record path's half of exemplars: whether a measurement may become
 * one, and the span it was recorded in. Undefined: not eligible (the
 * common case, answered from the context alone: no clock is read).
 */
export interface ExemplarEligibility {
  /** The span of an eligible measurement (INVALID_SPAN_CONTEXT: none). */
  spanOf(context: Context | undefined): SpanContext | undefined;
}

/**
 * The filter a provider's instruments check; undefined for 'always_off',
 * so that they do nothing at all for exemplars.
 */
export function eligibilityOf(
  name: ExemplarFilterName,
  budget: ExemplarBudget
): ExemplarEligibility | undefined {
  switch (name) {
    case 'always_off':
      return undefined;
    case 'always_on':
      return new AlwaysOn(budget);
    case 'trace_based':
      return new TraceBased(budget);
  }
}

/** The context's span context; undefined for none, or for a context that is none. */
abstract class SpanReader implements ExemplarEligibility {
  private readonly _budget: ExemplarBudget;

  constructor(budget: ExemplarBudget) {
    this._budget = budget;
  }

  abstract spanOf(context: Context | undefined): SpanContext | undefined;

  /** The span context of `given`, else of the active context. */
  protected _read(given: Context | undefined): SpanContext | undefined {
    // null, as undefined, means none was passed.
    const active = given == null ? contextApi.active() : given;
    // Outside any span the active context is the root one: no look-up.
    if (active === ROOT_CONTEXT) return undefined;
    try {
      return trace.getSpanContext(active);
    } catch {
      // A value passed as the context that is no Context, or a span that throws.
      this._budget.drop(
        'invalid_context',
        'a measurement came with a context that could not be read; it is recorded without an exemplar'
      );
      return undefined;
    }
  }
}

/** Measurements recorded in a sampled span. */
class TraceBased extends SpanReader {
  spanOf(context: Context | undefined): SpanContext | undefined {
    const span = this._read(context);
    return span !== undefined && (span.traceFlags & TraceFlags.SAMPLED) !== 0
      ? span
      : undefined;
  }
}

/** Every measurement, with its span when there is one. */
class AlwaysOn extends SpanReader {
  spanOf(context: Context | undefined): SpanContext {
    return this._read(context) ?? INVALID_SPAN_CONTEXT;
  }
}

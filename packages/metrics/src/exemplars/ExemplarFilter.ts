import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  TraceFlags,
  context as contextApi,
  createContextKey,
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

/** Measurements between two checks of whether contexts propagate. */
const RECORDS_PER_PROBE = 1024;
const PROBE = ROOT_CONTEXT.setValue(
  createContextKey('@datapunk/otel-metrics context probe'),
  true
);

/** The context's span context; undefined for none, or for a context that is none. */
abstract class SpanReader implements ExemplarEligibility {
  private readonly _budget: ExemplarBudget;
  /** Whether a context manager that propagates contexts is registered, as of the last probe. */
  private _propagates = false;
  private _recordsUntilProbe = 0;

  constructor(budget: ExemplarBudget) {
    this._budget = budget;
  }

  abstract spanOf(context: Context | undefined): SpanContext | undefined;

  /** The span context of `given`, else of the active context. */
  protected _read(given: Context | undefined): SpanContext | undefined {
    // null, as undefined, means none was passed.
    if (given == null) {
      // Without a context manager the active context is always the root one,
      // yet asking the API for it costs up to a fifth of a bound record: ask it
      // whether contexts propagate once every RECORDS_PER_PROBE records
      // instead (a manager registered meanwhile is seen that many records late).
      if (--this._recordsUntilProbe < 0) this._probe();
      if (!this._propagates) return undefined;
    }
    try {
      const active = given == null ? contextApi.active() : given;
      // Outside any span the active context is the root one: no look-up.
      if (active === ROOT_CONTEXT) return undefined;
      return trace.getSpanContext(active);
    } catch {
      // A value passed as the context that is no Context, a span or a context manager that throws.
      this._budget.drop(
        'invalid_context',
        'a measurement came with a context that could not be read; it is recorded without an exemplar'
      );
      return undefined;
    }
  }

  private _probe(): void {
    this._recordsUntilProbe = RECORDS_PER_PROBE;
    try {
      this._propagates = contextApi.with(
        PROBE,
        () => contextApi.active() === PROBE
      );
    } catch {
      // A context manager that throws: read the context, where that is counted.
      this._propagates = true;
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

/**
 * The record path of every exemplar filter in one process, paired: a
 * provider per filter and the plain SDK's MeterProvider side by side,
 * every path run in each of many short rounds (in a rotating order), and
 * each path's time divided by `always_off`'s of the same kind in the same
 * round, so that what the machine does meanwhile falls on both sides of
 * the ratio. Paths: `histogram.record(v, attributes)` (one attributes
 * object passed again) and bound `record(v)`, outside any span, in an
 * unsampled span and in a sampled one (spans from the real tracing SDK).
 * `node exemplarPaths.js [no-context-manager]` prints one JSON line; run
 * by exemplars.bench.ts. By default the context manager Node services use
 * (AsyncLocalStorage) is registered; with `no-context-manager` none is (a
 * service without tracing) and only the no-span case is run.
 */
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import type { Attributes, Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { median } from '@datapunk/bench-kit';
import { RetentionMeterProvider } from '../../src';
import type { ExemplarFilterName } from '../../src';
import { NullExporter } from './NullExporter';
import { attributesOf, latencies } from './workload';

export type ExemplarFilter = ExemplarFilterName;
export const EXEMPLAR_FILTERS: ExemplarFilter[] = [
  'always_off',
  'trace_based',
  'always_on',
];
export const SPAN_CASES = [
  'no span',
  'an unsampled span',
  'a sampled span',
] as const;
export type SpanCase = (typeof SPAN_CASES)[number];
export const RECORD_KINDS = ['record', 'bound record'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

const RECORDS = 50_000;
const ROUNDS = 61;
/** Never on its own during a round: collections run between rounds. */
const IDLE_MILLIS = 3_600_000;

export interface ExemplarPathResult {
  /** Undefined: the SDK's `Histogram.record`. */
  filter: ExemplarFilter | undefined;
  kind: RecordKind;
  spanCase: SpanCase;
  /** Median over rounds. */
  nanosPerRecord: number;
  /** Median over rounds of this path's time over always_off's (same kind, no span) in the round; undefined for the SDK. */
  overAlwaysOff?: RatioInterval;
  /** The same over the SDK's no-span record. */
  overSdk: RatioInterval;
}

/** A median of per-round ratios and its 95% confidence interval. */
export interface RatioInterval {
  median: number;
  low: number;
  high: number;
}

/** The provider's own non-API handle on one attribute set. */
interface Bindable {
  bind(attributes: Attributes): { record(value: number): boolean };
}

/**
 * The median of `ratios` with a distribution-free 95% interval: the order
 * statistics n/2 ∓ 1.96·√n/2 (the binomial's normal approximation).
 */
function medianInterval(ratios: readonly number[]): RatioInterval {
  const sorted = ratios.slice().sort((a, b) => a - b);
  const n = sorted.length;
  const half = (1.96 * Math.sqrt(n)) / 2;
  return {
    median: median(sorted),
    low: sorted[Math.max(0, Math.floor(n / 2 - half))],
    high: sorted[Math.min(n - 1, Math.ceil(n / 2 + half))],
  };
}

async function measure(
  withContextManager: boolean
): Promise<ExemplarPathResult[]> {
  if (withContextManager)
    context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  const spanIn = (sampled: boolean): Context =>
    trace.setSpan(
      ROOT_CONTEXT,
      new TracerProvider({
        sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler(),
      })
        .getTracer('bench')
        .startSpan('call')
    );
  // Undefined: run outside any context.with, as work outside a request does.
  const contexts: Record<SpanCase, Context | undefined> = {
    'no span': undefined,
    'an unsampled span': spanIn(false),
    'a sampled span': spanIn(true),
  };
  const shared = attributesOf(7);
  const values = latencies();
  const mask = values.length - 1;
  const sdk = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new NullExporter('latency'),
        exportIntervalMillis: IDLE_MILLIS,
      }),
    ],
  });
  const sdkHistogram = sdk.getMeter('bench').createHistogram('latency');
  const providers = EXEMPLAR_FILTERS.map(
    exemplarFilter =>
      new RetentionMeterProvider({
        exporter: new NullExporter('latency'),
        collectionIntervalMillis: IDLE_MILLIS,
        exportIntervalMillis: IDLE_MILLIS,
        exemplarFilter,
      })
  );
  const recordsOf = (provider: RetentionMeterProvider) => {
    const histogram = provider.getMeter('bench').createHistogram('latency');
    const bound = (histogram as unknown as Bindable).bind(shared);
    return {
      record: (j: number) => histogram.record(values[j & mask], shared),
      'bound record': (j: number) => bound.record(values[j & mask]),
    };
  };
  const records = providers.map(recordsOf);
  const recordOf = (
    filter: ExemplarFilter | undefined,
    kind: RecordKind
  ): ((j: number) => void) =>
    filter === undefined
      ? j => sdkHistogram.record(values[j & mask], shared)
      : records[EXEMPLAR_FILTERS.indexOf(filter)][kind];
  // Without a context manager, context.with runs its function in no context.
  const spanCases = withContextManager ? SPAN_CASES : SPAN_CASES.slice(0, 1);
  const paths = [undefined, ...EXEMPLAR_FILTERS].flatMap(filter =>
    (filter === undefined ? RECORD_KINDS.slice(0, 1) : RECORD_KINDS).flatMap(
      kind =>
        spanCases.map(spanCase => ({
          filter,
          kind,
          spanCase,
          record: recordOf(filter, kind),
        }))
    )
  );
  const times = paths.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < paths.length; k++) {
      const i = (k + round) % paths.length;
      const { record, spanCase } = paths[i];
      const run = () => {
        const start = process.hrtime.bigint();
        for (let j = 0; j < RECORDS; j++) record(j);
        times[i].push(Number(process.hrtime.bigint() - start) / RECORDS);
      };
      const inContext = contexts[spanCase];
      if (inContext === undefined) run();
      else context.with(inContext, run);
    }
    // Between rounds, as in a service: what was recorded is collected
    // (and the reservoirs start a new cycle).
    await Promise.all([sdk, ...providers].map(p => p.forceFlush()));
  }
  await Promise.all([sdk, ...providers].map(p => p.shutdown()));
  const timesOf = (filter: ExemplarFilter | undefined, kind: RecordKind) =>
    times[
      paths.findIndex(
        p => p.filter === filter && p.kind === kind && p.spanCase === 'no span'
      )
    ];
  const perRound = (mine: number[], base: number[]) =>
    medianInterval(mine.map((t, round) => t / base[round]));
  return paths.map(({ filter, kind, spanCase }, i) => ({
    filter,
    kind,
    spanCase,
    nanosPerRecord: median(times[i]),
    overAlwaysOff:
      filter === undefined
        ? undefined
        : perRound(times[i], timesOf('always_off', kind)),
    overSdk: perRound(times[i], timesOf(undefined, 'record')),
  }));
}

export const EXEMPLAR_PATHS_NOTE = `one process: a provider per filter and the SDK's MeterProvider side by side; ${ROUNDS} rounds, each running every path ${RECORDS.toLocaleString('en')} times (rotating order, wall time), collections between rounds`;

if (require.main === module) {
  measure(process.argv[2] !== 'no-context-manager').then(
    results => console.log(JSON.stringify(results)),
    error => {
      console.error(error);
      process.exitCode = 1;
    }
  );
}

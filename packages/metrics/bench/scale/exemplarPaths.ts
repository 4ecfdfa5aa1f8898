/**
 * The record path of one exemplar filter, in a process of its own (so
 * the JIT sees one filter, as in a service): CPU ns per
 * `histogram.record(v, attributes)` (one attributes object passed again)
 * and per bound `record(v)`, outside any span, in an unsampled span and in
 * a sampled one, beside the plain SDK's record (which keeps no exemplars)
 * in the same cases. Paths interleaved, the context manager Node services
 * use (AsyncLocalStorage), spans from the real tracing SDK.
 * `node exemplarPaths.js <filter> [no-context-manager]` prints one JSON
 * line; run by exemplars.bench.ts. With `no-context-manager` none is
 * registered (a service without tracing): only the no-span case is run.
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
export const RECORD_KINDS = ['SDK record', 'record', 'bound record'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

const RECORDS = 500_000;
const ROUNDS = 11;
/** Never on its own during a round: collections run between rounds. */
const IDLE_MILLIS = 3_600_000;

export interface ExemplarPathResult {
  kind: RecordKind;
  spanCase: SpanCase;
  nanosPerRecord: number;
}

/** The provider's own non-API handle on one attribute set. */
interface Bindable {
  bind(attributes: Attributes): { record(value: number): boolean };
}

async function measure(
  filter: ExemplarFilter,
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
  const provider = new RetentionMeterProvider({
    exporter: new NullExporter('latency'),
    collectionIntervalMillis: IDLE_MILLIS,
    exportIntervalMillis: IDLE_MILLIS,
    exemplarFilter: filter,
  });
  const sdkHistogram = sdk.getMeter('bench').createHistogram('latency');
  const histogram = provider.getMeter('bench').createHistogram('latency');
  const bound = (histogram as unknown as Bindable).bind(shared);
  const records: Record<RecordKind, (j: number) => void> = {
    'SDK record': j => sdkHistogram.record(values[j & mask], shared),
    record: j => histogram.record(values[j & mask], shared),
    'bound record': j => bound.record(values[j & mask]),
  };
  // Without a context manager, context.with runs its function in no context.
  const spanCases = withContextManager ? SPAN_CASES : SPAN_CASES.slice(0, 1);
  const paths = RECORD_KINDS.flatMap(kind =>
    spanCases.map(spanCase => ({ kind, spanCase }))
  );
  const times = paths.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < paths.length; k++) {
      const i = (k + round) % paths.length;
      const record = records[paths[i].kind];
      const run = () => {
        // CPU time, not wall time: on a shared machine, waiting for a core is not the path's cost.
        const start = process.cpuUsage();
        for (let j = 0; j < RECORDS; j++) record(j);
        const used = process.cpuUsage(start);
        times[i].push(((used.user + used.system) * 1000) / RECORDS);
      };
      const inContext = contexts[paths[i].spanCase];
      if (inContext === undefined) run();
      else context.with(inContext, run);
    }
    // Between rounds, as in a service: what was recorded is collected
    // (and the reservoirs start a new cycle).
    await Promise.all([sdk.forceFlush(), provider.forceFlush()]);
  }
  await Promise.all([sdk.shutdown(), provider.shutdown()]);
  return paths.map((path, i) => ({
    ...path,
    nanosPerRecord: median(times[i]),
  }));
}

export const EXEMPLAR_PATHS_NOTE = `${RECORDS.toLocaleString('en')} records per path per round, paths interleaved, CPU time (process.cpuUsage) per record, median of ${ROUNDS} rounds, collections between rounds; AsyncLocalStorageContextManager`;

if (require.main === module) {
  measure(
    process.argv[2] as ExemplarFilter,
    process.argv[3] !== 'no-context-manager'
  ).then(
    results => console.log(JSON.stringify(results)),
    error => {
      console.error(error);
      process.exitCode = 1;
    }
  );
}

import type {
  MetricProducer,
  PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { OptionReader } from '@datapunk/otel-common';
import { resolveExemplarFilter } from './exemplars/ExemplarFilter';
import type { ExemplarFilterName } from './exemplars/ExemplarFilter';
import type {
  RetentionMetricReaderOptions,
  RetentionTier,
  SummaryOptions,
} from './types';

const OWNER = 'RetentionMetricReader';

/** Every option of the reader, which setupMetrics takes as well. */
export const READER_OPTIONS: readonly (keyof RetentionMetricReaderOptions)[] = [
  'exporter',
  'collectionIntervalMillis',
  'exportIntervalMillis',
  'exportTimeoutMillis',
  'maxExportBatchSize',
  'seriesTtlMillis',
  'maxBuckets',
  'maxScale',
  'tiers',
  'limits',
  'summary',
  'persistence',
  'metricProducers',
  'exemplarFilter',
];
const MAX_TIERS = 8;
const MAX_SUMMARY_SLOTS = 60;

export const DEFAULTS = {
  collectionIntervalMillis: 10_000,
  exportIntervalMillis: 60_000,
  exportTimeoutMillis: 30_000,
  maxExportBatchSize: 1000,
  seriesTtlMillis: 300_000,
  maxBuckets: 520,
  maxScale: 5,
  /** Tier 0: 10 s points for 10 min; tier 1: 1 min points for 1 h. */
  fineResolutionMillis: 10_000,
  fineDurationMillis: 600_000,
  coarseResolutionMillis: 60_000,
  coarseDurationMillis: 3_600_000,
  maxMetrics: 1000,
  maxSeriesPerMetric: 2000,
  maxAttributesPerSeries: 32,
  maxAttributeValueLength: 1024,
  maxAttributeBytesPerSeries: 16 * 1024,
  maxRetainedBytes: 64 * 1024 * 1024,
  maxExemplarBytes: 16 * 1024 * 1024,
  summaryWindowMillis: 300_000,
  summarySlots: 5,
  quantiles: [0.5, 0.9, 0.95, 0.99],
  persistenceIntervalMillis: 60_000,
  maxFileBytes: 256 * 1024 * 1024,
} as const;

export interface ResolvedSummary {
  windowMillis: number;
  slots: number;
  /** Sorted, distinct, in (0, 1). */
  quantiles: number[];
  export: NonNullable<SummaryOptions['export']>;
}

export interface ResolvedLimits {
  maxMetrics: number;
  maxSeriesPerMetric: number;
  maxAttributesPerSeries: number;
  maxAttributeValueLength: number;
  maxAttributeBytesPerSeries: number;
  maxRetainedBytes: number;
  maxExemplarBytes: number;
}

export interface ResolvedPersistence {
  path: string;
  intervalMillis: number;
  maxFileBytes: number;
}

/** Every option with its default, validated together. */
export interface ResolvedOptions {
  exporter: PushMetricExporter | undefined;
  collectionIntervalMillis: number;
  exportIntervalMillis: number;
  exportTimeoutMillis: number;
  maxExportBatchSize: number;
  seriesTtlMillis: number;
  maxBuckets: number;
  maxScale: number;
  tiers: RetentionTier[];
  limits: ResolvedLimits;
  summary: ResolvedSummary | undefined;
  persistence: ResolvedPersistence | undefined;
  metricProducers: MetricProducer[];
  exemplarFilter: ExemplarFilterName;
}

/**
 * Applies defaults and checks every option and the rules between them.
 * @throws {TypeError|RangeError} naming the option and the rule broken.
 */
export function resolveOptions(
  options: RetentionMetricReaderOptions = {},
  owner = OWNER
): ResolvedOptions {
  const reader = new OptionReader(owner, options, READER_OPTIONS);
  const positive = { min: 1 };
  // Each default adapts to the other when only one is given (collecting
  // every 10 s, but no less often than exporting); given together they must fit.
  const exportGiven =
    reader.raw('exportIntervalMillis') == null
      ? undefined
      : reader.integer('exportIntervalMillis', undefined, positive);
  const collectionIntervalMillis = reader.integer(
    'collectionIntervalMillis',
    Math.min(
      DEFAULTS.collectionIntervalMillis,
      exportGiven ?? DEFAULTS.collectionIntervalMillis
    ),
    positive
  );
  const exportIntervalMillis =
    exportGiven ??
    Math.max(DEFAULTS.exportIntervalMillis, collectionIntervalMillis);
  reader.ordered(
    'exportIntervalMillis',
    exportIntervalMillis,
    '≥',
    'collectionIntervalMillis',
    collectionIntervalMillis
  );
  // The default timeout shrinks to a shorter interval; a given one must fit.
  const exportTimeoutMillis = reader.integer(
    'exportTimeoutMillis',
    Math.min(DEFAULTS.exportTimeoutMillis, exportIntervalMillis),
    positive
  );
  reader.ordered(
    'exportTimeoutMillis',
    exportTimeoutMillis,
    '≤',
    'exportIntervalMillis',
    exportIntervalMillis
  );
  const seriesTtlMillis = reader.integer(
    'seriesTtlMillis',
    Math.max(DEFAULTS.seriesTtlMillis, exportIntervalMillis),
    positive
  );
  reader.ordered(
    'seriesTtlMillis',
    seriesTtlMillis,
    '≥',
    'exportIntervalMillis',
    exportIntervalMillis,
    'or series could expire before being exported'
  );
  return {
    exporter: resolveExporter(reader),
    collectionIntervalMillis,
    exportIntervalMillis,
    exportTimeoutMillis,
    maxExportBatchSize: reader.integer(
      'maxExportBatchSize',
      DEFAULTS.maxExportBatchSize,
      positive
    ),
    seriesTtlMillis,
    maxBuckets: reader.integer('maxBuckets', DEFAULTS.maxBuckets, {
      min: 2,
      max: 16384,
    }),
    maxScale: reader.integer('maxScale', DEFAULTS.maxScale, {
      min: -10,
      max: 20,
    }),
    tiers: resolveTiers(reader, collectionIntervalMillis),
    limits: resolveLimits(reader),
    summary: resolveSummary(reader, collectionIntervalMillis),
    persistence: resolvePersistence(reader),
    metricProducers: resolveProducers(reader),
    exemplarFilter: resolveExemplarFilter(reader),
  };
}

function resolveExporter(reader: OptionReader): PushMetricExporter | undefined {
  const exporter = reader.raw('exporter') as PushMetricExporter | undefined;
  if (exporter === undefined) return undefined;
  if (
    typeof exporter !== 'object' ||
    exporter === null ||
    typeof exporter.export !== 'function' ||
    typeof exporter.shutdown !== 'function' ||
    typeof exporter.forceFlush !== 'function'
  ) {
    reader.failType(
      'exporter',
      'a PushMetricExporter (export, forceFlush, shutdown)',
      exporter
    );
  }
  return exporter;
}

function resolveTiers(
  reader: OptionReader,
  collectionIntervalMillis: number
): RetentionTier[] {
  const given = reader.raw('tiers');
  if (given === undefined) return defaultTiers(collectionIntervalMillis);
  if (!Array.isArray(given) || given.length > MAX_TIERS) {
    reader.failType('tiers', `an array of at most ${MAX_TIERS} tiers`, given);
  }
  const tiers: RetentionTier[] = [];
  given.forEach((value: unknown, i) => {
    const tier = new OptionReader(
      reader.owner,
      value,
      ['resolutionMillis', 'durationMillis'],
      `tiers[${i}]`
    );
    const resolutionMillis = tier.integer('resolutionMillis', undefined, {
      min: 1,
    });
    const durationMillis = tier.integer('durationMillis', undefined, {
      min: 1,
    });
    if (resolutionMillis % collectionIntervalMillis !== 0) {
      tier.fail(
        'resolutionMillis',
        `must be a multiple of 'collectionIntervalMillis' (${collectionIntervalMillis})`,
        resolutionMillis
      );
    }
    const previous = tiers[i - 1];
    if (previous) {
      const before = `tiers[${i - 1}]`;
      tier.ordered(
        'resolutionMillis',
        resolutionMillis,
        '>',
        `${before}.resolutionMillis`,
        previous.resolutionMillis
      );
      if (resolutionMillis % previous.resolutionMillis !== 0) {
        tier.fail(
          'resolutionMillis',
          `must be a multiple of '${before}.resolutionMillis' (${previous.resolutionMillis}) so points roll up whole`,
          resolutionMillis
        );
      }
    }
    tier.ordered(
      'durationMillis',
      durationMillis,
      '≥',
      `tiers[${i}].resolutionMillis`,
      resolutionMillis
    );
    if (previous) {
      tier.ordered(
        'durationMillis',
        durationMillis,
        '>',
        `tiers[${i - 1}].durationMillis`,
        previous.durationMillis
      );
    }
    tiers.push({ resolutionMillis, durationMillis });
  });
  return tiers;
}

/**
 * 10 s points for 10 min, then 1 min points for 1 h, each resolution rounded
 * up to a multiple of the collection interval (one tier when both round to
 * the same resolution).
 */
function defaultTiers(collectionIntervalMillis: number): RetentionTier[] {
  const fine = roundUpToMultiple(
    DEFAULTS.fineResolutionMillis,
    collectionIntervalMillis
  );
  const coarse = roundUpToMultiple(DEFAULTS.coarseResolutionMillis, fine);
  const fineDuration = Math.max(DEFAULTS.fineDurationMillis, fine);
  const coarseDuration = Math.max(
    DEFAULTS.coarseDurationMillis,
    fineDuration + coarse
  );
  if (coarse === fine)
    return [{ resolutionMillis: fine, durationMillis: coarseDuration }];
  return [
    { resolutionMillis: fine, durationMillis: fineDuration },
    { resolutionMillis: coarse, durationMillis: coarseDuration },
  ];
}

function roundUpToMultiple(value: number, unit: number): number {
  return Math.ceil(value / unit) * unit;
}

function resolveLimits(reader: OptionReader): ResolvedLimits {
  const limits = reader.nested('limits', [
    'maxMetrics',
    'maxSeriesPerMetric',
    'maxAttributesPerSeries',
    'maxAttributeValueLength',
    'maxAttributeBytesPerSeries',
    'maxRetainedBytes',
    'maxExemplarBytes',
  ]);
  const atLeastOne = { min: 1 };
  return {
    maxMetrics: limits.integer('maxMetrics', DEFAULTS.maxMetrics, atLeastOne),
    maxSeriesPerMetric: limits.integer(
      'maxSeriesPerMetric',
      DEFAULTS.maxSeriesPerMetric,
      { min: 2 }
    ),
    maxAttributesPerSeries: limits.integer(
      'maxAttributesPerSeries',
      DEFAULTS.maxAttributesPerSeries,
      atLeastOne
    ),
    maxAttributeValueLength: limits.integer(
      'maxAttributeValueLength',
      DEFAULTS.maxAttributeValueLength,
      atLeastOne
    ),
    maxAttributeBytesPerSeries: limits.integer(
      'maxAttributeBytesPerSeries',
      DEFAULTS.maxAttributeBytesPerSeries,
      { min: 64 }
    ),
    maxRetainedBytes: limits.integer(
      'maxRetainedBytes',
      DEFAULTS.maxRetainedBytes,
      atLeastOne
    ),
    maxExemplarBytes: limits.integer(
      'maxExemplarBytes',
      DEFAULTS.maxExemplarBytes,
      { min: 0 }
    ),
  };
}

function resolveSummary(
  reader: OptionReader,
  collectionIntervalMillis: number
): ResolvedSummary | undefined {
  if (reader.raw('summary') === false) return undefined;
  const summary = reader.nested('summary', [
    'windowMillis',
    'slots',
    'quantiles',
    'export',
  ]);
  // Defaults adapt to a long collection interval; given values must fit it.
  const windowMillis = summary.integer(
    'windowMillis',
    Math.max(DEFAULTS.summaryWindowMillis, collectionIntervalMillis),
    { min: 1 }
  );
  summary.ordered(
    'windowMillis',
    windowMillis,
    '≥',
    'collectionIntervalMillis',
    collectionIntervalMillis
  );
  const slots = summary.integer(
    'slots',
    Math.max(
      1,
      Math.min(
        DEFAULTS.summarySlots,
        Math.floor(windowMillis / collectionIntervalMillis)
      )
    ),
    { min: 1, max: MAX_SUMMARY_SLOTS }
  );
  if (windowMillis / slots < collectionIntervalMillis) {
    summary.fail(
      'slots',
      `must leave each slot (windowMillis / slots) ≥ 'collectionIntervalMillis' (${collectionIntervalMillis})`,
      slots
    );
  }
  return {
    windowMillis,
    slots,
    // Min (0) and max (1) are always reported.
    quantiles: summary.quantiles('quantiles', DEFAULTS.quantiles, {
      maxLength: 32,
    }),
    export: summary.oneOf(
      'export',
      ['auto', 'summary', 'gauges', 'none'],
      'auto'
    ),
  };
}

function resolvePersistence(
  reader: OptionReader
): ResolvedPersistence | undefined {
  if (reader.raw('persistence') == null) return undefined;
  const persistence = reader.nested('persistence', [
    'path',
    'intervalMillis',
    'maxFileBytes',
  ]);
  return {
    path: persistence.string('path'),
    intervalMillis: persistence.integer(
      'intervalMillis',
      DEFAULTS.persistenceIntervalMillis,
      { min: 1 }
    ),
    maxFileBytes: persistence.integer('maxFileBytes', DEFAULTS.maxFileBytes, {
      min: 1024,
    }),
  };
}

function resolveProducers(reader: OptionReader): MetricProducer[] {
  const producers = reader.raw('metricProducers') ?? [];
  if (
    !Array.isArray(producers) ||
    producers.some(p => typeof p?.collect !== 'function')
  ) {
    reader.failType(
      'metricProducers',
      'an array of MetricProducers',
      producers
    );
  }
  return producers;
}

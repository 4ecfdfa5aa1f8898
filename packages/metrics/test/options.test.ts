import { expect } from 'chai';
import {
  AggregationTemporality,
  AggregationType,
  InstrumentType,
} from '@opentelemetry/sdk-metrics';
import { RetentionMetricReader } from '../src';
import { harness, points } from './util';
import type { RetentionMetricReaderOptions } from '../src';
import { VERSION } from '../src';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const make = (options: unknown) => () =>
  new RetentionMetricReader(options as RetentionMetricReaderOptions);

describe('RetentionMetricReader options', () => {
  const invalid: [string, unknown, ErrorConstructor, RegExp][] = [
    [
      'options that are not an object',
      'fast',
      TypeError,
      /^RetentionMetricReader: options must be an object, got the string "fast"$/,
    ],
    [
      'an unknown option',
      { collectIntervalMillis: 5 },
      TypeError,
      /unknown option 'collectIntervalMillis' \(known: exporter, collectionIntervalMillis, /,
    ],
    [
      'a collection interval of 0',
      { collectionIntervalMillis: 0 },
      RangeError,
      /option 'collectionIntervalMillis' must be an integer ≥ 1, got 0/,
    ],
    [
      'a fractional collection interval',
      { collectionIntervalMillis: 2.5 },
      RangeError,
      /'collectionIntervalMillis' must be an integer ≥ 1, got 2.5/,
    ],
    [
      'an export interval below the collection interval',
      { collectionIntervalMillis: 10_000, exportIntervalMillis: 5000 },
      RangeError,
      /option 'exportIntervalMillis' must be ≥ 'collectionIntervalMillis' \(10000\), got 5000/,
    ],
    [
      'an export timeout above the export interval',
      { exportIntervalMillis: 20_000, exportTimeoutMillis: 30_000 },
      RangeError,
      /option 'exportTimeoutMillis' must be ≤ 'exportIntervalMillis' \(20000\), got 30000/,
    ],
    [
      'a TTL below the export interval',
      { exportIntervalMillis: 60_000, seriesTtlMillis: 30_000 },
      RangeError,
      /option 'seriesTtlMillis' must be ≥ 'exportIntervalMillis' \(60000\), or series could expire before being exported, got 30000/,
    ],
    [
      'maxBuckets of 1',
      { maxBuckets: 1 },
      RangeError,
      /option 'maxBuckets' must be an integer ≥ 2 and ≤ 16384, got 1/,
    ],
    [
      'maxScale of 21',
      { maxScale: 21 },
      RangeError,
      /option 'maxScale' must be an integer ≥ -10 and ≤ 20, got 21/,
    ],
    [
      'an exporter without export()',
      { exporter: { shutdown() {} } },
      TypeError,
      /option 'exporter' must be a PushMetricExporter \(export, forceFlush, shutdown\), got an object/,
    ],
    [
      'tiers that are not an array',
      { tiers: {} },
      TypeError,
      /option 'tiers' must be an array of at most 8 tiers, got an object/,
    ],
    [
      'a tier without a duration',
      { tiers: [{ resolutionMillis: 10_000 }] },
      TypeError,
      /option 'tiers\[0\]\.durationMillis' must be given \(a number\), got undefined/,
    ],
    [
      'an unknown tier field',
      {
        tiers: [{ resolutionMillis: 10_000, durationMillis: 60_000, keep: 1 }],
      },
      TypeError,
      /unknown option 'tiers\[0\]\.keep'/,
    ],
    [
      'a tier resolution not a multiple of the collection interval',
      {
        collectionIntervalMillis: 10_000,
        tiers: [{ resolutionMillis: 15_000, durationMillis: 60_000 }],
      },
      RangeError,
      /option 'tiers\[0\]\.resolutionMillis' must be a multiple of 'collectionIntervalMillis' \(10000\), got 15000/,
    ],
    [
      'tier resolutions not increasing',
      {
        tiers: [
          { resolutionMillis: 60_000, durationMillis: 600_000 },
          { resolutionMillis: 60_000, durationMillis: 3_600_000 },
        ],
      },
      RangeError,
      /option 'tiers\[1\]\.resolutionMillis' must be > 'tiers\[0\]\.resolutionMillis' \(60000\), got 60000/,
    ],
    [
      'a tier resolution not a multiple of the previous one',
      {
        tiers: [
          { resolutionMillis: 20_000, durationMillis: 600_000 },
          { resolutionMillis: 30_000, durationMillis: 3_600_000 },
        ],
      },
      RangeError,
      /option 'tiers\[1\]\.resolutionMillis' must be a multiple of 'tiers\[0\]\.resolutionMillis' \(20000\) so points roll up whole, got 30000/,
    ],
    [
      'a tier shorter than its resolution',
      { tiers: [{ resolutionMillis: 60_000, durationMillis: 10_000 }] },
      RangeError,
      /option 'tiers\[0\]\.durationMillis' must be ≥ 'tiers\[0\]\.resolutionMillis' \(60000\), got 10000/,
    ],
    [
      'tier durations not increasing',
      {
        tiers: [
          { resolutionMillis: 10_000, durationMillis: 600_000 },
          { resolutionMillis: 60_000, durationMillis: 600_000 },
        ],
      },
      RangeError,
      /option 'tiers\[1\]\.durationMillis' must be > 'tiers\[0\]\.durationMillis' \(600000\), got 600000/,
    ],
    [
      'nine tiers',
      {
        tiers: new Array(9).fill({
          resolutionMillis: 10_000,
          durationMillis: 10_000,
        }),
      },
      TypeError,
      /'tiers' must be an array of at most 8 tiers, got an array of 9/,
    ],
    [
      'maxMetrics of 0',
      { limits: { maxMetrics: 0 } },
      RangeError,
      /option 'limits\.maxMetrics' must be an integer ≥ 1, got 0/,
    ],
    [
      'maxSeriesPerMetric of 1',
      { limits: { maxSeriesPerMetric: 1 } },
      RangeError,
      /option 'limits\.maxSeriesPerMetric' must be an integer ≥ 2, got 1/,
    ],
    [
      'maxAttributesPerSeries of 0',
      { limits: { maxAttributesPerSeries: 0 } },
      RangeError,
      /option 'limits\.maxAttributesPerSeries' must be an integer ≥ 1, got 0/,
    ],
    [
      'maxAttributeValueLength as text',
      { limits: { maxAttributeValueLength: '64' } },
      TypeError,
      /option 'limits\.maxAttributeValueLength' must be a number, got the string "64"/,
    ],
    [
      'maxRetainedBytes of -1',
      { limits: { maxRetainedBytes: -1 } },
      RangeError,
      /option 'limits\.maxRetainedBytes' must be an integer ≥ 1, got -1/,
    ],
    [
      'an unknown limit',
      { limits: { maxSeries: 5 } },
      TypeError,
      /unknown option 'limits\.maxSeries'/,
    ],
    [
      'a summary window below the collection interval',
      { collectionIntervalMillis: 10_000, summary: { windowMillis: 5000 } },
      RangeError,
      /option 'summary\.windowMillis' must be ≥ 'collectionIntervalMillis' \(10000\), got 5000/,
    ],
    [
      'summary slots shorter than a collection',
      {
        collectionIntervalMillis: 10_000,
        summary: { windowMillis: 60_000, slots: 10 },
      },
      RangeError,
      /option 'summary\.slots' must leave each slot \(windowMillis \/ slots\) ≥ 'collectionIntervalMillis' \(10000\), got 10/,
    ],
    [
      '61 summary slots',
      { summary: { slots: 61 } },
      RangeError,
      /option 'summary\.slots' must be an integer ≥ 1 and ≤ 60, got 61/,
    ],
    [
      'a quantile of 1',
      { summary: { quantiles: [0.5, 1] } },
      RangeError,
      /option 'summary\.quantiles' must hold numbers > 0 and < 1, got 1/,
    ],
    [
      'a percentile among the quantiles',
      { summary: { quantiles: [0.5, 99.9] } },
      RangeError,
      /option 'summary\.quantiles' must hold quantiles in \(0, 1\), not percentiles: 0.999 for p99.9, got 99.9/,
    ],
    [
      'a quantile of 0',
      { summary: { quantiles: [0] } },
      RangeError,
      /'summary\.quantiles' must hold numbers > 0 and < 1/,
    ],
    [
      'a NaN quantile',
      { summary: { quantiles: [NaN] } },
      RangeError,
      /'summary\.quantiles' must hold numbers > 0 and < 1, got NaN/,
    ],
    [
      'quantiles that are not an array',
      { summary: { quantiles: 0.5 } },
      TypeError,
      /option 'summary\.quantiles' must be an array of 0 to 32 numbers > 0 and < 1, got 0.5/,
    ],
    [
      'an unknown summary export',
      { summary: { export: 'prometheus' } },
      RangeError,
      /option 'summary\.export' must be one of 'auto', 'summary', 'gauges', 'none', got the string "prometheus"/,
    ],
    [
      'persistence without a path',
      { persistence: {} },
      TypeError,
      /option 'persistence\.path' must be a non-empty string, got undefined/,
    ],
    [
      'a persistence interval of 0',
      { persistence: { path: '/tmp/x', intervalMillis: 0 } },
      RangeError,
      /option 'persistence\.intervalMillis' must be an integer ≥ 1, got 0/,
    ],
    [
      'a tiny file size bound',
      { persistence: { path: '/tmp/x', maxFileBytes: 10 } },
      RangeError,
      /option 'persistence\.maxFileBytes' must be an integer ≥ 1024, got 10/,
    ],
    [
      'producers that are not producers',
      { metricProducers: [{}] },
      TypeError,
      /option 'metricProducers' must be an array of MetricProducers, got an array of 1/,
    ],
  ];
  for (const [name, options, type, message] of invalid) {
    it(`throws for ${name}`, () => {
      expect(make(options)).to.throw(type, message);
    });
  }

  it('asks the SDK for delta data, exponential histograms and twice its series limit', () => {
    const reader = new RetentionMetricReader({
      maxBuckets: 300,
      limits: { maxSeriesPerMetric: 50 },
    });
    for (const type of Object.values(InstrumentType)) {
      expect(reader.selectAggregationTemporality(type)).to.equal(
        AggregationTemporality.DELTA
      );
      expect(reader.selectCardinalityLimit(type)).to.equal(100);
    }
    expect(reader.selectAggregation(InstrumentType.HISTOGRAM)).to.deep.equal({
      type: AggregationType.EXPONENTIAL_HISTOGRAM,
      options: { maxSize: 300, recordMinMax: true },
    });
    expect(reader.selectAggregation(InstrumentType.COUNTER)).to.deep.equal({
      type: AggregationType.DEFAULT,
    });
  });

  it('collects as often as it exports when only a shorter export interval is given', async () => {
    // The SDK's PeriodicExportingMetricReader takes this option alone too.
    const h = harness({ exportIntervalMillis: 5000 });
    try {
      h.meter.createCounter('orders').add(2);
      await h.tick(5000);
      expect(points(h.latest(), 'orders')[0].value).to.equal(2);
    } finally {
      await h.close();
    }
  });

  it('adapts the summary defaults to a long collection interval', () => {
    expect(
      make({
        collectionIntervalMillis: 600_000,
        exportIntervalMillis: 600_000,
        seriesTtlMillis: 600_000,
      })
    ).not.to.throw();
    expect(
      make({
        collectionIntervalMillis: 100_000,
        summary: { windowMillis: 300_000 },
      })
    ).not.to.throw();
  });

  it('accepts every option at once', () => {
    expect(
      make({
        collectionIntervalMillis: 5000,
        exportIntervalMillis: 15_000,
        exportTimeoutMillis: 10_000,
        seriesTtlMillis: 60_000,
        maxBuckets: 160,
        maxScale: 8,
        tiers: [
          { resolutionMillis: 5000, durationMillis: 60_000 },
          { resolutionMillis: 30_000, durationMillis: 600_000 },
        ],
        limits: {
          maxMetrics: 10,
          maxSeriesPerMetric: 20,
          maxAttributesPerSeries: 4,
          maxAttributeValueLength: 64,
          maxRetainedBytes: 1 << 20,
        },
        summary: {
          windowMillis: 60_000,
          slots: 6,
          quantiles: [0.99, 0.5],
          export: 'gauges',
        },
        metricProducers: [],
      })
    ).not.to.throw();
  });

  it('keeps its version equal to package.json', () => {
    const pkg = JSON.parse(
      readFileSync(join(__dirname, '..', 'package.json'), 'utf8')
    ) as { version: string };
    expect(VERSION).to.equal(pkg.version);
  });
});

import { expect } from 'chai';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { RetentionMeterProvider } from '../src';
import { PrometheusScrapeServer } from '../src/export/prometheus';
import { points } from './util';

/** An in-memory exporter that fails the export calls it is told to. */
class FlakyExporter extends InMemoryMetricExporter {
  /** Calls so far, failed ones included. */
  calls = 0;
  failing = new Set<number>();

  override export(
    metrics: ResourceMetrics,
    done: (result: ExportResult) => void
  ): void {
    const call = this.calls++;
    if (this.failing.has(call)) {
      done({
        code: ExportResultCode.FAILED,
        error: new Error('collector down'),
      });
      return;
    }
    super.export(metrics, done);
  }
}

const SERIES = 1050;
const BATCH = 100;

/** The points of `name` in every export received, by attribute `i`. */
function byI(exporter: InMemoryMetricExporter, name: string): number[][] {
  const seen: number[][] = [];
  for (const rm of exporter.getMetrics())
    for (const point of points(rm, name)) {
      const i = point.attributes.i as number;
      (seen[i] ??= []).push(point.value);
    }
  return seen;
}

describe('exports in batches (maxExportBatchSize)', () => {
  let provider: RetentionMeterProvider | undefined;
  afterEach(async () => {
    await provider?.shutdown();
    provider = undefined;
  });

  it('sends every series once per export, in requests of at most the batch size', async () => {
    const exporter = new FlakyExporter(AggregationTemporality.CUMULATIVE);
    provider = new RetentionMeterProvider({
      exporter,
      maxExportBatchSize: BATCH,
      limits: { maxSeriesPerMetric: SERIES + 1 },
    });
    const counter = provider.getMeter('app').createCounter('jobs');
    for (let i = 0; i < SERIES; i++) counter.add(i + 1, { i });
    await provider.forceFlush();
    expect(exporter.calls, 'requests').to.equal(Math.ceil(SERIES / BATCH));
    for (const rm of exporter.getMetrics())
      expect(points(rm, 'jobs').length).to.be.at.most(BATCH);
    // Every series once, with its value.
    const seen = byI(exporter, 'jobs');
    for (let i = 0; i < SERIES; i++)
      expect(seen[i], `series ${i}`).to.deep.equal([i + 1]);
    // The reader's own metrics once per export.
    const selfCounts = exporter
      .getMetrics()
      .map(rm => points(rm, 'datapunk.metrics.series.active').length);
    expect(selfCounts.reduce((a, b) => a + b, 0)).to.equal(1);
  });

  it('delta: a failed request stops the export; what it and the rest held goes out with the next, nothing twice', async () => {
    const exporter = new FlakyExporter(AggregationTemporality.DELTA);
    provider = new RetentionMeterProvider({
      exporter,
      maxExportBatchSize: BATCH,
      limits: { maxSeriesPerMetric: SERIES + 1 },
    });
    const counter = provider.getMeter('app').createCounter('jobs');
    for (let i = 0; i < SERIES; i++) counter.add(i + 1, { i });
    exporter.failing.add(3); // the fourth request
    await provider.forceFlush();
    expect(exporter.calls, 'no request after the failure').to.equal(4);
    const sentFirst = new Set(
      exporter
        .getMetrics()
        .flatMap(rm => points(rm, 'jobs').map(p => p.attributes.i as number))
    );
    expect(sentFirst.size).to.equal(3 * BATCH);
    // More arrives for every series; the next export carries both.
    for (let i = 0; i < SERIES; i++) counter.add(1000, { i });
    await provider.forceFlush();
    const seen = byI(exporter, 'jobs');
    for (let i = 0; i < SERIES; i++) {
      const sum = seen[i].reduce((a, b) => a + b, 0);
      expect(sum, `series ${i}: everything, once`).to.equal(i + 1 + 1000);
      expect(seen[i].length, `series ${i}`).to.equal(sentFirst.has(i) ? 2 : 1);
    }
  });

  it('refuses a maxExportBatchSize that is not a positive integer, naming it', () => {
    for (const value of [0, -1, 1.5, 'x'])
      expect(
        () => new RetentionMeterProvider({ maxExportBatchSize: value as never })
      ).to.throw(/maxExportBatchSize/);
  });
});

describe('a scrape built from batches', () => {
  it('writes each family once, its samples together, whatever the batches', async () => {
    const provider = new RetentionMeterProvider({
      limits: { maxSeriesPerMetric: 3000 },
    });
    const server = new PrometheusScrapeServer(provider, {
      host: '127.0.0.1',
      port: 0,
    });
    try {
      const meter = provider.getMeter('app');
      const histogram = meter.createHistogram('latency', { unit: 'ms' });
      const counter = meter.createCounter('requests');
      // 2500 series of each: several batches, each holding a histogram, its
      // window summary and a counter part.
      for (let i = 0; i < 2500; i++) {
        histogram.record(i % 97, { i });
        counter.add(1, { i });
      }
      const response = await fetch((await server.url())!, {
        headers: { accept: 'text/plain;version=0.0.4' },
      });
      const lines = (await response.text()).split('\n').filter(Boolean);
      // Where each family's samples are: one run of lines per family.
      const familyOf = (line: string) =>
        line.startsWith('#')
          ? line.split(' ')[2]
          : line.split(/[{ ]/)[0].replace(/_(bucket|sum|count|total)$/, '');
      const runs: string[] = [];
      for (const line of lines) {
        const family = familyOf(line);
        if (runs[runs.length - 1] !== family) runs.push(family);
      }
      expect(new Set(runs).size, runs.join(' ')).to.equal(runs.length);
      const types = lines.filter(l => l.startsWith('# TYPE '));
      expect(new Set(types).size).to.equal(types.length);
      // Every series of each family is there, once.
      const series = (prefix: string) =>
        new Set(
          lines
            .filter(l => l.startsWith(prefix))
            .map(l => /[{,]i="(\d+)"/.exec(l)![1])
        ).size;
      expect(series('requests_total{')).to.equal(2500);
      expect(series('latency_milliseconds_count{')).to.equal(2500);
      expect(series('latency_window_milliseconds{')).to.equal(2500);
      expect(
        lines.filter(l => l.startsWith('requests_total{')).length
      ).to.equal(2500);
    } finally {
      await server.close();
      await provider.shutdown();
    }
  });
});

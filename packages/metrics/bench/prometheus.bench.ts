/**
 * The Prometheus scrape of 10,000 histogram series (200 values each, 4
 * attributes): our PrometheusScrapeServer, serving our RetentionMeterProvider
 * (what setupMetrics() builds) and a RetentionMetricReader under the SDK's
 * MeterProvider (whose exponential collect() is one synchronous block of
 * the SDK's), against the SDK's own
 * PrometheusExporter (@opentelemetry/exporter-prometheus, explicit-bucket
 * histograms, its serializer), in one run. For each: the longest
 * event-loop stall (monitorEventLoopDelay) and the longest GC pause (gc
 * performance entries) during a scrape, its wall time and bytes, for the
 * first scrape after the values were recorded and for later ones, per
 * format, and ten concurrent scrapes; then the stall of collect() alone
 * and of serializing alone, to say which part of a scrape's stall is
 * whose. The scrapers run in a worker thread, so their own parsing does
 * not stall the loop measured.
 *
 *   npm run bench:prometheus       (from the repository root)
 *
 * A script, not a test: compare the ratios. Writes bench-results/prometheus.json.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type {
  Attributes,
  MeterProvider as ApiMeterProvider,
} from '@opentelemetry/api';
import {
  PrometheusExporter,
  PrometheusSerializer,
} from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { median, printTable, writeResults } from '@datapunk/bench-kit';
import { RateLimitedDiag, SlicedTask } from '@datapunk/otel-common';
import { RetentionMeterProvider, RetentionMetricReader } from '../src';
import {
  DEFAULT_CLASSIC_BOUNDARIES,
  PrometheusScrapeServer,
} from '../src/export/prometheus';
import { ExpositionBuilder } from '../src/export/prometheus/buildExposition';
import { pipelineOf } from '../src/pipeline/pipelines';
import { LabelNamer } from '../src/export/prometheus/labels';

const SERIES = 10_000;
const VALUES_PER_SERIES = 200;
const REPEATS = 5;
const CONCURRENT = 10;
/** Prometheus 2.42's Accept headers: with --enable-feature=native-histograms, and without. */
const ACCEPT = {
  protobuf:
    'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  openmetrics:
    'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
  text: 'text/plain;version=0.0.4',
};
type Format = keyof typeof ACCEPT;

/** The scraper: fetches in a thread of its own and reports bytes and times. */
const SCRAPER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', async ({ url, accept, count }) => {
  const one = async () => {
    const start = performance.now();
    const response = await fetch(url, { headers: { accept } });
    const bytes = (await response.arrayBuffer()).byteLength;
    if (response.status !== 200) throw new Error('HTTP ' + response.status);
    return { bytes, millis: performance.now() - start, type: response.headers.get('content-type') };
  };
  try {
    const start = performance.now();
    const results = await Promise.all(Array.from({ length: count }, one));
    parentPort.postMessage({ results, millis: performance.now() - start });
  } catch (error) {
    parentPort.postMessage({ error: String(error) });
  }
});`;

interface Scrape {
  bytes: number;
  millis: number;
  /** Of all `count` scrapes together. */
  totalMillis: number;
  maxStallMillis: number;
  maxGcMillis: number;
  contentType: string;
}

class Scraper {
  private readonly _worker = new Worker(SCRAPER, { eval: true });

  async scrape(url: string, accept: string, count = 1): Promise<Scrape> {
    return measured(async () => {
      const reply = new Promise<{
        results?: { bytes: number; millis: number; type: string }[];
        millis?: number;
        error?: string;
      }>(resolve => this._worker.once('message', resolve));
      this._worker.postMessage({ url, accept, count });
      const { results, millis, error } = await reply;
      if (error) throw new Error(error);
      return {
        bytes: results![0].bytes,
        millis: median(results!.map(r => r.millis)),
        totalMillis: millis!,
        contentType: results![0].type,
      };
    });
  }

  close(): Promise<number> {
    return this._worker.terminate();
  }
}

/** Runs `work` and adds the longest loop stall and GC pause seen meanwhile. */
async function measured<T extends object>(
  work: () => Promise<T>
): Promise<T & { maxStallMillis: number; maxGcMillis: number }> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let maxGcMillis = 0;
  const gc = new PerformanceObserver(list => {
    for (const entry of list.getEntries())
      maxGcMillis = Math.max(maxGcMillis, entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  delay.enable();
  // Arm the monitor's timer first: it measures how late each of its ticks is.
  await new Promise(resolve => setTimeout(resolve, 10));
  try {
    const result = await work();
    // Let the last GC entries arrive.
    await new Promise(resolve => setTimeout(resolve, 20));
    return {
      ...result,
      // The histogram counts each stall plus its 1 ms resolution.
      maxStallMillis: Math.max(0, delay.max / 1e6 - 1),
      maxGcMillis,
    };
  } finally {
    delay.disable();
    gc.disconnect();
  }
}

/** The values of every series: lognormal latencies in seconds around 50 ms, seeded. */
function record(provider: ApiMeterProvider): void {
  const histogram = provider
    .getMeter('bench')
    .createHistogram('http.server.duration', { unit: 's' });
  let seed = 11;
  const random = () => {
    seed = (seed * 48271) % 2147483647;
    return (seed - 1) / 2147483646;
  };
  for (let i = 0; i < SERIES; i++) {
    const attributes: Attributes = {
      'http.route': `/api/items/${i % 97}`,
      'http.method': i % 2 ? 'GET' : 'POST',
      'customer.id': `c-${i}`,
      region: `r-${i % 5}`,
    };
    for (let j = 0; j < VALUES_PER_SERIES; j++) {
      const normal = random() + random() + random() - 1.5;
      histogram.record(0.05 * Math.exp(normal), attributes);
    }
  }
}

interface Target {
  name: string;
  url: string;
  formats: Format[];
  /** Records the workload's values once more. */
  record(): void;
  close(): Promise<void>;
  /** Collect as a scrape does, and serialize the result, separately. */
  collect(): Promise<ResourceMetrics>;
  serialize(metrics: ResourceMetrics, format: Format): Promise<unknown>;
}

/** Our scrape server, serving `source`, whose instruments `provider` makes. */
async function ours(
  name: string,
  source: RetentionMetricReader | RetentionMeterProvider,
  provider: ApiMeterProvider & { shutdown(): Promise<void> }
): Promise<Target> {
  record(provider);
  const server = new PrometheusScrapeServer(source, {
    host: '127.0.0.1',
    port: 0,
  });
  const builds = {
    histogramBoundaries: DEFAULT_CLASSIC_BOUNDARIES,
    diag: new RateLimitedDiag('bench'),
    namer: new LabelNamer(),
  };
  return {
    name,
    url: (await server.url())!,
    formats: ['text', 'openmetrics', 'protobuf'],
    record: () => record(provider),
    async close() {
      await server.close();
      await provider.shutdown();
    },
    async collect() {
      return (await pipelineOf(source)!.collect()).resourceMetrics;
    },
    // As the server builds: one namer for every build.
    async serialize(metrics, format) {
      const builder = new ExpositionBuilder(format, builds);
      await new SlicedTask(builder.add(metrics)).run();
      return builder.finish();
    },
  };
}

const OPTIONS = {
  collectionIntervalMillis: 3_600_000, // only scrapes collect here
  limits: { maxSeriesPerMetric: SERIES + 1 },
};

function ourProvider(): Promise<Target> {
  const provider = new RetentionMeterProvider(OPTIONS);
  return ours('ours, RetentionMeterProvider', provider, provider);
}

function ourReader(): Promise<Target> {
  const reader = new RetentionMetricReader(OPTIONS);
  return ours(
    'ours, RetentionMetricReader under the SDK',
    reader,
    new MeterProvider({ readers: [reader] })
  );
}

async function sdk(): Promise<Target> {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    readers: [exporter],
    // Every series, as ours keeps (the SDK's default limit is 2000).
    views: [{ instrumentName: '*', aggregationCardinalityLimit: SERIES + 1 }],
  });
  record(provider);
  const server = createServer((request, response) =>
    exporter.getMetricsRequestHandler(request, response)
  );
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const serializer = new PrometheusSerializer();
  return {
    name: 'SDK PrometheusExporter',
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    formats: ['text'],
    record: () => record(provider),
    async close() {
      server.closeAllConnections();
      await new Promise(resolve => server.close(resolve));
      await provider.shutdown();
    },
    async collect() {
      return (await exporter.collect()).resourceMetrics;
    },
    async serialize(metrics) {
      return serializer.serialize(metrics);
    },
  };
}

interface Row {
  target: string;
  case: string;
  bytes: number;
  millis: number;
  maxStallMillis: number;
  maxGcMillis: number;
}

async function run(make: () => Promise<Target>): Promise<Row[]> {
  const target = await make();
  const scraper = new Scraper();
  const rows: Row[] = [];
  const add = (name: string, scrape: Omit<Row, 'target' | 'case'>) =>
    rows.push({
      target: target.name,
      case: name,
      bytes: scrape.bytes,
      millis: scrape.millis,
      maxStallMillis: scrape.maxStallMillis,
      maxGcMillis: scrape.maxGcMillis,
    });
  try {
    // How long the loop waits when nothing of ours runs: the machine's own noise.
    add(
      'idle loop, 2 s (noise floor)',
      await measured(async () => {
        await new Promise(resolve => setTimeout(resolve, 2000));
        return { millis: 2000, bytes: 0 };
      })
    );
    // The first scrape also collects what was recorded since the last collection.
    add('first scrape (text)', await scraper.scrape(target.url, ACCEPT.text));
    for (const format of target.formats) {
      const repeats: Scrape[] = [];
      for (let i = 0; i < REPEATS; i++)
        repeats.push(await scraper.scrape(target.url, ACCEPT[format]));
      add(`scrape, ${format} (median of ${REPEATS}; stall: max)`, {
        bytes: repeats[0].bytes,
        millis: median(repeats.map(r => r.millis)),
        maxStallMillis: Math.max(...repeats.map(r => r.maxStallMillis)),
        maxGcMillis: Math.max(...repeats.map(r => r.maxGcMillis)),
      });
    }
    const together = await scraper.scrape(target.url, ACCEPT.text, CONCURRENT);
    add(`${CONCURRENT} concurrent scrapes, text (all done)`, {
      ...together,
      millis: together.totalMillis,
    });
    // The parts of a scrape, apart: collect with and without new values, then serialize.
    let metrics: ResourceMetrics | undefined;
    const collect = () =>
      measured(async () => {
        const start = performance.now();
        metrics = await target.collect();
        return { millis: performance.now() - start, bytes: 0 };
      });
    add('collect() alone, nothing new', await collect());
    target.record();
    add(
      `collect() alone, ${VALUES_PER_SERIES} new values per series`,
      await collect()
    );
    // (A first, unmeasured build of each format makes the labels, as a server's first scrape does.)
    for (const format of target.formats)
      await target.serialize(metrics!, format);
    for (const format of target.formats) {
      const serialized = await measured(async () => {
        const start = performance.now();
        await target.serialize(metrics!, format);
        return { millis: performance.now() - start };
      });
      add(`serialize alone, ${format}`, { ...serialized, bytes: 0 });
    }
  } finally {
    await scraper.close();
    await target.close();
  }
  return rows;
}

async function main(): Promise<void> {
  console.log(
    `Node ${process.version}; ${SERIES.toLocaleString('en')} histogram series × ${VALUES_PER_SERIES} values, 4 attributes\n`
  );
  // `-- ours` or `-- sdk` runs one side only (while tuning); the comparison needs both.
  const only = process.argv[2];
  const rows: Row[] = [];
  if (only !== 'sdk') {
    rows.push(...(await run(ourProvider)));
    rows.push(...(await run(ourReader)));
  }
  if (only !== 'ours') rows.push(...(await run(sdk)));
  printTable(
    ['target', 'case', 'bytes', 'ms', 'longest stall ms', 'longest GC ms'],
    rows.map(r => [
      r.target,
      r.case,
      r.bytes ? r.bytes.toLocaleString('en') : '',
      r.millis.toFixed(0),
      r.maxStallMillis.toFixed(1),
      r.maxGcMillis.toFixed(1),
    ])
  );
  if (only) return;
  const find = (target: string, name: string) =>
    rows.find(r => r.target.startsWith(target) && r.case.startsWith(name))!;
  for (const ourName of [
    'ours, RetentionMeterProvider',
    'ours, RetentionMetricReader',
  ]) {
    const ratio = (
      name: string,
      field: 'millis' | 'maxStallMillis' | 'bytes'
    ) => (find(ourName, name)[field] / find('SDK', name)[field]).toFixed(2);
    console.log(
      `\n${ourName} ÷ SDK, text: later scrape time ${ratio('scrape, text', 'millis')}×, ` +
        `its longest stall ${ratio('scrape, text', 'maxStallMillis')}×, bytes ${ratio('scrape, text', 'bytes')}×; ` +
        `${CONCURRENT} concurrent ${ratio(`${CONCURRENT} concurrent`, 'millis')}×`
    );
  }
  writeResults('prometheus', {
    series: SERIES,
    valuesPerSeries: VALUES_PER_SERIES,
    rows,
  });
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});

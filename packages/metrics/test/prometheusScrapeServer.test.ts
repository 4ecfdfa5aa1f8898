import { request } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { expect } from 'chai';
import { diag } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import * as sinon from 'sinon';
import { RetentionMetricReader, setupMetrics } from '../src';
import { pipelineOf } from '../src/pipeline/pipelines';
import type { MetricsSetup, RetentionMetricReaderOptions } from '../src';
import {
  PrometheusScrapeServer,
  serializeMetrics,
} from '../src/export/prometheus';
import type { PrometheusScrapeServerOptions } from '../src/export/prometheus';
import { OtlpReceiver } from './otlp';
import { decodeFamilies } from './prometheusDecoder';
import {
  exponentialHistogram,
  resourceMetrics,
  scaleZeroHistogram,
} from './prometheusFixtures';
import { parseText } from './prometheusTextParser';

/** The Accept headers of Prometheus 2.42, byte for byte: with --enable-feature=native-histograms, and without. */
const ACCEPT_NATIVE =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const ACCEPT_DEFAULT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const OPENMETRICS =
  'application/openmetrics-text; version=1.0.0; charset=utf-8';
const PROTOBUF =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

interface Served {
  provider: MeterProvider;
  reader: RetentionMetricReader;
  server: PrometheusScrapeServer;
  url: string;
  close(): Promise<void>;
}

async function serve(
  readerOptions: RetentionMetricReaderOptions = {},
  serverOptions: PrometheusScrapeServerOptions = {}
): Promise<Served> {
  const reader = new RetentionMetricReader(readerOptions);
  const provider = new MeterProvider({ readers: [reader] });
  const server = new PrometheusScrapeServer(reader, {
    host: '127.0.0.1',
    port: 0,
    ...serverOptions,
  });
  return {
    provider,
    reader,
    server,
    url: (await server.url())!,
    async close() {
      await server.close();
      await provider.shutdown();
    },
  };
}

async function scrape(
  url: string,
  accept?: string
): Promise<{ status: number; type: string | null; body: Buffer }> {
  const response = await fetch(url, {
    headers: accept === undefined ? {} : { accept },
  });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: Buffer.from(await response.arrayBuffer()),
  };
}

/** Families that have a TYPE but no sample. */
function empty(text: string): string[] {
  return [...parseText(text).sampleCounts]
    .filter(([, count]) => count === 0)
    .map(([name]) => name);
}

describe('PrometheusScrapeServer', function () {
  this.timeout(30_000);
  let served: Served | undefined;
  afterEach(async () => {
    await served?.close();
    served = undefined;
    sinon.restore();
  });

  it('validates its options at construction, naming the option and the rule', () => {
    const reader = new RetentionMetricReader();
    const cases: [unknown, new (m?: string) => Error, RegExp][] = [
      [
        { port: -1 },
        RangeError,
        /option 'port' must be an integer ≥ 0 and ≤ 65535, got -1/,
      ],
      [{ port: 65536 }, RangeError, /option 'port' must be an integer/],
      [{ port: 80.5 }, RangeError, /option 'port' must be an integer/],
      [{ port: '9464' }, TypeError, /option 'port' must be a number/],
      [{ host: '' }, TypeError, /option 'host' must be a non-empty string/],
      [{ host: 5 }, TypeError, /option 'host' must be a non-empty string/],
      [
        { histogramBoundaries: [1, Infinity] },
        RangeError,
        /option 'histogramBoundaries' must hold numbers > -Infinity and < Infinity, got Infinity/,
      ],
      [
        { histogramBoundaries: new Array(257).fill(1) },
        TypeError,
        /option 'histogramBoundaries' must be an array of 1 to 256 numbers/,
      ],
      [{ prot: 1 }, TypeError, /prot/],
    ];
    for (const [options, type, message] of cases) {
      const build = () =>
        new PrometheusScrapeServer(
          reader,
          options as PrometheusScrapeServerOptions
        );
      expect(build, JSON.stringify(options)).to.throw(type, message);
      expect(build).to.throw(/^PrometheusScrapeServer: /);
    }
    expect(
      () => new PrometheusScrapeServer({} as RetentionMetricReader)
    ).to.throw(
      TypeError,
      /PrometheusScrapeServer: 'source' must be a RetentionMeterProvider or a RetentionMetricReader, got/
    );
  });

  it('answers GET (and HEAD) of /metrics only, 404 for anything else', async () => {
    served = await serve();
    const { url } = served;
    expect((await scrape(url)).status).to.equal(200);
    expect((await scrape(`${url}?debug=1`)).status).to.equal(200);
    for (const path of ['/', '/metricsx', '/metrics/x', '/other'])
      expect(
        (await scrape(url.replace('/metrics', path))).status,
        path
      ).to.equal(404);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const response = await fetch(url, { method });
      expect(response.status, method).to.equal(404);
    }
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).to.equal(200);
    expect(head.headers.get('content-type')).to.equal(TEXT);
    expect((await head.arrayBuffer()).byteLength).to.equal(0);
  });

  it('answers in the format the Accept header prefers, as Prometheus 2.42 asks with and without native histograms', async () => {
    served = await serve({ summary: false });
    served.provider
      .getMeter('app')
      .createHistogram('latency', { unit: 's' })
      .record(0.5);
    const native = await scrape(served.url, ACCEPT_NATIVE);
    expect(native.type).to.equal(PROTOBUF);
    const latency = decodeFamilies(native.body).find(
      f => f.name === 'latency_seconds'
    )!;
    expect(latency.type).to.equal('HISTOGRAM');
    expect(latency.metric![0].histogram!.zeroThreshold).to.be.above(0);
    const openMetrics = await scrape(served.url, ACCEPT_DEFAULT);
    expect(openMetrics.type).to.equal(OPENMETRICS);
    expect(openMetrics.body.toString()).to.match(/\n# EOF\n$/);
    for (const accept of [
      undefined,
      '*/*',
      'text/plain',
      // Not the delimited encoding: not what we write.
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text',
      'application/openmetrics-text;q=0,text/plain;q=0.1',
    ]) {
      const answer = await scrape(served.url, accept);
      expect(answer.type, accept).to.equal(TEXT);
      parseText(answer.body.toString());
    }
    expect(
      (await scrape(served.url, 'application/openmetrics-text')).type
    ).to.equal(OPENMETRICS);
  });

  it('has samples in every family from the first scrape, its own datapunk_metrics_* included', async () => {
    served = await serve();
    const text = (await scrape(served.url)).body.toString();
    expect(empty(text)).to.deep.equal([]);
    const { types } = parseText(text);
    for (const name of [
      'datapunk_metrics_series_active',
      'datapunk_metrics_retained_bytes',
      'datapunk_metrics_points_dropped_total',
      'datapunk_metrics_export_failures_total',
    ])
      expect(types.has(name), name).to.equal(true);
  });

  it('shares one collect and one build among scrapes of a format that arrive together', async () => {
    served = await serve();
    const counter = served.provider.getMeter('app').createCounter('orders');
    for (let i = 0; i < 2000; i++) counter.add(1, { customer: `c${i}` });
    // The first collect waits until all ten requests have reached the server.
    const pipeline = pipelineOf(served.reader)!;
    const collect = pipeline.collectForScrape.bind(pipeline);
    let arrived = 0;
    let allArrived!: () => void;
    const gate = new Promise<void>(resolve => (allArrived = resolve));
    (served.server as unknown as { _server: Server })._server.on(
      'request',
      () => ++arrived === 10 && allArrived()
    );
    const collects = sinon
      .stub(pipeline, 'collectForScrape')
      .callsFake((batchSize, consume) =>
        gate.then(() => collect(batchSize, consume))
      );
    const texts = await Promise.all(
      Array.from({ length: 10 }, () => scrape(served!.url))
    );
    expect(collects.callCount).to.equal(1);
    for (const { body } of texts)
      expect(body.equals(texts[0].body)).to.equal(true);
    expect(parseText(texts[0].body.toString()).samples.length).to.be.above(
      2000
    );
    // Another format builds on its own; a later scrape builds afresh.
    await Promise.all([scrape(served.url), scrape(served.url, ACCEPT_DEFAULT)]);
    expect(collects.callCount).to.equal(3);
  });

  it('uses the histogramBoundaries option for exponential histograms', async () => {
    served = await serve({ summary: false }, { histogramBoundaries: [10, 1] });
    const histogram = served.provider.getMeter('app').createHistogram('h');
    for (const v of [0.5, 2, 3, 50]) histogram.record(v);
    const text = (await scrape(served.url)).body.toString();
    expect(text.match(/^h_bucket\{.*$/gm)).to.deep.equal([
      'h_bucket{otel_scope_name="app",le="1.0"} 1',
      'h_bucket{otel_scope_name="app",le="10.0"} 3',
      'h_bucket{otel_scope_name="app",le="+Inf"} 4',
    ]);
  });

  it('leaves summaries out when summary.export is none', async () => {
    served = await serve({ summary: { export: 'none' } });
    served.provider.getMeter('app').createHistogram('h').record(1);
    const { types } = parseText((await scrape(served.url)).body.toString());
    expect(types.get('h')).to.equal('histogram');
    expect(
      [...types.keys()].filter(n => n.startsWith('h_window'))
    ).to.deep.equal([]);
  });

  it('streams a body larger than the socket takes at once to a slow reader, and survives one that leaves', async () => {
    served = await serve({ limits: { maxSeriesPerMetric: 25_000 } });
    const counter = served.provider.getMeter('app').createCounter('orders');
    for (let i = 0; i < 20_000; i++) counter.add(1, { customer: `c${i}` });
    // One that connects, asks and leaves at once.
    const { port } = new URL(served.url);
    await new Promise<void>(resolve => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
        socket.once('data', () => {
          socket.destroy();
          resolve();
        });
      });
    });
    // One that reads slowly.
    const { length, received } = await new Promise<{
      length: number;
      received: number;
    }>((resolve, reject) => {
      request(served!.url, response => {
        response.pause();
        let received = 0;
        response.on('data', (chunk: Buffer) => (received += chunk.length));
        response.on('end', () =>
          resolve({
            length: Number(response.headers['content-length']),
            received,
          })
        );
        setTimeout(() => response.resume(), 200);
      })
        .on('error', reject)
        .end();
    });
    expect(length).to.be.above(1 << 20);
    expect(received).to.equal(length);
    expect((await scrape(served.url)).status).to.equal(200);
  });
});

describe('setupMetrics with OTEL_METRICS_EXPORTER=otlp,prometheus', function () {
  this.timeout(30_000);
  const saved = { ...process.env };
  let setup: MetricsSetup | undefined;
  let receiver: OtlpReceiver | undefined;
  afterEach(async () => {
    await setup?.shutdown();
    await receiver?.stop();
    process.env = { ...saved };
    diag.disable();
  });

  it('sends Summary points over OTLP and serves them as a summary on /metrics', async () => {
    receiver = new OtlpReceiver();
    const url = await receiver.start();
    process.env.OTEL_METRICS_EXPORTER = 'otlp,prometheus';
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = url.replace('/v1/metrics', '');
    process.env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL = 'http/json';
    setup = setupMetrics({
      global: false,
      prometheus: { host: '127.0.0.1', port: 0 },
    });
    const latency = setup.instruments.histogram('latency', { unit: 's' });
    for (const v of [0.25, 0.5, 1, 2]) latency.record(v);
    const text = (
      await scrape((await setup.prometheus!.url())!)
    ).body.toString();
    expect(empty(text)).to.deep.equal([]);
    const { types, samples } = parseText(text);
    expect(types.get('latency_window_seconds')).to.equal('summary');
    const quantile = (q: string) =>
      samples.find(
        s =>
          s.name === 'latency_window_seconds' && s.labels.get('quantile') === q
      )?.value;
    expect(quantile('0.0')).to.equal('0.25');
    expect(quantile('1.0')).to.equal('2');
    expect(
      samples.find(s => s.name === 'latency_window_seconds_count')?.value
    ).to.equal('4');
    await setup.meterProvider.forceFlush();
    const [summary] = receiver.metrics('latency.window');
    expect(Number(summary.summary.dataPoints[0].count)).to.equal(4);
  });
});

describe('the exposition, built in slices', function () {
  this.timeout(60_000);

  it('lets the host run between slices while it serializes 20000 histogram series, in every format', async () => {
    const points = Array.from({ length: 20_000 }, (_, i) => ({
      attributes: { customer: `c${i}`, region: `r${i % 7}` },
      value: scaleZeroHistogram([0.5 + (i % 10), 3, 70]),
    }));
    const input = resourceMetrics([exponentialHistogram('latency', points)]);
    for (const format of ['text', 'openmetrics', 'protobuf'] as const) {
      let done = false;
      const work = serializeMetrics(input, { format }).finally(
        () => (done = true)
      );
      let turns = 0;
      while (!done) {
        await new Promise(resolve => setImmediate(resolve));
        turns++;
      }
      const { chunks } = await work;
      const bytes = chunks.reduce((n, chunk) => n + chunk.length, 0);
      expect(bytes).to.be.above(20_000 * 32 * 10);
      // One block would give the host a turn or two.
      expect(turns, format).to.be.at.least(10);
    }
  });
});

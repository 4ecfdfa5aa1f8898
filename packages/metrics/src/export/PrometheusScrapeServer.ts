import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { globalErrorHandler } from '@opentelemetry/core';
import {
  describeValue,
  OptionReader,
  RateLimitedDiag,
} from '@datapunk/otel-common';
import { pipelineOf } from '../pipeline/pipelines';
import type { RetentionMeterProvider } from '../provider/RetentionMeterProvider';
import type { RetentionMetricReader } from '../RetentionMetricReader';
import { readHistogramBoundaries } from './prometheus/histogramBoundaries';
import { CONTENT_TYPES, negotiateFormat } from './prometheus/negotiate';
import type { ExpositionFormat } from './prometheus/negotiate';
import { SharedBuilds } from './prometheus/SharedBuilds';

/** The Prometheus exporter's conventional port and path (OpenTelemetry and Prometheus agree). */
export const DEFAULT_PROMETHEUS_PORT = 9464;
/** Where the endpoint listens by default: this host only. */
export const DEFAULT_PROMETHEUS_HOST = 'localhost';
const PATH = '/metrics';
/** Points per batch of a scrape's collection: each is written, then dropped. */
const BATCH_POINTS = 1000;
const OWNER = 'PrometheusScrapeServer';

/** Where a {@link PrometheusScrapeServer} listens, and its classic histogram buckets. */
export interface PrometheusScrapeServerOptions {
  /** The interface to listen on. Default 'localhost'. */
  host?: string;
  /** The port, 0 for any free one. Default 9464. */
  port?: number;
  /**
   * Classic bucket boundaries (`le`) of exponential histograms whose
   * instrument gives none as advice (explicit-bucket histograms keep their
   * own), 1 to 256 finite numbers. Default: the powers of two from 2^-10
   * to 2^20, where the counts of exponential histograms are exact.
   */
  histogramBoundaries?: number[];
}

/**
 * A Prometheus scrape endpoint of a retention provider's or reader's data,
 * `GET /metrics`: each
 * scrape collects, then answers in the format its Accept header prefers:
 * protobuf with native histograms (Prometheus with
 * `--enable-feature=native-histograms`), OpenMetrics 1.0 with exemplars,
 * or the text format 0.0.4. Summaries are real summaries whatever the
 * reader's exporter takes; names and labels follow the OpenTelemetry spec,
 * and no attribute can make the output invalid. The body is built in
 * slices and streamed with backpressure; scrapes of one format that
 * arrive together share one build. A port it cannot listen on is reported
 * through diag, never thrown at the host.
 */
export class PrometheusScrapeServer {
  private readonly _server: Server;
  /** Background failures go to the SDK's globalErrorHandler, as its own do. */
  private readonly _diag = new RateLimitedDiag(
    OWNER,
    undefined,
    undefined,
    globalErrorHandler
  );
  private readonly _builds: SharedBuilds;
  private readonly _listening: Promise<void>;

  /** @throws {TypeError|RangeError} naming the option and the rule, for invalid options. */
  constructor(
    source: RetentionMetricReader | RetentionMeterProvider,
    options: PrometheusScrapeServerOptions = {}
  ) {
    const pipeline = pipelineOf(source);
    if (pipeline === undefined) {
      throw new TypeError(
        `${OWNER}: 'source' must be a RetentionMeterProvider or a RetentionMetricReader, got ${describeValue(source)}`
      );
    }
    const read = new OptionReader(OWNER, options, [
      'host',
      'port',
      'histogramBoundaries',
    ]);
    const host = read.string('host', DEFAULT_PROMETHEUS_HOST);
    const port = read.integer('port', DEFAULT_PROMETHEUS_PORT, {
      min: 0,
      max: 65535,
    });
    this._builds = new SharedBuilds(
      async consume => {
        const errors = await pipeline.collectForScrape(BATCH_POINTS, consume);
        for (const error of errors)
          this._diag.warn(
            'collect',
            `part of a collection failed: ${String(error)}`
          );
      },
      { histogramBoundaries: readHistogramBoundaries(read), diag: this._diag }
    );
    this._server = createServer((request, response) =>
      this._handle(request, response)
    );
    this._listening = new Promise(resolve => {
      this._server.once('error', error => {
        this._diag.error(
          'listen',
          `cannot serve metrics on ${host}:${port}: ${error.message}`
        );
        resolve();
      });
      this._server.listen(port, host, () => resolve());
    });
    this._server.unref();
  }

  /** The endpoint's URL once listening (the port may have been 0: any). */
  async url(): Promise<string | undefined> {
    await this._listening;
    const address = this._server.address() as AddressInfo | null;
    if (address === null) return undefined;
    const host =
      address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}${PATH}`;
  }

  /** Stops listening and drops open connections. */
  close(): Promise<void> {
    return new Promise(resolve => {
      this._server.close(() => resolve());
      this._server.closeAllConnections();
    });
  }

  private _handle(request: IncomingMessage, response: ServerResponse): void {
    const method = request.method;
    if (
      (method !== 'GET' && method !== 'HEAD') ||
      request.url?.split('?')[0] !== PATH
    ) {
      response.writeHead(404).end();
      return;
    }
    const format = negotiateFormat(request.headers.accept);
    if (method === 'HEAD') {
      response.writeHead(200, { 'content-type': CONTENT_TYPES[format] }).end();
      return;
    }
    this._builds
      .body(format)
      .then(chunks => this._send(response, format, chunks))
      .catch(error => {
        this._diag.error('scrape', `a scrape failed: ${String(error)}`);
        if (response.headersSent) response.destroy();
        else response.writeHead(500).end();
      });
  }

  /** Writes the chunks one at a time, each after the socket took the last. */
  private async _send(
    response: ServerResponse,
    format: ExpositionFormat,
    chunks: readonly Buffer[]
  ): Promise<void> {
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[format],
      'content-length': length,
    });
    for (const chunk of chunks) {
      if (response.destroyed) return;
      if (!response.write(chunk)) await drained(response);
    }
    response.end();
  }
}

/** Resolves when the response can take more, or is closed. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise(resolve => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

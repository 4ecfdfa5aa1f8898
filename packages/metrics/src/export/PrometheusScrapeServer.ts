import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { globalErrorHandler } from '@opentelemetry/core';
import { RateLimitedDiag } from '@datapunk/otel-common';
import type { RetentionMetricReader } from '../RetentionMetricReader';
import { withExplicitHistograms } from './explicitHistograms';

/** The Prometheus exporter's conventional port and path (OpenTelemetry and Prometheus agree). */
export const DEFAULT_PROMETHEUS_PORT = 9464;
export const DEFAULT_PROMETHEUS_HOST = 'localhost';
const PATH = '/metrics';

/** The text format's serializer from `@opentelemetry/exporter-prometheus`, loaded when needed. */
interface Serializer {
  serialize(resourceMetrics: unknown): string;
}

/**
 * A Prometheus scrape endpoint of a reader's data: each GET of /metrics
 * collects, then answers in the text format (OpenTelemetry's own
 * serializer) with summaries as `quantile` gauges and exponential
 * histograms as explicit-bucket histograms. Needs the package
 * `@opentelemetry/exporter-prometheus` (0.223.x or 0.301.x). A port it
 * cannot listen on is reported through diag, never thrown at the host.
 */
export class PrometheusScrapeServer {
  private readonly _server: Server;
  private readonly _serializer: Serializer;
  /** Background failures go to the SDK's globalErrorHandler, as its own do. */
  private readonly _diag = new RateLimitedDiag(
    'PrometheusScrapeServer',
    undefined,
    undefined,
    globalErrorHandler
  );
  private readonly _listening: Promise<void>;

  /** @throws {Error} naming the package, when @opentelemetry/exporter-prometheus is not installed. */
  constructor(
    reader: RetentionMetricReader,
    host: string = DEFAULT_PROMETHEUS_HOST,
    port: number = DEFAULT_PROMETHEUS_PORT
  ) {
    this._serializer = loadSerializer();
    this._server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== PATH) {
        response.writeHead(404).end();
        return;
      }
      reader
        .collect()
        .then(({ resourceMetrics }) => {
          response
            .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
            .end(
              this._serializer.serialize(
                withExplicitHistograms(resourceMetrics)
              )
            );
        })
        .catch(error => {
          this._diag.error('scrape', `a scrape failed: ${String(error)}`);
          response.writeHead(500).end();
        });
    });
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

  close(): Promise<void> {
    return new Promise(resolve => {
      this._server.close(() => resolve());
      this._server.closeAllConnections();
    });
  }
}

function loadSerializer(): Serializer {
  let module: { PrometheusSerializer: new () => Serializer };
  try {
    // Loaded here, not imported: only this exporter needs the package.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    module = require('@opentelemetry/exporter-prometheus');
  } catch (error) {
    throw new Error(
      'the prometheus exporter needs the package @opentelemetry/exporter-prometheus (0.223.x or 0.301.x)',
      { cause: error }
    );
  }
  return new module.PrometheusSerializer();
}

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where test/collector/build.sh leaves the Collector it builds. */
export const COLLECTOR_BINARY = resolve(
  __dirname,
  '../../.cache/otelcol/dist/otelcol-datapunk'
);

const READY = 'Everything is ready';

/**
 * A real OpenTelemetry Collector (the one test/collector/build.sh builds):
 * OTLP/HTTP in on a loopback port, every request written by the contrib
 * fileexporter as one OTLP JSON line, and logged by the debugexporter.
 * Each start writes a new file, so what a restart receives stays apart.
 */
export class Collector {
  private readonly _dir = mkdtempSync(join(tmpdir(), 'datapunk-otelcol-'));
  private readonly _remoteWriteUrl: string | undefined;
  private _process?: ChildProcess;
  private _starts = 0;
  private _log = '';

  readonly port: number;

  private constructor(port: number, remoteWriteUrl: string | undefined) {
    this.port = port;
    this._remoteWriteUrl = remoteWriteUrl;
  }

  /**
   * Starts a Collector on a free loopback port; with `remoteWriteUrl`, it
   * also sends everything to that Prometheus by remote write.
   */
  static async start(
    options: { remoteWriteUrl?: string } = {}
  ): Promise<Collector> {
    const collector = new Collector(await freePort(), options.remoteWriteUrl);
    try {
      await collector.restart();
    } catch (error) {
      await collector.dispose();
      throw error;
    }
    return collector;
  }

  /** The OTLP/HTTP base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The OTLP/HTTP metrics endpoint. */
  get metricsUrl(): string {
    return `${this.endpoint}/v1/metrics`;
  }

  /** What the Collector printed, for failure messages. */
  get log(): string {
    return this._log;
  }

  /** Starts it again on the same port, after stop(). */
  async restart(): Promise<void> {
    if (this._process) throw new Error('collector is running');
    const config = join(this._dir, `config-${++this._starts}.yaml`);
    writeFileSync(config, this._config(this._starts));
    const child = spawn(COLLECTOR_BINARY, ['--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this._process = child;
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`collector not ready in 30 s:\n${this._log}`)),
        30_000
      );
      const onOutput = (chunk: Buffer) => {
        this._log += chunk.toString();
        if (this._log.includes(READY)) {
          clearTimeout(timer);
          ready();
        }
      };
      child.stdout!.on('data', onOutput);
      child.stderr!.on('data', onOutput);
      child.once('exit', code => {
        clearTimeout(timer);
        this._process = undefined;
        fail(new Error(`collector exited with ${code}:\n${this._log}`));
      });
    });
  }

  /** Stops it (SIGTERM: the fileexporter flushes what it holds). */
  async stop(): Promise<void> {
    const child = this._process;
    if (!child) return;
    this._process = undefined;
    const exited = new Promise(done => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  }

  /** Stops it and removes its configuration and output files. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this._dir, { recursive: true, force: true });
  }

  /** Every OTLP request received so far, in order, over all starts. */
  requests(): OtlpMetricsRequest[] {
    const requests: OtlpMetricsRequest[] = [];
    for (let start = 1; start <= this._starts; start++) {
      const file = this._output(start);
      if (!existsSync(file)) continue;
      for (const line of readFileSync(file, 'utf8').split('\n'))
        if (line.trim()) requests.push(JSON.parse(line) as OtlpMetricsRequest);
    }
    return requests;
  }

  private _output(start: number): string {
    return join(this._dir, `metrics-${start}.jsonl`);
  }

  private _config(start: number): string {
    const exporters = ['file', 'debug'];
    // One request at a time: Prometheus refuses out-of-order samples.
    const remoteWrite = this._remoteWriteUrl
      ? `
  prometheus_remote_write:
    endpoint: ${this._remoteWriteUrl}
    max_batch_request_parallelism: 1
    remote_write_queue:
      num_consumers: 1`
      : '';
    if (remoteWrite) exporters.push('prometheus_remote_write');
    return `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${this.port}
exporters:
  file:
    path: ${this._output(start)}
    flush_interval: 50ms
  debug:
    verbosity: basic${remoteWrite}
service:
  telemetry:
    logs:
      level: info
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [${exporters.join(', ')}]
`;
  }
}

/** A free TCP port on loopback, as the OS hands one out. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** OTLP JSON (the protobuf mapping: int64 as strings, lowerCamelCase). */
export interface OtlpMetricsRequest {
  resourceMetrics: {
    resource: { attributes: OtlpKeyValue[] };
    scopeMetrics: {
      scope: { name: string; version?: string };
      metrics: OtlpMetric[];
    }[];
  }[];
}

export interface OtlpKeyValue {
  key: string;
  value: {
    stringValue?: string;
    boolValue?: boolean;
    intValue?: string;
    doubleValue?: number;
  };
}

/** A measurement kept beside a point, with the span it was made in. */
export interface OtlpExemplar {
  filteredAttributes?: OtlpKeyValue[];
  timeUnixNano: string;
  asInt?: string;
  asDouble?: number;
  /** Hex. */
  traceId?: string;
  spanId?: string;
}

export interface OtlpNumberPoint {
  attributes?: OtlpKeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  asInt?: string;
  asDouble?: number;
  exemplars?: OtlpExemplar[];
}

export interface OtlpHistogramPoint {
  attributes?: OtlpKeyValue[];
  timeUnixNano: string;
  count: string;
  sum?: number;
  bucketCounts?: string[];
  explicitBounds?: number[];
  exemplars?: OtlpExemplar[];
}

export interface OtlpExponentialPoint {
  attributes?: OtlpKeyValue[];
  timeUnixNano: string;
  count: string;
  sum?: number;
  min?: number;
  max?: number;
  scale?: number;
  zeroCount?: string;
  positive?: { offset?: number; bucketCounts?: string[] };
  negative?: { offset?: number; bucketCounts?: string[] };
  exemplars?: OtlpExemplar[];
}

export interface OtlpSummaryPoint {
  attributes?: OtlpKeyValue[];
  timeUnixNano: string;
  count: string;
  sum?: number;
  quantileValues?: { quantile?: number; value?: number }[];
}

export interface OtlpMetric {
  name: string;
  unit?: string;
  description?: string;
  sum?: {
    dataPoints: OtlpNumberPoint[];
    aggregationTemporality: number;
    isMonotonic?: boolean;
  };
  gauge?: { dataPoints: OtlpNumberPoint[] };
  histogram?: {
    dataPoints: OtlpHistogramPoint[];
    aggregationTemporality: number;
  };
  exponentialHistogram?: {
    dataPoints: OtlpExponentialPoint[];
    aggregationTemporality: number;
  };
  summary?: { dataPoints: OtlpSummaryPoint[] };
}

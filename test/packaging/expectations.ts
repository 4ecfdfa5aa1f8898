import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { QuickStart } from './readme';
import type { RunResult } from './runtimes';

/** Runs code in an installed project as its user would. */
export interface ProjectRun {
  /** Writes `source` to `file` in the project and runs `node <file>` there. */
  node(
    file: string,
    source: string,
    env?: Record<string, string>
  ): Promise<RunResult>;
}

/** What the packaging test expects of one README. */
export interface ReadmeExpectations {
  path: string;
  label: string;
  /** Checks what the quick start printed, from what it records. */
  checkOutput(output: string): void;
  /** The optional part the README's second install line adds, and how to see it work. */
  extra?: {
    what: string;
    title: string;
    check(run: ProjectRun, start: QuickStart): Promise<void>;
  };
}

/**
 * The largest relative error of a quantile from a sketch of `maxBuckets`
 * buckets per sign (scale ≤ 20) holding values in [min, max]: the bucket
 * geometry of the OpenTelemetry exponential histogram, (base − 1)/(base + 1)
 * at the finest scale whose buckets cover the range.
 */
function sketchError(min: number, max: number, maxBuckets = 520): number {
  for (let scale = 20; ; scale--) {
    const base = 2 ** (2 ** -scale);
    const index = (v: number): number =>
      Math.ceil(Math.log(v) / Math.log(base)) - 1;
    if (index(max) - index(min) + 1 <= maxBuckets)
      return (base - 1) / (base + 1);
  }
}

/** The value at rank ⌊q·(n − 1)⌋ of `values` sorted: the sketches' quantile rule. */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))];
}

/** `printed` (one decimal) is within the sketch's error of `exact`. */
function expectQuantile(printed: string, exact: number, error: number): void {
  expect(
    Math.abs(Number(printed) - exact),
    `${printed} vs exact ${exact}`
  ).to.be.at.most(exact * error + 0.05);
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

function expectRan(result: RunResult, what: string): void {
  expect(result.timedOut, `${what} still running`).to.equal(false);
  expect(result.code, `${what}:\n${result.output}`).to.equal(0);
}

const metrics: ReadmeExpectations = {
  path: 'packages/metrics/README.md',
  label: 'metrics',
  checkOutput(output) {
    // 1 … 1000 ms recorded into a histogram of the reader (520 buckets).
    const m = /^count (\d+), p50 ([\d.]+) ms, p99 ([\d.]+) ms$/m.exec(output);
    expect(m, output).not.to.equal(null);
    const values = range(1, 1000);
    expect(Number(m![1])).to.equal(values.length);
    expectQuantile(m![2], exactQuantile(values, 0.5), sketchError(1, 1000));
    expectQuantile(m![3], exactQuantile(values, 0.99), sketchError(1, 1000));
  },
  extra: {
    what: 'OTLP exporter',
    title:
      'exports the quick start over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and still ends when nothing listens there',
    async check(run, start) {
      const received: { path: string; type: string; body: Buffer }[] = [];
      const server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          received.push({
            path: request.url ?? '',
            type: request.headers['content-type'] ?? '',
            body: Buffer.concat(chunks),
          });
          // An empty ExportMetricsServiceResponse.
          response
            .writeHead(200, { 'content-type': 'application/x-protobuf' })
            .end();
        });
      });
      await new Promise<void>(resolve =>
        server.listen(0, '127.0.0.1', resolve)
      );
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const live = await run.node('quickstart.mjs', start.esm, {
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        });
        expectRan(live, 'the quick start exporting over OTLP');
        metrics.checkOutput(live.output);
        const exports = received.filter(r => r.path === '/v1/metrics');
        expect(exports.length, 'OTLP requests to /v1/metrics').to.be.at.least(
          1
        );
        expect(exports[0].type).to.equal('application/x-protobuf');
        expect(
          exports.some(r => r.body.includes('checkout.duration')),
          'the metric in an export'
        ).to.equal(true);
      } finally {
        server.closeAllConnections();
        await new Promise(resolve => server.close(resolve));
      }
      // Nothing listens on the port any more: the export fails, the quick start does not.
      const dead = await run.node('quickstart.mjs', start.esm, {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      });
      expectRan(dead, 'the quick start with a dead OTLP endpoint');
      metrics.checkOutput(dead.output);
    },
  },
};

/** Each README: what its quick start records, so what it must print. */
export const READMES: ReadmeExpectations[] = [
  {
    path: 'packages/sketch/README.md',
    label: 'sketch',
    checkOutput(output) {
      // 1 … 1000 ms recorded.
      const m = /^p50 ([\d.]+) ms, p99 ([\d.]+) ms \(±([\d.]+)%\)$/m.exec(
        output
      );
      expect(m, output).not.to.equal(null);
      const values = range(1, 1000);
      const error = sketchError(1, 1000);
      expectQuantile(m![1], exactQuantile(values, 0.5), error);
      expectQuantile(m![2], exactQuantile(values, 0.99), error);
      expect(Number(m![3])).to.be.closeTo(error * 100, 0.005);
    },
  },
  metrics,
  {
    path: 'packages/circuit-breaker/README.md',
    label: 'circuit-breaker',
    checkOutput(output) {
      // Calls 1 … 30: every fifth failed, the others succeeded in `call` ms; then opened.
      const m =
        /^payments: (\w+), (\d+) succeeded, (\d+) failed \((\d+)%\), p50 ([\d.]+) ms, health (\w+)$/m.exec(
          output
        );
      expect(m, output).not.to.equal(null);
      const successes = range(1, 30).filter(call => call % 5 !== 0);
      const failures = 30 - successes.length;
      expect(m![1]).to.equal('open');
      expect(Number(m![2])).to.equal(successes.length);
      expect(Number(m![3])).to.equal(failures);
      expect(Number(m![4])).to.equal(Math.round((failures / 30) * 100));
      expectQuantile(m![5], exactQuantile(successes, 0.5), sketchError(1, 29));
      expect(m![6], 'an open breaker is unhealthy (README "Health")').to.equal(
        'unhealthy'
      );
    },
    extra: {
      what: 'instrumentation base',
      title:
        "registers the auto-instrumentations with the application's @opentelemetry/instrumentation, as ESM and CommonJS",
      async check(run) {
        // As the README's "Auto-instrumentation" does, checked by what the API says of them.
        const body = [
          'const opossum = new OpossumInstrumentation();',
          'const cockatiel = new CockatielInstrumentation();',
          'registerInstrumentations({ instrumentations: [opossum, cockatiel] });',
          'console.log(`enabled ${opossum.isEnabled() && cockatiel.isEnabled()}, one collector ${opossum.collector === cockatiel.collector && opossum.collector instanceof CircuitBreakerMetrics}`);',
        ];
        const esm = await run.node(
          'instrumentation.mjs',
          [
            "import { registerInstrumentations } from '@opentelemetry/instrumentation';",
            "import { CircuitBreakerMetrics } from '@datapunk/otel-circuit-breaker';",
            "import { CockatielInstrumentation, OpossumInstrumentation } from '@datapunk/otel-circuit-breaker/instrumentation';",
            ...body,
          ].join('\n')
        );
        expectRan(esm, 'instrumentation.mjs');
        expect(esm.output.trim()).to.equal('enabled true, one collector true');
        const commonjs = await run.node(
          'instrumentation.cjs',
          [
            "const { registerInstrumentations } = require('@opentelemetry/instrumentation');",
            "const { CircuitBreakerMetrics } = require('@datapunk/otel-circuit-breaker');",
            "const { CockatielInstrumentation, OpossumInstrumentation } = require('@datapunk/otel-circuit-breaker/instrumentation');",
            ...body,
          ].join('\n')
        );
        expectRan(commonjs, 'instrumentation.cjs');
        expect(commonjs.output.trim()).to.equal(
          'enabled true, one collector true'
        );
      },
    },
  },
  {
    path: 'README.md',
    label: 'all three',
    checkOutput(output) {
      // Calls 1 … 100, every tenth failed; an order counted per call, paid unless failed.
      const calls = range(1, 100);
      const failed = calls.filter(call => call % 10 === 0).length;
      expect(output).to.match(
        new RegExp(
          `^orders paid: ${calls.length - failed}, payment failures: ${failed}$`,
          'm'
        )
      );
      const m = /^call p99: ([\d.]+) ms$/m.exec(output);
      expect(m, output).not.to.equal(null);
      expectQuantile(m![1], exactQuantile(calls, 0.99), sketchError(1, 100));
    },
  },
];

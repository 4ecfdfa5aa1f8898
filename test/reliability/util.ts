import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { MetricReader } from '@opentelemetry/sdk-metrics';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** A reader the test collects from by hand (the SDK's default aggregations, cumulative). */
export class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}

  /** The sum of every point of `name` (a sum metric), all attribute sets. */
  async total(name: string): Promise<number> {
    const { resourceMetrics } = await this.collect();
    return totalOf(resourceMetrics, name);
  }
}

/** The sum of every point of `name` (a sum metric) in a collection. */
export function totalOf(
  resourceMetrics: ResourceMetrics,
  name: string
): number {
  let total = 0;
  for (const scope of resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics)
      if (metric.descriptor.name === name)
        for (const point of metric.dataPoints) total += point.value as number;
  return total;
}

/**
 * Counts what reaches the OpenTelemetry diag logger (warn and above) until
 * the returned stop() is called.
 */
export function countDiag(): { lines: string[]; stop(): void } {
  const lines: string[] = [];
  const log = (message: string) => lines.push(message);
  diag.setLogger(
    {
      error: log,
      warn: log,
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true }
  );
  return { lines, stop: () => diag.disable() };
}

/** Object.prototype's own property names, to show nothing was added to it. */
export function prototypeKeys(): string[] {
  return Object.getOwnPropertyNames(Object.prototype).sort();
}

const FIXTURES = resolve(__dirname, 'fixtures');

/**
 * Runs fixtures/<name>.cjs in a child Node (the one running the tests)
 * with `--expose-gc`, and returns the JSON its last stdout line holds.
 */
export function runFixture<T>(
  name: string,
  args: string[] = [],
  timeoutMillis = 300_000
): Promise<T> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', resolve(FIXTURES, `${name}.cjs`), ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] }
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMillis);
    child.once('exit', code => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        fail(new Error(`${name} exited with ${code}:\n${stdout}\n${stderr}`));
        return;
      }
      try {
        done(JSON.parse(last) as T);
      } catch {
        fail(
          new Error(`${name} printed no JSON result:\n${stdout}\n${stderr}`)
        );
      }
    });
  });
}

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { QueryResult } from '@datapunk/otel-metrics';

const run = promisify(execFile);
const FIXTURE = join(__dirname, 'fixtures', 'instrumentation-http.cjs');

/** The requests the fixture makes: method, path, how many times. */
const PLAN: [string, string, number][] = [
  ['GET', '/ok', 5],
  ['GET', '/missing', 2],
  ['GET', '/fail', 3],
  ['POST', '/items', 4],
];
/** What the fixture's server answers, by path. */
const STATUS: Record<string, number> = {
  '/ok': 200,
  '/items': 201,
  '/missing': 404,
  '/fail': 500,
};

interface Exported {
  scope: string;
  unit: string;
  advice?: { explicitBucketBoundaries?: number[] };
  points: {
    attributes: Record<string, unknown>;
    count: number;
    min: number;
    max: number;
  }[];
}

interface Report {
  port: number;
  statuses: number[];
  queried: Record<
    'server' | 'client' | 'serverErrors' | 'clientNotFound',
    QueryResult
  >;
  server: Exported;
  client: Exported;
}

/**
 * The HTTP semantic conventions' error.type: the status code as a string,
 * for a server's 5xx and a client's 4xx and 5xx.
 */
function errorType(status: number, side: 'server' | 'client') {
  return status >= (side === 'server' ? 500 : 400)
    ? { 'error.type': String(status) }
    : {};
}

describe('@opentelemetry/instrumentation-http through RetentionMeterProvider (real HTTP, a child process)', function () {
  this.timeout(30_000);
  let report: Report;

  before(async () => {
    // A fresh process: the instrumentation patches `http` when it is required.
    const { stdout } = await run(
      process.execPath,
      [FIXTURE, JSON.stringify(PLAN)],
      { cwd: dirname(FIXTURE), timeout: 20_000 }
    );
    report = JSON.parse(stdout.trim().split('\n').pop()!) as Report;
  });

  const requests = () =>
    PLAN.map(([method, path, times]) => ({
      method,
      status: STATUS[path],
      times,
    }));
  const total = PLAN.reduce((n, [, , times]) => n + times, 0);

  it('made the requests of the plan over a real loopback server', () => {
    expect(report.statuses).to.deep.equal(
      PLAN.flatMap(([, path, times]) =>
        new Array<number>(times).fill(STATUS[path])
      )
    );
  });

  it('http.server.request.duration: one series per method and status, exact counts, with the server attributes', () => {
    expect(report.server.scope).to.equal('@opentelemetry/instrumentation-http');
    expect(report.server.unit).to.equal('s');
    expect(
      report.server.points.map(p => [p.attributes, p.count])
    ).to.have.deep.members(
      requests().map(({ method, status, times }) => [
        {
          'http.request.method': method,
          'http.response.status_code': status,
          'network.protocol.version': '1.1',
          'url.scheme': 'http',
          ...errorType(status, 'server'),
        },
        times,
      ])
    );
    for (const p of report.server.points) {
      expect(p.min).to.be.above(0);
      expect(p.max).to.be.at.least(p.min).and.below(10);
    }
  });

  it('http.client.request.duration: the same requests seen by the client, with server.address and server.port', () => {
    expect(report.client.unit).to.equal('s');
    expect(
      report.client.points.map(p => [p.attributes, p.count])
    ).to.have.deep.members(
      requests().map(({ method, status, times }) => [
        {
          'http.request.method': method,
          'http.response.status_code': status,
          'network.protocol.version': '1.1',
          'server.address': '127.0.0.1',
          'server.port': report.port,
          ...errorType(status, 'client'),
        },
        times,
      ])
    );
  });

  it('collectAndQuery() and query() see every request, by attributes too', () => {
    const { server, client, serverErrors, clientNotFound } = report.queried;
    expect([server.kind, server.count, server.series]).to.deep.equal([
      'histogram',
      total,
      PLAN.length,
    ]);
    expect([client.kind, client.count, client.series]).to.deep.equal([
      'histogram',
      total,
      PLAN.length,
    ]);
    const times = (path: string) => PLAN.find(([, p]) => p === path)![2];
    expect(serverErrors.count).to.equal(times('/fail'));
    expect(clientNotFound.count).to.equal(times('/missing'));
    // The exported histogram and the query agree on the extremes.
    expect(server.min).to.equal(
      Math.min(...report.server.points.map(p => p.min))
    );
    expect(server.max).to.equal(
      Math.max(...report.server.points.map(p => p.max))
    );
  });

  it("exports keep the instrument's bucket advice, for exporters with explicit buckets", () => {
    // The semantic conventions' recommended boundaries for HTTP durations.
    for (const exported of [report.server, report.client])
      expect(exported.advice?.explicitBucketBoundaries).to.deep.equal([
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5,
        10,
      ]);
  });
});

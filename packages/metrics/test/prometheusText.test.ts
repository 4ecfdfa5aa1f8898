import { expect } from 'chai';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import * as sinon from 'sinon';
import { serializeMetrics } from '../src/export/prometheus';
import type { SerializeOptions } from '../src/export/prometheus';
import {
  counter,
  exponentialHistogram,
  gauge,
  histogram,
  resourceMetrics,
  scaleZeroHistogram,
  summary,
  upDownCounter,
} from './prometheusFixtures';

/** Values whose float sum is exact, in known scale-0 buckets (the spec's worked example, binary fractions). */
const VALUES = [0.375, 0.75, 1.5, 3, 3, 12, 1000];
const SCOPE = 'otel_scope_name="app",otel_scope_version="1.2"';

async function text(
  metrics: Parameters<typeof resourceMetrics>[0],
  options: SerializeOptions & Parameters<typeof resourceMetrics>[1] = {}
): Promise<string> {
  const { resource, scope, ...serialize } = options;
  const { contentType, chunks } = await serializeMetrics(
    resourceMetrics(metrics, { resource, scope }),
    serialize
  );
  expect(contentType).to.equal('text/plain; version=0.0.4; charset=utf-8');
  return Buffer.concat(chunks).toString('utf8');
}

describe('Prometheus text format 0.0.4', () => {
  let warned: sinon.SinonStub;
  beforeEach(() => {
    warned = sinon.stub();
    diag.setLogger(
      {
        error: warned,
        warn: warned,
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      DiagLogLevel.WARN
    );
  });
  afterEach(() => diag.disable());

  it('writes every type: OTel names with units and _total, scope labels, real summaries, target_info', async () => {
    const output = await text([
      counter(
        'http.server.requests',
        [
          { attributes: { route: '/a' }, value: 7 },
          { attributes: { route: '/b' }, value: 2 },
        ],
        { unit: '{request}', description: 'Requests served' }
      ),
      upDownCounter('queue.depth', [{ value: 3 }]),
      gauge('cpu.utilization', [{ attributes: { core: 0 }, value: 0.25 }], {
        unit: '1',
      }),
      histogram(
        'payload.size',
        [
          {
            value: {
              buckets: { boundaries: [0, 100, 1000], counts: [1, 2, 3, 4] },
              count: 10,
              sum: 5000,
            },
          },
        ],
        'By'
      ),
      exponentialHistogram('latency', [{ value: scaleZeroHistogram(VALUES) }], {
        unit: 's',
        advice: [10, 0.1, 1],
      }),
      summary(
        'latency.window',
        [
          {
            value: {
              count: 7,
              sum: 1020.625,
              quantileValues: [
                { quantile: 1, value: 1000 },
                { quantile: 0, value: 0.375 },
                { quantile: 0.5, value: 3 },
              ],
            },
          },
        ],
        's'
      ),
    ]);
    expect(output).to.equal(
      [
        '# HELP target_info Target metadata',
        '# TYPE target_info gauge',
        'target_info{service_name="shop"} 1',
        '# HELP http_server_requests_total Requests served',
        '# TYPE http_server_requests_total counter',
        `http_server_requests_total{${SCOPE},route="/a"} 7`,
        `http_server_requests_total{${SCOPE},route="/b"} 2`,
        '# HELP queue_depth queue.depth',
        '# TYPE queue_depth gauge',
        `queue_depth{${SCOPE}} 3`,
        '# HELP cpu_utilization_ratio cpu.utilization',
        '# TYPE cpu_utilization_ratio gauge',
        `cpu_utilization_ratio{core="0",${SCOPE}} 0.25`,
        '# HELP payload_size_bytes payload.size',
        '# TYPE payload_size_bytes histogram',
        `payload_size_bytes_bucket{${SCOPE},le="0.0"} 1`,
        `payload_size_bytes_bucket{${SCOPE},le="100.0"} 3`,
        `payload_size_bytes_bucket{${SCOPE},le="1000.0"} 6`,
        `payload_size_bytes_bucket{${SCOPE},le="+Inf"} 10`,
        `payload_size_bytes_sum{${SCOPE}} 5000`,
        `payload_size_bytes_count{${SCOPE}} 10`,
        '# HELP latency_seconds latency',
        '# TYPE latency_seconds histogram',
        // The advice's boundaries, sorted; counts of the values at or below each.
        `latency_seconds_bucket{${SCOPE},le="0.1"} 0`,
        `latency_seconds_bucket{${SCOPE},le="1.0"} 2`,
        `latency_seconds_bucket{${SCOPE},le="10.0"} 5`,
        `latency_seconds_bucket{${SCOPE},le="+Inf"} 7`,
        `latency_seconds_sum{${SCOPE}} 1020.625`,
        `latency_seconds_count{${SCOPE}} 7`,
        '# HELP latency_window_seconds latency.window',
        '# TYPE latency_window_seconds summary',
        `latency_window_seconds{${SCOPE},quantile="0.0"} 0.375`,
        `latency_window_seconds{${SCOPE},quantile="0.5"} 3`,
        `latency_window_seconds{${SCOPE},quantile="1.0"} 1000`,
        `latency_window_seconds_sum{${SCOPE}} 1020.625`,
        `latency_window_seconds_count{${SCOPE}} 7`,
        '',
      ].join('\n')
    );
    expect(warned.called).to.equal(false);
  });

  it('gives an exponential histogram without advice 31 power-of-two buckets, each count exact', async () => {
    const values = [0.0004, 0.3, 0.75, 1, 2, 2.5, 4096, 5e6];
    const output = await text([
      exponentialHistogram('latency', [{ value: scaleZeroHistogram(values) }]),
    ]);
    const buckets = output.match(/^latency_bucket\{.*$/gm)!;
    const expected = Array.from({ length: 31 }, (_, i) => 2 ** (i - 10)).map(
      bound => [bound, values.filter(v => v <= bound).length]
    );
    expect(buckets).to.have.length(32);
    buckets.slice(0, 31).forEach((line, i) => {
      const [, le, count] = line.match(/le="([^"]+)"\} (\d+)$/)!;
      expect(Number(le)).to.equal(expected[i][0]);
      expect(Number(count), `le=${le}`).to.equal(expected[i][1]);
    });
    expect(buckets[31]).to.match(/le="\+Inf"\} 8$/);
  });

  it('takes the classic boundaries it is given, and writes le and quantile canonically', async () => {
    const output = await text(
      [
        exponentialHistogram('latency', [
          { value: scaleZeroHistogram([0.5, 3, 3e6]) },
        ]),
        summary('s', [
          {
            value: {
              count: 1,
              sum: 1,
              quantileValues: [
                { quantile: 0.999, value: 1 },
                { quantile: 0.00001, value: 1 },
              ],
            },
          },
        ]),
      ],
      { histogramBoundaries: [1e6, 0.0001, 1, 2.5, 123456] }
    );
    // Go's %g with ".0" added: what Prometheus' protobuf parser writes.
    expect(output.match(/(?<=,)le="[^"]+"\} \d+/g)).to.deep.equal([
      'le="0.0001"} 0',
      'le="1.0"} 1',
      'le="2.5"} 1',
      'le="123456.0"} 2',
      'le="1e+06"} 2',
      'le="+Inf"} 3',
    ]);
    expect(output.match(/quantile="[^"]+"/g)).to.deep.equal([
      'quantile="1e-05"',
      'quantile="0.999"',
    ]);
  });

  it('keeps any attribute key valid: sanitized, generated names moved aside, collisions joined with ; in key order', async () => {
    const attributes: Attributes = {
      '0': 'zero',
      '': 'empty',
      'a.b': 'dot',
      a_b: 'underscore',
      otel_scope_name: 'mine',
      le: '5',
      quantile: 'q',
      __name__: 'n',
      ü: 'u',
      quote: 'say "hi" \\ \nbye',
      flag: true,
      ratio: 1.5,
      list: ['x', 'y'], // one type: api 1.9 types no mixed arrays
    };
    const output = await text([
      histogram('h', [
        {
          attributes,
          value: { buckets: { boundaries: [], counts: [1] }, count: 1, sum: 1 },
        },
      ]),
    ]);
    const labels =
      '_name_="n",a_b="dot;underscore",exported_le="5",exported_quantile="q",flag="true",key_="empty;u",key_0="zero",list="[\\"x\\",\\"y\\"]",otel_scope_name="app;mine",otel_scope_version="1.2",quote="say \\"hi\\" \\\\ \\nbye",ratio="1.5"';
    expect(output).to.include(`h_bucket{${labels},le="+Inf"} 1\n`);
    expect(output).to.include(`h_count{${labels}} 1\n`);
  });

  it('escapes HELP text and falls back to the OTel name when there is none', async () => {
    const output = await text([
      gauge('a', [{ value: 1 }], { description: 'back\\slash\nnew "line"' }),
      gauge('b', [{ value: 1 }]),
    ]);
    expect(output).to.include('# HELP a back\\\\slash\\nnew "line"\n');
    expect(output).to.include('# HELP b b\n');
  });

  it('leaves out, and reports, what would make the scrape invalid: clashing names, repeated label sets, unreadable attributes, delta sums', async () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys for you');
        },
      }
    );
    const output = await text([
      gauge('x', [{ value: 1 }]),
      counter('x', [{ value: 2 }]), // its OpenMetrics family would be `x` too
      histogram('h', [
        {
          value: { buckets: { boundaries: [], counts: [1] }, count: 1, sum: 1 },
        },
      ]),
      gauge('h.count', [{ value: 3 }]), // `h_count` is the histogram's
      gauge('a.b', [{ attributes: { k: 'v' }, value: 4 }]),
      gauge('a_b', [
        { attributes: { k: 'v' }, value: 5 }, // the same series as a.b's
        { attributes: { k: 'w' }, value: 6 },
        { attributes: hostile as Attributes, value: 7 },
      ]),
      counter('d', [{ value: 8 }], { delta: true }),
      gauge('empty', []),
    ]);
    const samples = output.split('\n').filter(l => l && !l.startsWith('#'));
    expect(samples).to.deep.equal([
      'target_info{service_name="shop"} 1',
      `x{${SCOPE}} 1`,
      `h_bucket{${SCOPE},le="+Inf"} 1`,
      `h_sum{${SCOPE}} 1`,
      `h_count{${SCOPE}} 1`,
      `a_b{k="v",${SCOPE}} 4`,
      `a_b{k="w",${SCOPE}} 6`,
    ]);
    expect(output.match(/^# TYPE .*/gm)).to.deep.equal([
      '# TYPE target_info gauge',
      '# TYPE x gauge',
      '# TYPE h histogram',
      '# TYPE a_b gauge',
    ]);
    const reports = warned.args.map(a => String(a[0])).join('\n');
    expect(reports).to.match(
      /metric 'x' is not exposed: its Prometheus name 'x_total'/
    );
    expect(reports).to.match(/metric 'h.count' is not exposed/);
    expect(reports).to.match(/another point of 'a_b' has the same labels/);
    expect(reports).to.match(
      /a point of 'a_b' is not exposed: Error: no keys for you/
    );
    expect(reports).to.match(
      /metric 'd' is not exposed: Prometheus takes only cumulative/
    );
  });

  it('rejects invalid options, naming them', async () => {
    const metrics = resourceMetrics([]);
    await expectRejection(
      serializeMetrics(metrics, { format: 'json' as never }),
      RangeError,
      /serializeMetrics: option 'format' must be one of 'text', 'openmetrics', 'protobuf'/
    );
    await expectRejection(
      serializeMetrics(metrics, { histogramBoundaries: [1, NaN] }),
      RangeError,
      /option 'histogramBoundaries' must hold numbers > -Infinity and < Infinity/
    );
    await expectRejection(
      serializeMetrics(metrics, { histogramBoundaries: [] }),
      TypeError,
      /option 'histogramBoundaries' must be an array of 1 to 256 numbers/
    );
  });
});

async function expectRejection(
  promise: Promise<unknown>,
  type: new (...args: never[]) => Error,
  message: RegExp
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  expect(error).to.be.instanceOf(type);
  expect((error as Error).message).to.match(message);
}

import { expect } from 'chai';
import { serializeMetrics } from '../src/export/prometheus';
import type { Exemplar } from '../src/export/prometheus';
import {
  counter,
  exponentialHistogram,
  gauge,
  histogram,
  resourceMetrics,
  scaleZeroHistogram,
  summary,
} from './prometheusFixtures';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const IDS = `span_id="${SPAN}",trace_id="${TRACE}"`;
const SCOPE = 'otel_scope_name="app"';
/** Seconds of the crafted exemplars' times. */
const T = 1_700_000_000;

function exemplar(
  value: number,
  secondsAfter: number,
  more: Partial<Exemplar> = {}
): Exemplar {
  return {
    filteredAttributes: {},
    value,
    timeMillis: (T + secondsAfter) * 1000,
    traceId: TRACE,
    spanId: SPAN,
    ...more,
  } as Exemplar;
}

async function openMetrics(
  metrics: Parameters<typeof resourceMetrics>[0]
): Promise<string> {
  const { contentType, chunks } = await serializeMetrics(
    resourceMetrics(metrics, { scope: { name: 'app' } }),
    { format: 'openmetrics' }
  );
  expect(contentType).to.equal(
    'application/openmetrics-text; version=1.0.0; charset=utf-8'
  );
  return Buffer.concat(chunks).toString('utf8');
}

describe('OpenMetrics 1.0 text', () => {
  it('names families as OpenMetrics does, writes units, info, exemplars on _total and _bucket lines only, and # EOF', async () => {
    const output = await openMetrics([
      counter(
        'http.requests',
        [
          {
            attributes: { route: '/a' },
            value: 7,
            exemplars: [
              exemplar(1, 10.5, { filteredAttributes: { user: 'ann' } }),
              // The latest is the one a counter shows.
              {
                filteredAttributes: {},
                value: 1,
                hrTime: [T + 20, 250_000_000],
                traceId: TRACE,
                spanId: SPAN,
              },
              exemplar(1, 15),
            ],
          },
        ],
        { description: 'Requests "served"' }
      ),
      counter('io.written', [{ value: 4096 }], { unit: 'By' }),
      histogram(
        'req.duration',
        [
          {
            value: {
              buckets: { boundaries: [0.1, 1], counts: [1, 2, 1] },
              count: 4,
              sum: 5.75,
            },
            exemplars: [
              exemplar(0.05, 10),
              exemplar(0.7, 12, { filteredAttributes: { user: 'bob' } }),
              exemplar(0.5, 11),
              {
                filteredAttributes: {},
                value: 5,
                hrTime: [T + 13, 5],
              },
            ],
          },
        ],
        's'
      ),
      gauge('temperature', [{ value: 21.5, exemplars: [exemplar(21.5, 1)] }]),
      summary('latency.window', [
        {
          value: {
            count: 2,
            sum: 3,
            quantileValues: [
              { quantile: 0.5, value: 1 },
              { quantile: 1, value: 2 },
            ],
          },
          exemplars: [exemplar(1, 1)],
        },
      ]),
    ]);
    expect(output).to.equal(
      [
        '# HELP target Target metadata',
        '# TYPE target info',
        'target_info{service_name="shop"} 1',
        '# HELP http_requests Requests \\"served\\"',
        '# TYPE http_requests counter',
        `http_requests_total{${SCOPE},route="/a"} 7 # {${IDS}} 1 ${T + 20}.25`,
        '# HELP io_written_bytes io.written',
        '# TYPE io_written_bytes counter',
        '# UNIT io_written_bytes bytes',
        `io_written_bytes_total{${SCOPE}} 4096`,
        '# HELP req_duration_seconds req.duration',
        '# TYPE req_duration_seconds histogram',
        '# UNIT req_duration_seconds seconds',
        `req_duration_seconds_bucket{${SCOPE},le="0.1"} 1 # {${IDS}} 0.05 ${T + 10}`,
        `req_duration_seconds_bucket{${SCOPE},le="1.0"} 3 # {${IDS},user="bob"} 0.7 ${T + 12}`,
        `req_duration_seconds_bucket{${SCOPE},le="+Inf"} 4 # {} 5 ${T + 13}.000000005`,
        `req_duration_seconds_sum{${SCOPE}} 5.75`,
        `req_duration_seconds_count{${SCOPE}} 4`,
        '# HELP temperature temperature',
        '# TYPE temperature gauge',
        `temperature{${SCOPE}} 21.5`,
        '# HELP latency_window latency.window',
        '# TYPE latency_window summary',
        `latency_window{${SCOPE},quantile="0.5"} 1`,
        `latency_window{${SCOPE},quantile="1.0"} 2`,
        `latency_window_sum{${SCOPE}} 3`,
        `latency_window_count{${SCOPE}} 2`,
        '# EOF',
        '',
      ].join('\n')
    );
  });

  it('keeps exemplar labels within 128 code points, trace and span ids first and winning clashes', async () => {
    const output = await openMetrics([
      counter('a', [
        {
          value: 1,
          exemplars: [
            // 63 code points of ids + 4 + 61 = 128: all fit.
            exemplar(1, 1, { filteredAttributes: { note: 'é'.repeat(61) } }),
          ],
        },
      ]),
      counter('b', [
        {
          value: 1,
          // One more code point: the attributes go, the ids stay.
          exemplars: [
            exemplar(1, 1, { filteredAttributes: { note: 'é'.repeat(62) } }),
          ],
        },
      ]),
      counter('c', [
        {
          value: 1,
          exemplars: [
            exemplar(1, 1, {
              filteredAttributes: {
                trace_id: 'fake',
                'span.id': 'fake',
                k: 'v',
              },
            }),
          ],
        },
      ]),
    ]);
    expect(output).to.include(
      `a_total{${SCOPE}} 1 # {note="${'é'.repeat(61)}",${IDS}} 1 ${T + 1}\n`
    );
    expect(output).to.include(`b_total{${SCOPE}} 1 # {${IDS}} 1 ${T + 1}\n`);
    expect(output).to.include(
      `c_total{${SCOPE}} 1 # {k="v",${IDS}} 1 ${T + 1}\n`
    );
  });

  it('places an exponential histogram exemplar in the classic bucket of its value, and drops _sum when it is negative', async () => {
    const output = await openMetrics([
      exponentialHistogram(
        'x',
        [
          {
            value: scaleZeroHistogram([0.375, 3]),
            exemplars: [exemplar(3, 2)],
          },
        ],
        { advice: [1, 4] }
      ),
      histogram('neg', [
        {
          value: {
            buckets: { boundaries: [-1, 0], counts: [2, 0, 0] },
            count: 2,
            sum: -5,
          },
        },
      ]),
    ]);
    expect(output).to.include(`x_bucket{${SCOPE},le="1.0"} 1\n`);
    expect(output).to.include(
      `x_bucket{${SCOPE},le="4.0"} 2 # {${IDS}} 3 ${T + 2}\n`
    );
    expect(output).to.include(`x_bucket{${SCOPE},le="+Inf"} 2\n`);
    expect(output).to.not.include('neg_sum');
    expect(output).to.include(`neg_count{${SCOPE}} 2\n`);
  });
});

import { expect } from 'chai';
import { serializeMetrics } from '../src/export/prometheus';
import type { Exemplar } from '../src/export/prometheus';
import { decodeFamilies, nativeBuckets } from './prometheusDecoder';
import type { DecodedFamily } from './prometheusDecoder';
import {
  counter,
  exponentialHistogram,
  exponentialPoint,
  gauge,
  histogram,
  resourceMetrics,
  scaleZeroHistogram,
  summary,
} from './prometheusFixtures';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const T = 1_700_000_000;
const SCOPE_LABEL = { name: 'otel_scope_name', value: 'app' };
const IDS = [
  { name: 'span_id', value: SPAN },
  { name: 'trace_id', value: TRACE },
];

async function families(
  metrics: Parameters<typeof resourceMetrics>[0]
): Promise<DecodedFamily[]> {
  const { contentType, chunks } = await serializeMetrics(
    resourceMetrics(metrics, { scope: { name: 'app' } }),
    { format: 'protobuf' }
  );
  expect(contentType).to.equal(
    'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'
  );
  return decodeFamilies(Buffer.concat(chunks));
}

function family(all: DecodedFamily[], name: string): DecodedFamily {
  const found = all.find(f => f.name === name);
  if (!found)
    throw new Error(`no family ${name} in ${all.map(f => f.name).join(', ')}`);
  return found;
}

function exemplar(value: number, secondsAfter: number): Exemplar {
  return {
    filteredAttributes: { user: 'ann' },
    value,
    hrTime: [T + secondsAfter, 500_000_000],
    traceId: TRACE,
    spanId: SPAN,
  };
}

/** Prometheus' bucket index → count for positive `values` at `schema`: bucket i is (b^(i-1), b^i]. */
function expectedNative(values: number[], schema: number): Map<number, number> {
  const buckets = new Map<number, number>();
  for (const v of values) {
    const index = Math.ceil(Math.log2(v) * 2 ** schema);
    buckets.set(index, (buckets.get(index) ?? 0) + 1);
  }
  return new Map([...buckets].sort((a, b) => a[0] - b[0]));
}

describe('Prometheus protobuf format', () => {
  it('writes delimited MetricFamily messages of every type that an independent decoder reads back', async () => {
    const decoded = await families([
      counter(
        'http.requests',
        [
          {
            attributes: { route: '/a' },
            value: 7,
            exemplars: [exemplar(1, 1), exemplar(1, 5)],
          },
        ],
        { description: 'Requests' }
      ),
      gauge('temperature', [{ value: 21.5 }], { unit: 'Cel' }),
      summary('latency.window', [
        {
          value: {
            count: 3,
            sum: 6,
            quantileValues: [
              { quantile: 1, value: 3 },
              { quantile: 0.5, value: 2 },
            ],
          },
        },
      ]),
      histogram('payload', [
        {
          value: {
            buckets: { boundaries: [10, 100], counts: [1, 2, 3] },
            count: 6,
            sum: 900,
          },
          exemplars: [exemplar(50, 2), exemplar(500, 3)],
        },
      ]),
    ]);
    expect(decoded.map(f => [f.name, f.type])).to.deep.equal([
      ['target_info', 'GAUGE'],
      ['http_requests_total', 'COUNTER'],
      ['temperature_celsius', 'GAUGE'],
      ['latency_window', 'SUMMARY'],
      ['payload', 'HISTOGRAM'],
    ]);
    expect(family(decoded, 'target_info').metric).to.deep.equal([
      {
        label: [{ name: 'service_name', value: 'shop' }],
        gauge: { value: 1 },
      },
    ]);
    const requests = family(decoded, 'http_requests_total');
    expect(requests.help).to.equal('Requests');
    expect(requests.metric).to.deep.equal([
      {
        label: [SCOPE_LABEL, { name: 'route', value: '/a' }],
        counter: {
          value: 7,
          // The latest; its time to the nanosecond.
          exemplar: {
            label: [...IDS, { name: 'user', value: 'ann' }],
            value: 1,
            timestamp: { seconds: T + 5, nanos: 500_000_000 },
          },
        },
      },
    ]);
    expect(family(decoded, 'latency_window').metric![0].summary).to.deep.equal({
      sampleCount: 3,
      sampleSum: 6,
      quantile: [
        { quantile: 0.5, value: 2 },
        { quantile: 1, value: 3 },
      ],
    });
    const payload = family(decoded, 'payload').metric![0].histogram!;
    expect(payload.sampleCount).to.equal(6);
    expect(payload.sampleSum).to.equal(900);
    expect(
      payload.bucket!.map(b => [
        b.upperBound,
        b.cumulativeCount,
        b.exemplar?.value,
      ])
    ).to.deep.equal([
      [10, 1, undefined],
      [100, 3, 50],
      [Infinity, 6, 500],
    ]);
    // Classic only: nothing that would make Prometheus take it as native.
    expect(payload.schema).to.equal(undefined);
    expect(payload.zeroThreshold).to.equal(undefined);
    expect(payload.positiveSpan).to.equal(undefined);
  });

  it('makes an exponential histogram a native one, bucket i as i + 1, with classic buckets and exemplars beside', async () => {
    // The spec's worked example: values 0.3, 0.6, 1.5, 3, 3, 12, 1000 at scale 0.
    const values = [0.3, 0.6, 1.5, 3, 3, 12, 1000];
    const point = scaleZeroHistogram(values);
    expect(point.positive).to.deep.equal({
      offset: -2,
      bucketCounts: [1, 1, 1, 2, 0, 1, 0, 0, 0, 0, 0, 1],
    });
    const [, latency] = await families([
      exponentialHistogram(
        'latency',
        [{ value: point, exemplars: [exemplar(3, 1), exemplar(1000, 2)] }],
        { unit: 's' }
      ),
    ]);
    expect(latency.name).to.equal('latency_seconds');
    const native = latency.metric![0].histogram!;
    expect(native.schema ?? 0).to.equal(0);
    expect(native.zeroThreshold).to.equal(2 ** -128);
    expect(native.zeroCount ?? 0).to.equal(0);
    expect(native.sampleCount).to.equal(7);
    expect(
      nativeBuckets(native.positiveSpan, native.positiveDelta)
    ).to.deep.equal(
      new Map([
        [-1, 1],
        [0, 1],
        [1, 1],
        [2, 2],
        [4, 1],
        [10, 1],
      ])
    );
    expect(native.negativeSpan).to.equal(undefined);
    // Field 16: every exemplar, timestamped.
    expect(native.exemplars!.map(e => [e.value, e.timestamp])).to.deep.equal([
      [3, { seconds: T + 1, nanos: 500_000_000 }],
      [1000, { seconds: T + 2, nanos: 500_000_000 }],
    ]);
    // The classic buckets, for scrapers that take only those: powers of two, exact.
    const buckets = native.bucket!;
    expect(buckets).to.have.length(32);
    for (const b of buckets)
      expect(b.cumulativeCount ?? 0, `le ${b.upperBound}`).to.equal(
        values.filter(v => v <= b.upperBound).length
      );
    expect(buckets.find(b => b.upperBound === 4)!.exemplar!.value).to.equal(3);
    expect(buckets.find(b => b.upperBound === 1024)!.exemplar!.value).to.equal(
      1000
    );
  });

  it('downscales a scale above 8 to schema 8, merging buckets', async () => {
    const values = [1.1, 1.1004, 1.7, 3.3, 10.5, 100.25, 100.26];
    const [, decoded] = await families([
      exponentialHistogram('fine', [{ value: exponentialPoint(values, 10) }]),
    ]);
    const native = decoded.metric![0].histogram!;
    expect(native.schema).to.equal(8);
    expect(
      nativeBuckets(native.positiveSpan, native.positiveDelta)
    ).to.deep.equal(expectedNative(values, 8));
  });

  it('writes negative buckets and zero counts, and marks an empty histogram native', async () => {
    const [, decoded] = await families([
      exponentialHistogram('mixed', [
        {
          attributes: { k: 'a' },
          value: {
            count: 6,
            sum: -7,
            scale: 1,
            zeroCount: 2,
            // Negative bucket i holds values in [-b^(i+1), -b^i), b = √2.
            negative: { offset: 2, bucketCounts: [3, 0, 0, 1] },
            positive: { offset: 0, bucketCounts: [] },
            min: -4,
            max: 0,
          },
        },
        {
          attributes: { k: 'b' },
          value: {
            count: 0,
            sum: 0,
            scale: 0,
            zeroCount: 0,
            negative: { offset: 0, bucketCounts: [] },
            positive: { offset: 0, bucketCounts: [] },
          },
        },
      ]),
    ]);
    const [mixed, empty] = decoded.metric!.map(m => m.histogram!);
    expect(mixed.zeroCount).to.equal(2);
    expect(
      nativeBuckets(mixed.negativeSpan, mixed.negativeDelta)
    ).to.deep.equal(
      new Map([
        [3, 3],
        [6, 1],
      ])
    );
    // Prometheus 2.42 takes a histogram as native only with a span, a zero count or threshold.
    expect(empty.zeroThreshold).to.be.above(0);
    expect(empty.positiveSpan).to.deep.equal([{ offset: 0, length: 0 }]);
    expect(empty.sampleCount).to.equal(0);
  });

  it('leaves out a point whose scale Prometheus cannot take (below -4)', async () => {
    const coarse = { ...exponentialPoint([2, 3], 0), scale: -5 };
    const [, decoded] = await families([
      exponentialHistogram('coarse', [
        { attributes: { k: 'kept' }, value: exponentialPoint([2, 3], 0) },
        { attributes: { k: 'dropped' }, value: coarse },
      ]),
    ]);
    expect(
      decoded.metric!.map(m => m.label!.find(l => l.name === 'k')!.value)
    ).to.deep.equal(['kept']);
  });
});

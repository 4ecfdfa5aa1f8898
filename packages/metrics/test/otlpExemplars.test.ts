import { expect } from 'chai';
import { ValueType } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  JsonMetricsSerializer,
  ProtobufMetricsSerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
} from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { RetentionMeterProvider, SUMMARY_DATA_POINT_TYPE } from '../src';
import { OTLPSummaryMetricExporter } from '../src/export/otlp';
import { createExemplarSerializer } from '../src/export/otlp/exemplarSerializer';
import type { Exemplar } from '../src/export/prometheus';
import { OtlpReceiver } from './otlp';
import { Tracing } from './tracing';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const OTHER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const OTHER_SPAN = '00f067aa0ba902b7';
const START: [number, number] = [1_700_000_000, 0];
const END: [number, number] = [1_700_000_060, 0];

const exemplar = (
  value: number,
  nanos: number,
  extra: Partial<Exemplar> = {}
): Exemplar =>
  ({
    filteredAttributes: {},
    value,
    hrTime: [1_700_000_030, nanos],
    traceId: TRACE,
    spanId: SPAN,
    ...extra,
  }) as Exemplar;

/** A data point of any type (the test's metrics are written out whole). */
const point = (
  attributes: object,
  value: unknown,
  exemplars?: Exemplar[]
): never =>
  ({
    attributes,
    startTime: START,
    endTime: END,
    value,
    ...(exemplars && { exemplars }),
  }) as never;

/** Every kind of point that carries exemplars, among points and metrics that do not. */
const REQUEST: ResourceMetrics = {
  resource: resourceFromAttributes({ 'service.name': 'checkout' }),
  scopeMetrics: [
    {
      scope: { name: 'quiet' },
      metrics: [
        {
          descriptor: {
            name: 'plain',
            description: '',
            unit: '',
            valueType: ValueType.DOUBLE,
          },
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.GAUGE,
          dataPoints: [point({}, 1)],
        },
      ],
    },
    {
      scope: { name: 'shop' },
      metrics: [
        {
          descriptor: {
            name: 'orders',
            description: '',
            unit: '',
            valueType: ValueType.INT,
          },
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.SUM,
          isMonotonic: true,
          dataPoints: [
            point({ shop: 'a' }, 1),
            point({ shop: 'b' }, 7, [
              exemplar(3, 5, {
                filteredAttributes: {
                  user: 'ann',
                  retry: 2,
                  ratio: 0.5,
                  vip: true,
                  tags: ['x', 'y'],
                },
              }),
              exemplar(4, 6, { traceId: undefined, spanId: undefined }),
            ]),
            point({ shop: 'c' }, 2),
          ],
        },
        {
          descriptor: {
            name: 'latency.window',
            description: '',
            unit: 'ms',
            valueType: ValueType.DOUBLE,
          },
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: SUMMARY_DATA_POINT_TYPE,
          dataPoints: [
            point(
              {},
              { count: 1, sum: 2, quantileValues: [{ quantile: 1, value: 2 }] }
            ),
          ],
        } as unknown as MetricData,
        {
          descriptor: {
            name: 'level',
            description: '',
            unit: '',
            valueType: ValueType.DOUBLE,
          },
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.GAUGE,
          dataPoints: [point({}, -1.5, [exemplar(-1.5, 7)])],
        },
        {
          descriptor: {
            name: 'sizes',
            description: '',
            unit: 'By',
            valueType: ValueType.DOUBLE,
          },
          aggregationTemporality: AggregationTemporality.DELTA,
          dataPointType: DataPointType.HISTOGRAM,
          dataPoints: [
            point(
              {},
              {
                buckets: { boundaries: [10], counts: [1, 1] },
                count: 2,
                sum: 17.5,
              },
              [
                exemplar(2.5, 8),
                exemplar(15, 9, { traceId: OTHER_TRACE, spanId: OTHER_SPAN }),
              ]
            ),
          ],
        },
        {
          descriptor: {
            name: 'latency',
            description: '',
            unit: 'ms',
            valueType: ValueType.DOUBLE,
          },
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
          dataPoints: [
            point(
              {},
              {
                count: 1,
                sum: 12.5,
                scale: 0,
                zeroCount: 0,
                positive: { offset: 3, bucketCounts: [1] },
                negative: { offset: 0, bucketCounts: [] },
              },
              [exemplar(12.5, 999_999_999)]
            ),
          ],
        },
      ],
    },
  ],
};

/** An exemplar as both encodings arrive, normalized (ids hex, int64 as numbers). */
function received(e: Record<string, unknown>) {
  return {
    filteredAttributes: e.filteredAttributes ?? [],
    time: String(e.timeUnixNano),
    value: e.asInt !== undefined ? Number(e.asInt) : e.asDouble,
    asInt: e.asInt !== undefined,
    traceId: e.traceId,
    spanId: e.spanId,
  };
}

function exportOnce(
  exporter: OTLPSummaryMetricExporter,
  metrics: ResourceMetrics
): Promise<ExportResult> {
  return new Promise(resolve => exporter.export(metrics, resolve));
}

describe('exemplars over OTLP (issue 24)', () => {
  let receiver: OtlpReceiver;
  let url: string;
  beforeEach(async () => {
    receiver = new OtlpReceiver();
    url = await receiver.start();
  });
  afterEach(async () => receiver.stop());

  for (const protocol of ['http/json', 'http/protobuf'] as const) {
    it(`sends them on sum, gauge, histogram and exponential histogram points over ${protocol}, decoded independently`, async () => {
      const exporter = new OTLPSummaryMetricExporter({ url, protocol });
      expect((await exportOnce(exporter, REQUEST)).code).to.equal(
        ExportResultCode.SUCCESS
      );
      await exporter.shutdown();
      const intValue = (n: number) =>
        protocol === 'http/json' ? { intValue: n } : { intValue: String(n) };
      const [orders] = receiver.metrics('orders');
      const points = orders.sum.dataPoints;
      // Protobuf decodes an absent repeated field as [], JSON as absent.
      expect(
        points.map((p: { exemplars?: unknown[] }) => p.exemplars?.length ?? 0)
      ).to.deep.equal([0, 2, 0]);
      expect(points[1].exemplars.map(received)).to.deep.equal([
        {
          filteredAttributes: [
            { key: 'user', value: { stringValue: 'ann' } },
            { key: 'retry', value: intValue(2) },
            { key: 'ratio', value: { doubleValue: 0.5 } },
            { key: 'vip', value: { boolValue: true } },
            {
              key: 'tags',
              value: {
                arrayValue: {
                  values: [{ stringValue: 'x' }, { stringValue: 'y' }],
                },
              },
            },
          ],
          time: '1700000030000000005',
          value: 3,
          asInt: true,
          traceId: TRACE,
          spanId: SPAN,
        },
        {
          filteredAttributes: [],
          time: '1700000030000000006',
          value: 4,
          asInt: true,
          traceId: undefined,
          spanId: undefined,
        },
      ]);
      const [level] = receiver.metrics('level');
      expect(level.gauge.dataPoints[0].exemplars.map(received)).to.deep.equal([
        {
          filteredAttributes: [],
          time: '1700000030000000007',
          value: -1.5,
          asInt: false,
          traceId: TRACE,
          spanId: SPAN,
        },
      ]);
      const [sizes] = receiver.metrics('sizes');
      expect(
        sizes.histogram.dataPoints[0].exemplars.map(received)
      ).to.deep.equal([
        {
          filteredAttributes: [],
          time: '1700000030000000008',
          value: 2.5,
          asInt: false,
          traceId: TRACE,
          spanId: SPAN,
        },
        {
          filteredAttributes: [],
          time: '1700000030000000009',
          value: 15,
          asInt: false,
          traceId: OTHER_TRACE,
          spanId: OTHER_SPAN,
        },
      ]);
      const [latency] = receiver.metrics('latency');
      expect(
        latency.exponentialHistogram.dataPoints[0].exemplars.map(received)
      ).to.deep.equal([
        {
          filteredAttributes: [],
          time: '1700000030999999999',
          value: 12.5,
          asInt: false,
          traceId: TRACE,
          spanId: SPAN,
        },
      ]);
      // The rest arrives as the SDK sends it: the summary, the quiet scope.
      const [summary] = receiver.metrics('latency.window');
      expect(Number(summary.summary.dataPoints[0].count)).to.equal(1);
      const [plain] = receiver.metrics('plain');
      expect(plain.gauge.dataPoints[0].asDouble).to.equal(1);
      expect(plain.gauge.dataPoints[0].exemplars ?? []).to.deep.equal([]);
    });
  }

  it('leaves a request without exemplars as the SDK encodes it, byte for byte', () => {
    const without: ResourceMetrics = {
      ...REQUEST,
      scopeMetrics: REQUEST.scopeMetrics.map(scope => ({
        ...scope,
        metrics: scope.metrics
          .filter(m => (m.dataPointType as number) !== SUMMARY_DATA_POINT_TYPE)
          .map(m => ({
            ...m,
            dataPoints: m.dataPoints.map(p => ({ ...p, exemplars: undefined })),
          })) as MetricData[],
      })),
    };
    for (const [base, encoding] of [
      [JsonMetricsSerializer, 'json'],
      [ProtobufMetricsSerializer, 'protobuf'],
    ] as const)
      expect(
        Buffer.from(
          createExemplarSerializer(base, encoding).serializeRequest(without)!
        )
      ).to.deep.equal(Buffer.from(base.serializeRequest(without)!));
  });

  for (const protocol of ['http/json', 'http/protobuf'] as const) {
    it(`carries what the provider sampled in real spans over ${protocol}`, async () => {
      const tracing = new Tracing();
      const provider = new RetentionMeterProvider({
        exporter: new OTLPSummaryMetricExporter({ url, protocol }),
        collectionIntervalMillis: 3_600_000,
        exportIntervalMillis: 3_600_000,
        views: [
          {
            instrumentName: 'sizes',
            aggregation: {
              type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM,
              options: { boundaries: [10] },
            },
          },
        ],
      });
      try {
        const meter = provider.getMeter('shop');
        const counter = meter.createCounter('orders');
        const latency = meter.createHistogram('latency');
        const sizes = meter.createHistogram('sizes');
        const { span } = tracing.inSpan(tracing.sampled, () => {
          counter.add(2, { shop: 'b' });
          latency.record(12.5);
          sizes.record(3);
          sizes.record(30);
        });
        counter.add(1, { shop: 'b' });
        await provider.forceFlush();
        const ids = { traceId: span.traceId, spanId: span.spanId };
        const exemplarsOf = (data: {
          dataPoints: { exemplars: Record<string, unknown>[] }[];
        }) =>
          data.dataPoints[0].exemplars
            .map(received)
            .map(({ value, traceId, spanId }) => ({ value, traceId, spanId }));
        expect(exemplarsOf(receiver.metrics('orders')[0].sum)).to.deep.equal([
          { value: 2, ...ids },
        ]);
        expect(
          exemplarsOf(receiver.metrics('latency')[0].exponentialHistogram)
        ).to.deep.equal([{ value: 12.5, ...ids }]);
        expect(
          exemplarsOf(receiver.metrics('sizes')[0].histogram)
        ).to.deep.equal([
          { value: 3, ...ids },
          { value: 30, ...ids },
        ]);
      } finally {
        await provider.shutdown();
        tracing.dispose();
      }
    });
  }
});

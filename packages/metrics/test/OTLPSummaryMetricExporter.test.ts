import { expect } from 'chai';
import { ValueType } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
} from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { OTLPSummaryMetricExporter } from '../src/export/otlp';
import { RetentionMetricReader, SUMMARY_DATA_POINT_TYPE } from '../src';
import type { SummaryMetricData } from '../src';
import { OtlpReceiver } from './otlp';

const SUMMARY: SummaryMetricData = {
  descriptor: {
    name: 'latency.summary',
    description: 'quantiles',
    unit: 'ms',
    valueType: ValueType.DOUBLE,
  },
  aggregationTemporality: AggregationTemporality.CUMULATIVE,
  dataPointType: SUMMARY_DATA_POINT_TYPE,
  dataPoints: [
    {
      attributes: { route: '/a', code: 200 },
      startTime: [1_700_000_000, 5],
      endTime: [1_700_000_060, 7],
      value: {
        count: 12,
        sum: 345.5,
        quantileValues: [
          { quantile: 0, value: 1.5 },
          { quantile: 0.5, value: 20 },
          { quantile: 1, value: 99 },
        ],
      },
    },
  ],
};
const COUNTER: MetricData = {
  descriptor: {
    name: 'orders',
    description: 'orders',
    unit: '{order}',
    valueType: ValueType.INT,
  },
  aggregationTemporality: AggregationTemporality.CUMULATIVE,
  dataPointType: DataPointType.SUM,
  isMonotonic: true,
  dataPoints: [
    {
      attributes: { shop: 'x' },
      startTime: [1_700_000_000, 0],
      endTime: [1_700_000_060, 0],
      value: 42,
    },
  ],
};
const REQUEST: ResourceMetrics = {
  resource: resourceFromAttributes({ 'service.name': 'checkout' }),
  scopeMetrics: [
    {
      scope: { name: 'shop', version: '1.2.3' },
      metrics: [COUNTER, SUMMARY as unknown as MetricData],
    },
  ],
};

function exportOnce(
  exporter: OTLPSummaryMetricExporter,
  metrics: ResourceMetrics
): Promise<ExportResult> {
  return new Promise(resolve => exporter.export(metrics, resolve));
}

const attribute = (
  attributes: { key: string; value: Record<string, unknown> }[],
  key: string
) => attributes.find(a => a.key === key)?.value;

describe('OTLPSummaryMetricExporter', () => {
  let receiver: OtlpReceiver;
  let url: string;
  beforeEach(async () => {
    receiver = new OtlpReceiver();
    url = await receiver.start();
  });
  afterEach(async () => receiver.stop());

  for (const protocol of ['http/json', 'http/protobuf'] as const) {
    it(`sends Summary points next to the other metrics over ${protocol}`, async () => {
      const exporter = new OTLPSummaryMetricExporter({ url, protocol });
      expect((await exportOnce(exporter, REQUEST)).code).to.equal(
        ExportResultCode.SUCCESS
      );
      await exporter.shutdown();
      const [request] = receiver.requests;
      expect(request.path).to.equal('/v1/metrics');
      expect(request.headers['content-type']).to.equal(
        protocol === 'http/json' ? 'application/json' : 'application/x-protobuf'
      );
      // Both resource entries carry the same resource and scope.
      for (const rm of request.body.resourceMetrics) {
        expect(
          attribute(rm.resource!.attributes!, 'service.name')
        ).to.deep.equal({ stringValue: 'checkout' });
        expect(rm.scopeMetrics[0].scope!.name).to.equal('shop');
      }
      const [orders] = receiver.metrics('orders');
      expect(
        Number(
          orders.sum.dataPoints[0].asInt ?? orders.sum.dataPoints[0].as_int
        )
      ).to.equal(42);
      const [summary] = receiver.metrics('latency.summary');
      expect(summary.unit).to.equal('ms');
      expect(summary.gauge).to.equal(undefined);
      const point = summary.summary.dataPoints[0];
      expect(Number(point.count)).to.equal(12);
      expect(point.sum).to.equal(345.5);
      const quantiles = point.quantileValues ?? point.quantile_values;
      expect(quantiles).to.deep.equal([
        { quantile: 0, value: 1.5 },
        { quantile: 0.5, value: 20 },
        { quantile: 1, value: 99 },
      ]);
      expect(attribute(point.attributes, 'route')).to.deep.equal({
        stringValue: '/a',
      });
      expect(
        Number(
          attribute(point.attributes, 'code')!.intValue ??
            attribute(point.attributes, 'code')!.int_value
        )
      ).to.equal(200);
      expect(
        String(point.startTimeUnixNano ?? point.start_time_unix_nano)
      ).to.equal('1700000000000000005');
      expect(String(point.timeUnixNano ?? point.time_unix_nano)).to.equal(
        '1700000060000000007'
      );
    });
  }

  it('sends the reader’s summaries, read back from a real MeterProvider', async () => {
    const reader = new RetentionMetricReader({
      exporter: new OTLPSummaryMetricExporter({
        url,
        protocol: 'http/protobuf',
      }),
    });
    const provider = new MeterProvider({ readers: [reader] });
    const histogram = provider.getMeter('app').createHistogram('latency');
    for (let v = 1; v <= 100; v++) histogram.record(v);
    await provider.forceFlush();
    await provider.shutdown();
    const [summary] = receiver.metrics('latency.summary');
    expect(Number(summary.summary.dataPoints[0].count)).to.equal(100);
    const [received] = receiver.metrics('latency');
    expect(
      Number(
        (received.exponentialHistogram ?? received.exponential_histogram)
          .dataPoints[0].count
      )
    ).to.equal(100);
  });

  it('reports a failed export, for the reader to keep the data', async () => {
    receiver.statuses = [400];
    const exporter = new OTLPSummaryMetricExporter({ url });
    expect((await exportOnce(exporter, REQUEST)).code).to.equal(
      ExportResultCode.FAILED
    );
    await exporter.shutdown();
  });

  it('reads its protocol from the environment, and rejects an unknown one', () => {
    const saved = process.env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL;
    try {
      process.env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL = 'http/json';
      expect(new OTLPSummaryMetricExporter({ url }).protocol).to.equal(
        'http/json'
      );
      process.env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL = 'grpc';
      expect(() => new OTLPSummaryMetricExporter({ url })).to.throw(
        RangeError,
        /OTLPSummaryMetricExporter: option 'OTEL_EXPORTER_OTLP_\(METRICS_\)PROTOCOL' must be one of 'http\/json', 'http\/protobuf', got the string "grpc"/
      );
      expect(
        new OTLPSummaryMetricExporter({ url, protocol: 'http/protobuf' })
          .protocol
      ).to.equal('http/protobuf');
    } finally {
      if (saved === undefined)
        delete process.env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL;
      else process.env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL = saved;
    }
  });
});

import { expect } from 'chai';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { RetentionMetricReader } from '@datapunk/otel-metrics';

/**
 * The way most Node services set OpenTelemetry up: NodeSDK, with the
 * retention reader as its metric reader (`metricReaders`, 3.x).
 */
describe('NodeSDK with RetentionMetricReader as its reader', () => {
  const saved = { ...process.env };
  let sdk: NodeSDK | undefined;

  beforeEach(() => {
    // Nothing leaves the process: no trace or log exporters from the defaults.
    process.env.OTEL_TRACES_EXPORTER = 'none';
    process.env.OTEL_LOGS_EXPORTER = 'none';
    delete process.env.OTEL_METRICS_EXPORTER;
  });
  afterEach(async () => {
    await sdk?.shutdown();
    sdk = undefined;
    // NodeSDK leaves its globals registered; the next test registers its own.
    metrics.disable();
    trace.disable();
    context.disable();
    propagation.disable();
    process.env = saved;
  });

  it('retains what the global meter records, under the resource NodeSDK detects', async () => {
    const reader = new RetentionMetricReader({
      collectionIntervalMillis: 1000,
    });
    sdk = new NodeSDK({ serviceName: 'orders-api', metricReaders: [reader] });
    sdk.start();
    const meter = metrics.getMeter('app');
    meter.createCounter('orders').add(3, { shop: 'a' });
    meter.createCounter('orders').add(4, { shop: 'b' });
    meter.createHistogram('latency', { unit: 's' }).record(0.25);
    const orders = (await reader.collectAndQuery('orders'))!;
    expect(orders.sum).to.equal(7);
    expect(orders.series).to.equal(2);
    expect(reader.query('orders', { attributes: { shop: 'b' } })!.sum).to.equal(
      4
    );
    expect(reader.query('latency')!.count).to.equal(1);
    const { resourceMetrics } = await reader.collect();
    expect(resourceMetrics.resource.attributes['service.name']).to.equal(
      'orders-api'
    );
  });

  it('shuts down with NodeSDK: the final collection is kept', async () => {
    const reader = new RetentionMetricReader({
      collectionIntervalMillis: 60_000,
    });
    sdk = new NodeSDK({ serviceName: 'orders-api', metricReaders: [reader] });
    sdk.start();
    metrics.getMeter('app').createCounter('orders').add(5);
    await sdk.shutdown();
    sdk = undefined;
    expect(reader.query('orders')!.sum).to.equal(5);
  });
});

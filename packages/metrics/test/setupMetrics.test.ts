import { expect } from 'chai';
import { metrics as metricsApi } from '@opentelemetry/api';
import { setupMetrics } from '../src';
import { OtlpReceiver } from './otlp';

const VARIABLES = [
  'OTEL_METRICS_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
  'OTEL_SERVICE_NAME',
];

describe('setupMetrics', () => {
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    saved = Object.fromEntries(
      VARIABLES.map(name => [name, process.env[name]])
    );
    for (const name of VARIABLES) delete process.env[name];
  });
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('keeps data locally when no exporter is configured, and registers globally', async () => {
    const setup = setupMetrics({ serviceName: 'local' });
    expect(metricsApi.getMeterProvider()).to.equal(setup.meterProvider);
    setup.metrics.counter('orders').add(2);
    await setup.reader.forceFlush();
    expect(setup.reader.query('orders')).to.include({ sum: 2 });
    await setup.shutdown();
    expect(metricsApi.getMeterProvider()).not.to.equal(setup.meterProvider);
  });

  it('exports over OTLP as the OTEL_* variables say', async () => {
    const receiver = new OtlpReceiver();
    const url = await receiver.start();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = url.replace('/v1/metrics', '');
    process.env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL = 'http/json';
    process.env.OTEL_SERVICE_NAME = 'from-env';
    const setup = setupMetrics({
      global: false,
      resourceAttributes: { 'deployment.environment.name': 'test' },
    });
    setup.metrics.histogram('latency').record(12);
    await setup.shutdown();
    await receiver.stop();
    const [request] = receiver.requests;
    expect(request.headers['content-type']).to.equal('application/json');
    const resource = request.body.resourceMetrics[0].resource!.attributes!;
    expect(resource.find(a => a.key === 'service.name')!.value).to.deep.equal({
      stringValue: 'from-env',
    });
    expect(
      resource.find(a => a.key === 'deployment.environment.name')!.value
    ).to.deep.equal({ stringValue: 'test' });
    expect(
      receiver.metrics('latency.summary')[0].summary.dataPoints[0].count
    ).to.equal(1);
  });

  it('throws for an unknown exporter, naming the variable or option', () => {
    process.env.OTEL_METRICS_EXPORTER = 'zipkin';
    expect(() => setupMetrics({ global: false })).to.throw(
      RangeError,
      /setupMetrics: option 'OTEL_METRICS_EXPORTER' must be one of 'otlp', 'console', 'none', got the string "zipkin"/
    );
    expect(() =>
      setupMetrics({ global: false, exporter: 'kafka' as never })
    ).to.throw(RangeError, /option 'exporter' must be one of/);
  });
});

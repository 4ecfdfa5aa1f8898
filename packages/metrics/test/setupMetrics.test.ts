import { expect } from 'chai';
import { diag, DiagLogLevel, metrics as metricsApi } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
} from '@opentelemetry/sdk-metrics';
import * as sinon from 'sinon';
import { setupMetrics } from '../src';
import { OtlpReceiver } from './otlp';
import { fakeClock, points } from './util';

const VARIABLES = [
  'OTEL_METRICS_EXPORTER',
  'OTEL_METRIC_EXPORT_INTERVAL',
  'OTEL_METRIC_EXPORT_TIMEOUT',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
  'OTEL_EXPORTER_PROMETHEUS_PORT',
  'OTEL_SERVICE_NAME',
];

describe('setupMetrics', () => {
  let saved: Record<string, string | undefined>;
  let warned: sinon.SinonStub;
  beforeEach(() => {
    saved = Object.fromEntries(
      VARIABLES.map(name => [name, process.env[name]])
    );
    for (const name of VARIABLES) delete process.env[name];
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
  afterEach(() => {
    diag.disable();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('keeps data locally when no exporter is configured, and registers globally', async () => {
    const setup = setupMetrics({ serviceName: 'local' });
    expect(metricsApi.getMeterProvider()).to.equal(setup.meterProvider);
    setup.instruments.counter('orders').add(2);
    await setup.meterProvider.forceFlush();
    expect(setup.meterProvider.query('orders')).to.include({ sum: 2 });
    expect(setup.prometheus).to.equal(undefined);
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
    setup.instruments.histogram('latency').record(12);
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
      receiver.metrics('latency.window')[0].summary.dataPoints[0].count
    ).to.equal(1);
  });

  it('reads OTEL_METRICS_EXPORTER as the SDK does: any case, a list, unknown names skipped', async () => {
    const receiver = new OtlpReceiver();
    const url = await receiver.start();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = url.replace('/v1/metrics', '');
    process.env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL = 'http/json';
    process.env.OTEL_METRICS_EXPORTER = ' OTLP , console,zipkin ';
    const printed = sinon.stub(console, 'dir');
    try {
      const setup = setupMetrics({ global: false });
      setup.instruments.counter('orders').add(5);
      await setup.shutdown();
    } finally {
      printed.restore();
      await receiver.stop();
    }
    // Both exporters got the data…
    expect(receiver.metrics('orders')[0].sum.dataPoints[0].asDouble).to.equal(
      5
    );
    expect(JSON.stringify(printed.args)).to.include('orders');
    // …and the unknown one was reported, not thrown.
    expect(warned.calledWithMatch(/zipkin/)).to.equal(true);
  });

  it("exports nothing for 'none', and says so when others are named too", async () => {
    process.env.OTEL_METRICS_EXPORTER = 'none,console';
    const printed = sinon.stub(console, 'dir');
    try {
      const setup = setupMetrics({ global: false });
      setup.instruments.counter('orders').add(1);
      await setup.shutdown();
    } finally {
      printed.restore();
    }
    expect(printed.called).to.equal(false);
    expect(warned.calledWithMatch(/'none' given with others/)).to.equal(true);
  });

  it('serves a Prometheus scrape endpoint, summaries and histograms included', async () => {
    process.env.OTEL_METRICS_EXPORTER = 'prometheus';
    const setup = setupMetrics({ global: false, prometheus: { port: 0 } });
    try {
      setup.instruments.counter('orders').add(3, { shop: 'north' });
      for (const v of [10, 20, 30, 40])
        setup.instruments.histogram('latency').record(v);
      const url = await setup.prometheus!.url();
      const response = await fetch(url!);
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.match(/^text\/plain/);
      const text = await response.text();
      expect(text).to.match(/^orders_total\{.*shop="north".*\} 3$/m);
      expect(text).to.match(/^latency_count\{.*\} 4$/m);
      expect(text).to.match(/^latency_sum\{.*\} 100$/m);
      expect(text).to.match(/^latency_bucket\{.*le="\+Inf".*\} 4$/m);
      // The window's quantiles, as a summary: min and max exactly.
      expect(text).to.match(/^# TYPE latency_window summary$/m);
      expect(text).to.match(/^latency_window\{.*quantile="0.0".*\} 10$/m);
      expect(text).to.match(/^latency_window\{.*quantile="1.0".*\} 40$/m);
      expect((await fetch(url!.replace('/metrics', '/other'))).status).to.equal(
        404
      );
    } finally {
      await setup.shutdown();
    }
  });

  it('takes the export interval and timeout from the environment', async () => {
    process.env.OTEL_METRIC_EXPORT_INTERVAL = '2000';
    process.env.OTEL_METRIC_EXPORT_TIMEOUT = '1000';
    const clock = fakeClock();
    try {
      const exporter = new InMemoryMetricExporter(
        AggregationTemporality.CUMULATIVE
      );
      const setup = setupMetrics({ global: false, exporter });
      setup.instruments.counter('orders').add(1);
      await clock.tickAsync(1999);
      expect(exporter.getMetrics()).to.have.length(0);
      await clock.tickAsync(10);
      expect(points(exporter.getMetrics()[0], 'orders')[0].value).to.equal(1);
      await clock.tickAsync(2000);
      expect(exporter.getMetrics()).to.have.length(2);
      const shutdown = setup.shutdown();
      await clock.tickAsync(100);
      await shutdown;
    } finally {
      clock.restore();
    }
  });

  it('reports an environment variable it cannot use, and carries on', async () => {
    process.env.OTEL_METRIC_EXPORT_INTERVAL = 'soon';
    const setup = setupMetrics({ global: false });
    await setup.shutdown();
    expect(
      warned.calledWithMatch(/OTEL_METRIC_EXPORT_INTERVAL="soon" is not/)
    ).to.equal(true);
  });

  it('throws for an unknown exporter option, naming it', () => {
    expect(() =>
      setupMetrics({ global: false, exporter: 'kafka' as never })
    ).to.throw(
      RangeError,
      /setupMetrics: option 'exporter' must be one of 'otlp', 'console', 'prometheus', 'none' \(or a list of them\), got the string "kafka"/
    );
  });
});

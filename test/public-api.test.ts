import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import * as circuitBreaker from '@datapunk/otel-circuit-breaker';
import * as otelMetrics from '@datapunk/otel-metrics';
import type { AttributeLimits } from '@datapunk/otel-metrics';

/** An object's own public names: what its prototype shows a user. */
function publicMethods(type: { prototype: object }): string[] {
  return Object.getOwnPropertyNames(type.prototype)
    .filter(name => name !== 'constructor' && !name.startsWith('_'))
    .sort();
}

describe('public API: only what a user should hold', () => {
  it('gives a CircuitBreakerMetrics no attach(), and a recorder only recording methods', () => {
    const { CircuitBreakerMetrics } = circuitBreaker;
    expect(publicMethods(CircuitBreakerMetrics)).to.deep.equal([
      'acceptNewNormal',
      'breakers',
      'dispose',
      'getHealth',
      'getSnapshot',
      'register',
      'rejectedInputs',
      'setMeterProvider',
      'truncatedAttributes',
    ]);
    const collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
    });
    const recorder = collector.register('payments');
    // Compile-time half of the check: the build fails if these become public.
    // @ts-expect-error the analysis stays inside the collector
    void recorder.analysis;
    // @ts-expect-error outcomes are recorded through recordCall
    void recorder.recordOutcome;
    collector.dispose();
  });

  it('exports one metric-type enum and partial attribute limits', () => {
    expect(Object.keys(otelMetrics).sort()).to.deep.equal([
      'Instruments',
      'MetricType',
      'RetentionMeterProvider',
      'RetentionMetricReader',
      'SUMMARY_DATA_POINT_TYPE',
      'VERSION',
      'createAttributeLimitProcessor',
      'isSummaryMetricData',
      'setupMetrics',
    ]);
    const limits: AttributeLimits = { maxAttributesPerSeries: 1 };
    const processor = otelMetrics.createAttributeLimitProcessor(limits);
    // The unset limit keeps its default (1024 characters); the set one applies.
    const long = 'x'.repeat(1024);
    expect(
      processor.process({ a: long, b: 'dropped' }, undefined)
    ).to.deep.equal({ a: long });
  });

  it('keeps optional parts behind subpaths, loading their packages only when used', () => {
    // A child process where the optional peers cannot be found: the main
    // entries load; the subpaths that need them say what to install.
    const script = `
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (/^@opentelemetry\\/(exporter-metrics-otlp-http|instrumentation)(\\/|$)/.test(request))
          throw Object.assign(new Error('Cannot find module ' + request), { code: 'MODULE_NOT_FOUND' });
        return resolve.call(this, request, ...rest);
      };
      const out = {};
      for (const entry of ['@datapunk/otel-metrics', '@datapunk/otel-metrics/prometheus',
          '@datapunk/otel-circuit-breaker', '@datapunk/otel-circuit-breaker/dashboard',
          '@datapunk/otel-metrics/otlp', '@datapunk/otel-circuit-breaker/instrumentation']) {
        try { out[entry] = Object.keys(require(entry)).sort(); }
        catch (error) { out[entry] = 'error: ' + error.message.split('\\n')[0]; }
      }
      try {
        require('@datapunk/otel-metrics').setupMetrics({ exporter: 'otlp', global: false });
        out.setup = 'no error';
      } catch (error) { out.setup = 'error: ' + error.message; }
      console.log(JSON.stringify(out));
    `;
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', script], {
        cwd: __dirname,
        encoding: 'utf8',
      })
    );
    expect(out['@datapunk/otel-metrics']).to.include('setupMetrics');
    expect(out['@datapunk/otel-metrics/prometheus']).to.deep.equal([
      'DEFAULT_CLASSIC_BOUNDARIES',
      'DEFAULT_PROMETHEUS_HOST',
      'DEFAULT_PROMETHEUS_PORT',
      'PrometheusScrapeServer',
      'negotiateFormat',
      'serializeMetrics',
    ]);
    expect(out['@datapunk/otel-circuit-breaker']).to.include(
      'CircuitBreakerMetrics'
    );
    expect(out['@datapunk/otel-circuit-breaker/dashboard']).to.deep.equal([
      'createDashboardHandler',
    ]);
    expect(out['@datapunk/otel-metrics/otlp']).to.match(
      /^error: OTLP export needs the package @opentelemetry\/exporter-metrics-otlp-http .*npm install @opentelemetry\/exporter-metrics-otlp-http/
    );
    expect(out.setup).to.match(
      /^error: OTLP export needs the package @opentelemetry\/exporter-metrics-otlp-http/
    );
    expect(out['@datapunk/otel-circuit-breaker/instrumentation']).to.match(
      /^error: the auto-instrumentations need the package @opentelemetry\/instrumentation .*npm install @opentelemetry\/instrumentation/
    );
  });
});

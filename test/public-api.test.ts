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
      'MetricType',
      'Metrics',
      'OTLPSummaryMetricExporter',
      'PrometheusScrapeServer',
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
});

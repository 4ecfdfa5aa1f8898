import { context, propagation, trace } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOnSampler, TracerProvider } from '@opentelemetry/sdk-trace';

/**
 * The demo's traffic in real spans: the tracing SDK with every span
 * sampled, an AsyncLocalStorage context manager and W3C trace context on
 * the wire, so that a call's trace runs from the breaker in front of the
 * downstream into the downstream's own measurement. Metrics then carry
 * exemplars and the breakers example traces: from an anomaly to the calls
 * behind it. The spans are not exported; their ids are what the demo shows.
 */
export function startTracing(): {
  tracer: Tracer;
  shutdown(): Promise<void>;
} {
  const provider = new TracerProvider({ sampler: new AlwaysOnSampler() });
  context.setGlobalContextManager(
    new AsyncLocalStorageContextManager().enable()
  );
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    tracer: provider.getTracer('datapunk-demo'),
    shutdown: () => provider.shutdown(),
  };
}

import { context, trace } from '@opentelemetry/api';
import type { SpanContext, Tracer } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  StackContextManager,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

/**
 * The real tracing SDK for exemplar tests: a tracer whose spans are
 * sampled, one whose spans are not, and a context manager (registered
 * globally until dispose) so that `inSpan` makes a span the active one.
 */
export class Tracing {
  readonly sampled: Tracer = new TracerProvider({
    sampler: new AlwaysOnSampler(),
  }).getTracer('exemplar-tests');
  readonly unsampled: Tracer = new TracerProvider({
    sampler: new AlwaysOffSampler(),
  }).getTracer('exemplar-tests');

  constructor() {
    context.setGlobalContextManager(new StackContextManager().enable());
  }

  /** Runs `fn` with a new span of `tracer` active; returns its span context and what fn returned. */
  inSpan<T = void>(
    tracer: Tracer,
    fn: (span: SpanContext) => T
  ): { span: SpanContext; result: T } {
    const span = tracer.startSpan('operation');
    try {
      const result = context.with(trace.setSpan(context.active(), span), () =>
        fn(span.spanContext())
      );
      return { span: span.spanContext(), result };
    } finally {
      span.end();
    }
  }

  dispose(): void {
    context.disable();
  }
}

/** A seeded generator of numbers in [0, 1) (mulberry32), to stand in for Math.random. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

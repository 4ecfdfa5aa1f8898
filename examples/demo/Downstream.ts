import { createServer } from 'node:http';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Instruments } from '@datapunk/otel-metrics';
import type { FaultSchedule } from './FaultSchedule';

/** Typical latency of each route, in ms. */
const BASE_LATENCY_MILLIS: Record<string, number> = {
  payments: 20,
  inventory: 8,
};

/**
 * A small HTTP service on localhost: GET /payments and /inventory answer
 * after a lognormal delay, or fail with 500, as the fault schedule says at
 * that moment. It reports its own requests through the Instruments facade,
 * each in a server span of the caller's trace (W3C trace context).
 */
export class Downstream {
  private readonly _server: Server;
  private readonly _started = Date.now();

  private constructor(
    schedule: FaultSchedule,
    random: () => number,
    metrics: Instruments
  ) {
    const requests = metrics.counter('demo.downstream.requests', {
      description: 'Requests the downstream answered, by route and status',
      unit: '{request}',
    });
    const duration = metrics.timer('demo.downstream.duration', {
      description: 'Time the downstream took to answer',
    });
    const inFlight = metrics.gauge('demo.downstream.in_flight', {
      description: 'Requests being answered',
      unit: '{request}',
    });
    let active = 0;
    const answer = (request: IncomingMessage, response: ServerResponse) => {
      const route = (request.url ?? '/').slice(1);
      const base = BASE_LATENCY_MILLIS[route];
      if (base === undefined) {
        response.writeHead(404).end();
        return;
      }
      const seconds = (Date.now() - this._started) / 1000;
      const { latencyFactor, failureProbability } = schedule.behaviourAt(
        route,
        seconds
      );
      // Lognormal around the base (σ ≈ 0.25) by a sum of uniforms.
      const normal = random() + random() + random() - 1.5;
      const delay = base * latencyFactor * Math.exp(0.5 * normal);
      const fails = random() < failureProbability;
      const stop = duration.startTimer({ route });
      inFlight.set(++active);
      setTimeout(() => {
        const status = fails ? 500 : 200;
        response.writeHead(status).end(fails ? 'failed' : 'ok');
        stop();
        requests.add(1, { route, status });
        inFlight.set(--active);
      }, delay);
    };
    const tracer = trace.getTracer('datapunk-demo-downstream');
    this._server = createServer((request, response) => {
      // The caller's trace goes on in a server span of its own, in which
      // `answer` measures (its exemplars name that span).
      const caller = propagation.extract(ROOT_CONTEXT, request.headers);
      const span = tracer.startSpan(
        `GET ${request.url}`,
        { kind: SpanKind.SERVER },
        caller
      );
      response.once('close', () => span.end());
      context.with(trace.setSpan(caller, span), () =>
        answer(request, response)
      );
    });
  }

  /** Starts listening on a free loopback port. */
  static async start(
    schedule: FaultSchedule,
    random: () => number,
    metrics: Instruments
  ): Promise<Downstream> {
    const downstream = new Downstream(schedule, random, metrics);
    await new Promise<void>(listening =>
      downstream._server.listen(0, '127.0.0.1', listening)
    );
    return downstream;
  }

  get url(): string {
    const { port } = this._server.address() as { port: number };
    return `http://127.0.0.1:${port}`;
  }

  close(): Promise<void> {
    this._server.closeAllConnections();
    return new Promise(closed => this._server.close(() => closed()));
  }
}

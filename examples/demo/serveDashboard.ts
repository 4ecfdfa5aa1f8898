import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDashboardHandler } from '@datapunk/otel-circuit-breaker/dashboard';
import type { CircuitBreakerMetrics } from '@datapunk/otel-circuit-breaker';

/**
 * Serves the live breaker dashboard on localhost: on `port`, or on any free
 * port when that one is taken; example traces link to `traceUrl`. Returns
 * its URL and how to stop it.
 */
export async function serveDashboard(
  breakers: CircuitBreakerMetrics,
  port: number,
  traceUrl: string
): Promise<{ url: string; close(): Promise<void> }> {
  const handler = createDashboardHandler(breakers, {
    title: 'Datapunk demo: circuit breakers',
    traceUrl,
  });
  const server = createServer(handler);
  const listen = (on: number) =>
    new Promise<void>((listening, fail) => {
      server.once('error', fail);
      server.listen(on, '127.0.0.1', () => {
        server.off('error', fail);
        listening();
      });
    });
  try {
    await listen(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    await listen(0);
  }
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: async () => {
      handler.close();
      server.closeAllConnections();
      await new Promise(done => server.close(done));
    },
  };
}

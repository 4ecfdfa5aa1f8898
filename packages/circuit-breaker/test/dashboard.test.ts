import { expect } from 'chai';
import { createServer, get, request } from 'node:http';
import { runInNewContext } from 'node:vm';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { AlwaysOnSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { CallOutcome, CircuitBreakerMetrics } from '../src';
import { createDashboardHandler } from '../src/dashboard';
import type { DashboardHandler } from '../src/dashboard';
import type { Tile as DashboardTile } from '../src/dashboard/tiles';
import { eventually, sleep } from './util';

/** Server-Sent Events as they arrive: name and parsed data. */
class EventReader {
  readonly events: { name: string; data: unknown }[] = [];
  private _buffer = '';

  constructor(response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this._buffer += chunk;
      let end;
      while ((end = this._buffer.indexOf('\n\n')) >= 0) {
        const block = this._buffer.slice(0, end);
        this._buffer = this._buffer.slice(end + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (name && data) this.events.push({ name, data: JSON.parse(data) });
      }
    });
  }

  frames(): { t: number; breakers: DashboardTile[] }[] {
    return this.events
      .filter(e => e.name === 'frame')
      .map(e => e.data as { t: number; breakers: DashboardTile[] });
  }
}

describe('the dashboard handler', () => {
  let collector: CircuitBreakerMetrics;
  let handler: DashboardHandler;
  let server: Server;
  let base: string;

  const listen = async (options = {}) => {
    handler = createDashboardHandler(collector, options);
    server = createServer(handler);
    await new Promise<void>(done => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const fetchStatus = (path: string, method = 'GET') =>
    new Promise<number>((done, fail) => {
      const req = request(`${base}${path}`, { method }, response => {
        response.resume();
        done(response.statusCode!);
      });
      req.on('error', fail);
      req.end();
    });
  const connect = () =>
    new Promise<{ reader: EventReader; response: IncomingMessage }>(
      (done, fail) =>
        get(`${base}/events`, response =>
          done({ reader: new EventReader(response), response })
        ).on('error', fail)
    );

  beforeEach(() => {
    collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      bucketMillis: 100,
      windowMillis: 2000,
    });
  });
  afterEach(async () => {
    handler?.close();
    server?.closeAllConnections();
    await new Promise(done => (server ? server.close(done) : done(undefined)));
    collector.dispose();
  });

  it('checks its options, naming the field and the rule', () => {
    expect(() => createDashboardHandler({} as CircuitBreakerMetrics)).to.throw(
      TypeError,
      /createDashboardHandler: collector must be a CircuitBreakerMetrics/
    );
    expect(() =>
      createDashboardHandler(collector, { intervalMillis: 10 })
    ).to.throw(RangeError, /option 'intervalMillis' must be an integer ≥ 100/);
    expect(() =>
      createDashboardHandler(collector, { refresh: 1 } as never)
    ).to.throw(TypeError, /unknown option 'refresh'/);
  });

  it('checks traceUrl: a string with {traceId} that makes an absolute http(s) URL', () => {
    for (const [traceUrl, error, message] of [
      [5, TypeError, /option 'traceUrl' must be a non-empty string/],
      [
        'http://jaeger:16686/trace/',
        RangeError,
        /option 'traceUrl' must contain \{traceId\}/,
      ],
      [
        '/trace/{traceId}',
        RangeError,
        /option 'traceUrl' must be an absolute http or https URL/,
      ],
      [
        'javascript:alert("{traceId}")',
        RangeError,
        /option 'traceUrl' must be an absolute http or https URL/,
      ],
      [
        `http://x/${'a'.repeat(2048)}{traceId}`,
        RangeError,
        /option 'traceUrl' must be at most 2048 characters/,
      ],
    ] as const)
      expect(
        () =>
          createDashboardHandler(collector, { traceUrl: traceUrl as never }),
        String(traceUrl).slice(0, 40)
      ).to.throw(error, message);
    expect(() =>
      createDashboardHandler(collector, {
        traceUrl: 'https://tempo.example/trace/{traceId}',
      }).close()
    ).not.to.throw();
  });

  it('lists the example traces of an episode under its tile, as links from traceUrl', async () => {
    collector.dispose();
    collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      bucketMillis: 100,
      windowMillis: 2000,
      latencySloMillis: 50,
    });
    // Quotes and angle brackets stay as given: the page sets the link as an attribute, never as markup.
    const template =
      'https://tempo.example/trace/{traceId}?span={spanId}&note="<b>"';
    await listen({ intervalMillis: 200, traceUrl: template });
    const contextManager = new AsyncLocalStorageContextManager().enable();
    expect(context.setGlobalContextManager(contextManager)).to.equal(true);
    const spans = new Map<string, string>(); // span id → trace id, of the slow calls
    const tracer = new TracerProvider({
      sampler: new AlwaysOnSampler(),
    }).getTracer('dashboard-test');
    const slow = collector.register('slow');
    const load = setInterval(() => {
      for (let i = 0; i < 10; i++)
        tracer.startActiveSpan('call', span => {
          const { traceId, spanId } = span.spanContext();
          spans.set(spanId, traceId);
          slow.recordCall(CallOutcome.SUCCESS, 200 + i);
          span.end();
        });
    }, 20);
    try {
      const { reader } = await connect();
      const withExamples = () =>
        reader
          .frames()
          .at(-1)
          ?.breakers.find(b => b.name === 'slow')
          ?.anomalies.find(a => a.examples.length > 0);
      await eventually(
        () => withExamples() !== undefined,
        'an episode with examples',
        5000
      );
      const anomaly = withExamples()!;
      expect(anomaly.kind).to.equal('latency_slo');
      for (const { traceId, url } of anomaly.examples) {
        const spanId = [...spans].find(([, t]) => t === traceId)?.[0];
        expect(spanId, `trace ${traceId} is a slow call's`).not.to.equal(
          undefined
        );
        expect(url).to.equal(
          `https://tempo.example/trace/${traceId}?span=${spanId}&note="<b>"`
        );
      }
    } finally {
      clearInterval(load);
      context.disable();
    }
  });

  it('serves the page and the stream, read-only, and nothing else', async () => {
    await listen();
    expect(await fetchStatus('/')).to.equal(200);
    expect(await fetchStatus('/breakers/')).to.equal(200);
    expect(await fetchStatus('/secrets')).to.equal(404);
    expect(await fetchStatus('/', 'POST')).to.equal(405);
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-security-policy')).to.match(
      /default-src 'none'; script-src 'nonce-/
    );
    expect(await page.text()).to.include('<title>Circuit breakers</title>');
  });

  it('as a node:http listener, hands what it does not serve to onUnhandled', async () => {
    const unhandled: string[] = [];
    await listen({
      onUnhandled: (request: IncomingMessage, response: ServerResponse) => {
        unhandled.push(`${request.method} ${request.url}`);
        response.writeHead(418).end();
      },
    });
    expect(await fetchStatus('/', 'POST')).to.equal(418);
    expect(await fetchStatus('/secrets')).to.equal(418);
    expect(await fetchStatus('/events', 'DELETE')).to.equal(418);
    expect(await fetchStatus('/')).to.equal(200);
    expect(unhandled).to.deep.equal([
      'POST /',
      'GET /secrets',
      'DELETE /events',
    ]);
  });

  it('as middleware, serves only its page and stream below the mount point and calls next() for the rest', async () => {
    handler = createDashboardHandler(collector);
    const passed: string[] = [];
    server = createServer((req, res) =>
      handler(req, res, () => {
        passed.push(`${req.method} ${req.url}`);
        res.writeHead(204).end();
      })
    );
    await new Promise<void>(done => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await fetchStatus('/')).to.equal(200);
    expect(await fetchStatus('/', 'HEAD')).to.equal(200);
    for (const [path, method] of [
      ['/', 'POST'],
      ['/orders/', 'GET'],
      ['/webhooks/events', 'POST'],
      ['/webhooks/events', 'GET'],
    ])
      expect(await fetchStatus(path, method), `${method} ${path}`).to.equal(
        204
      );
    expect(passed).to.deep.equal([
      'POST /',
      'GET /orders/',
      'POST /webhooks/events',
      'GET /webhooks/events',
    ]);
  });

  it('answers HEAD of the stream without taking a client slot', async () => {
    await listen({ maxClients: 1 });
    for (let i = 0; i < 3; i++)
      expect(await fetchStatus('/events', 'HEAD')).to.equal(200);
    const { response } = await connect();
    expect(response.statusCode).to.equal(200);
    expect(await fetchStatus('/events', 'HEAD')).to.equal(503);
    response.destroy();
  });

  it("opens its stream relative to the page's own path, whatever that path looks like", async () => {
    await listen();
    const script = /<script nonce="[^"]+">([\s\S]*?)<\/script>/.exec(
      await (await fetch(`${base}/`)).text()
    )![1];
    /** The URL the page's EventSource gets, run with just enough of a browser. */
    const streamOf = (href: string) => {
      const opened: string[] = [];
      const element = { addEventListener() {}, append() {} };
      runInNewContext(script, {
        location: new URL(href),
        document: { getElementById: () => element },
        EventSource: class {
          constructor(url: string) {
            opened.push(new URL(url, href).href);
          }
          addEventListener() {}
        },
        Map,
        Set,
      });
      return opened;
    };
    expect(streamOf('http://host/')).to.deep.equal(['http://host/events']);
    expect(streamOf('http://host/breakers/')).to.deep.equal([
      'http://host/breakers/events',
    ]);
    expect(streamOf('http://host/breakers')).to.deep.equal([
      'http://host/breakers/events',
    ]);
    expect(streamOf('http://host//evil.example/')).to.deep.equal([
      'http://host//evil.example/events',
    ]);
    expect(streamOf('http://host/a//evil.example')).to.deep.equal([
      'http://host/a//evil.example/events',
    ]);
  });

  it('gives the true calls per second in the first frame, however soon before a bucket close the page connects (issue 20)', async () => {
    collector.dispose();
    collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      bucketMillis: 250,
      windowMillis: 5000,
    });
    await listen({ intervalMillis: 200 });
    const payments = collector.register('payments');
    // 10 calls every 10 ms: 1000 a second, 250 per bucket.
    const load = setInterval(() => {
      for (let i = 0; i < 10; i++) payments.recordCall(CallOutcome.SUCCESS, 5);
    }, 10);
    try {
      // Connect shortly before a bucket closes: the first frame then counts
      // whole buckets begun well before the page was there.
      await new Promise<void>(resolve => {
        const closes = collector.onBucketClose(() => {
          closes.dispose();
          setTimeout(resolve, 200);
        });
      });
      const { reader } = await connect();
      await eventually(() => reader.frames().length >= 1, 'a first frame');
      const first = reader
        .frames()[0]
        .breakers.find(b => b.name === 'payments')!.callsPerSecond;
      // Timers on a busy machine drift: within a fifth of the rate made.
      expect(first).to.be.within(800, 1200);
    } finally {
      clearInterval(load);
    }
  });

  it('streams a frame per interval with every breaker, its calls per second and state', async () => {
    await listen({ intervalMillis: 200 });
    const payments = collector.register('payments');
    const inventory = collector.register('inventory', {
      attributes: { region: 'eu' },
    });
    const made: number[] = []; // when each batch of 10 payments calls was made
    const load = setInterval(() => {
      for (let i = 0; i < 10; i++) payments.recordCall(CallOutcome.SUCCESS, 20);
      made.push(Date.now());
      inventory.recordCall(CallOutcome.FAILURE, 5);
    }, 20);
    try {
      const { reader } = await connect();
      await eventually(() => reader.frames().length >= 8, 'eight frames');
      expect(reader.events[0].name).to.equal('history');
      const last = reader.frames().at(-1)!.breakers;
      expect(last.map(b => b.name).sort()).to.deep.equal([
        'inventory',
        'payments',
      ]);
      const tile = last.find(b => b.name === 'payments')!;
      // The calls the frames count from the 3rd to the last, against those
      // made meanwhile: a call is counted when its bucket closes (≤ 100 ms
      // later), so the calls of one bucket at either end may fall outside.
      const frames = reader.frames();
      let counted = 0;
      for (let i = 3; i < frames.length; i++) {
        const rate = frames[i].breakers.find(
          b => b.name === 'payments'
        )!.callsPerSecond;
        counted += (rate * (frames[i].t - frames[i - 1].t)) / 1000;
      }
      const from = frames[2].t;
      const to = frames.at(-1)!.t;
      const between = (a: number, b: number) =>
        10 * made.filter(t => t > a && t <= b).length;
      const actual = between(from, to);
      expect(counted).to.be.within(
        actual - between(to - 150, to) - 1e-6,
        actual + between(from - 150, from) + 1e-6
      );
      expect(actual).to.be.greaterThan(0);
      expect(tile.failureRate).to.equal(0);
      expect(tile.p50).to.be.closeTo(20, 20 * 0.011);
      expect(last.find(b => b.name === 'inventory')!.attributes).to.deep.equal({
        region: 'eu',
      });
      payments.dispose();
      await eventually(
        () =>
          !reader
            .frames()
            .at(-1)!
            .breakers.some(b => b.name === 'payments'),
        'payments leaves the frames'
      );
    } finally {
      clearInterval(load);
    }
  });

  it('sends each frame right after the collector closes its buckets', async () => {
    collector.dispose();
    collector = new CircuitBreakerMetrics({
      meterProvider: new MeterProvider(),
      bucketMillis: 250,
      windowMillis: 5000,
    });
    await listen({ intervalMillis: 500 });
    const closes: number[] = [];
    collector.onBucketClose(e => closes.push(e.timestampMillis));
    const payments = collector.register('payments');
    const load = setInterval(
      () => payments.recordCall(CallOutcome.SUCCESS, 10),
      10
    );
    try {
      const { reader, response } = await connect();
      await eventually(() => reader.frames().length >= 6, 'six frames', 6000);
      response.destroy();
      const frames = reader.frames();
      frames.forEach((frame, i) => {
        const before = closes.filter(c => c <= frame.t);
        // Within half a bucket of a close (a timer of its own would land
        // anywhere in the bucket), and every second close: 500 ms / 250 ms.
        expect(frame.t - before.at(-1)!, `frame ${i}`).to.be.below(125);
        if (i > 0) {
          const since = before.filter(c => c > frames[i - 1].t);
          expect(since.length, `closes before frame ${i}`).to.equal(2);
        }
      });
    } finally {
      clearInterval(load);
    }
  });

  it('still sends frames when no bucket closes: the last breaker leaves', async () => {
    await listen({ intervalMillis: 100 });
    const payments = collector.register('payments');
    const { reader, response } = await connect();
    const shows = () =>
      reader
        .frames()
        .at(-1)
        ?.breakers.some(b => b.name === 'payments');
    await eventually(() => shows() === true, 'payments on the page');
    payments.dispose(); // no breakers: the collector stops closing buckets
    await eventually(() => shows() === false, 'payments off the page');
    response.destroy();
  });

  it('sends a new client the sparkline history first', async () => {
    await listen({ intervalMillis: 100 });
    const payments = collector.register('payments');
    payments.recordCall(CallOutcome.SUCCESS, 10);
    const first = await connect();
    await eventually(() => first.reader.frames().length >= 5, 'five frames');
    const second = await connect();
    await eventually(() => second.reader.events.length >= 1, 'the history');
    const history = second.reader.events[0].data as {
      points: Record<string, [number, number, number | null][]>;
    };
    expect(second.reader.events[0].name).to.equal('history');
    expect(
      history.points[JSON.stringify(['payments', {}])].length
    ).to.be.at.least(5);
    first.response.destroy();
    second.response.destroy();
  });

  it('refuses clients past maxClients, and drops one that does not read', async () => {
    await listen({
      intervalMillis: 100,
      maxClients: 2,
      maxBufferedBytes: 1024,
    });
    // Big frames: 400 breakers.
    const recorders = Array.from({ length: 400 }, (_, i) =>
      collector.register(`service-${i}`)
    );
    recorders[0].recordCall(CallOutcome.SUCCESS, 1);
    const stalled = await connect();
    // Reads nothing: the sockets' buffers fill, then the server's.
    stalled.response.pause();
    const reading = await connect();
    expect(await fetchStatus('/events')).to.equal(503);
    // Once the stalled one is dropped, a place is free again. (The stalled
    // client cannot see the drop itself: a paused socket reads no EOF.)
    const deadline = Date.now() + 20_000;
    let status = 503;
    while (status === 503 && Date.now() < deadline) {
      await sleep(250);
      status = await fetchStatus('/events');
    }
    expect(status, 'a new client served').to.equal(200);
    // The reading one kept getting frames all along.
    const before = reading.reader.frames().length;
    await sleep(500);
    expect(reading.reader.frames().length).to.be.above(before);
    reading.response.destroy();
    stalled.response.destroy();
  }).timeout(30_000);

  it('ends every stream on close()', async () => {
    await listen({ intervalMillis: 100 });
    collector.register('payments');
    const { response } = await connect();
    const ended = new Promise(done => response.on('end', done));
    handler.close();
    await ended;
    expect(await fetchStatus('/events')).to.equal(503);
  });
});

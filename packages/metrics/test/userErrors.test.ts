import { expect } from 'chai';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { DataPoint, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { Instruments, RetentionMetricReader, setupMetrics } from '../src';

/** Every point of `name`, from any scope. */
function pointsOf(rm: ResourceMetrics, name: string): DataPoint<unknown>[] {
  return rm.scopeMetrics
    .flatMap(s => s.metrics)
    .filter(m => m.descriptor.name === name)
    .flatMap(m => m.dataPoints as DataPoint<unknown>[]);
}

function sumOf(rm: ResourceMetrics, name: string, reason?: string): number {
  return pointsOf(rm, name)
    .filter(p => reason === undefined || p.attributes.reason === reason)
    .reduce((total, p) => total + (p.value as number), 0);
}

for (const path of ['through the SDK', 'directly into the reader'] as const)
  describe(`Instruments attributes, recording ${path} (issues 20 and 21)`, () => {
    let reader: RetentionMetricReader;
    let provider: MeterProvider;
    let instruments: Instruments;

    beforeEach(() => {
      reader = new RetentionMetricReader({
        limits: { maxAttributeValueLength: 8 },
      });
      provider = new MeterProvider({ readers: [reader] });
      instruments = new Instruments(
        provider.getMeter('app'),
        path === 'through the SDK' ? {} : { reader, meterName: 'app' }
      );
    });
    afterEach(() => provider.shutdown());

    const collect = async () => (await reader.collect()).resourceMetrics;
    /**
     * Attributes dropped (measurements kept): through the SDK the facade
     * counts them; recording directly, the store does (per measurement, by
     * the part that was cut).
     */
    const droppedOf = (rm: ResourceMetrics, reason: 'invalid' | 'too_long') =>
      path === 'through the SDK'
        ? sumOf(rm, 'datapunk.metrics.attributes.dropped', reason)
        : pointsOf(rm, 'datapunk.metrics.attributes.trimmed')
            .filter(
              p =>
                p.attributes.part ===
                (reason === 'invalid' ? 'invalid' : 'values')
            )
            .reduce((total, p) => total + (p.value as number), 0);

    it('drops attribute values the OpenTelemetry API does not allow, keeps the measurement and counts them', async () => {
      const counter = instruments.counter('orders');
      counter.add(1, { shop: 'a', nested: { x: 1 } } as never);
      counter.add(2, { shop: 'a', id: 42n } as never);
      counter.add(4, { shop: 'a', list: [1, 'mixed'] } as never);
      const rm = await collect();
      const orders = pointsOf(rm, 'orders');
      expect(orders.map(p => [p.attributes, p.value])).to.deep.equal([
        [{ shop: 'a' }, 7],
      ]);
      expect(droppedOf(rm, 'invalid')).to.equal(3);
      expect(instruments.rejected).to.equal(0);
    });

    it('never throws for getters, Proxies or toJSON that throw, and the timed call settles as it would', async () => {
      const throwing = Object.defineProperty({ shop: 'a' }, 'bad', {
        enumerable: true,
        get() {
          throw new Error('getter');
        },
      });
      const toJson = {
        shop: 'a',
        obj: {
          toJSON() {
            throw new Error('toJSON');
          },
        },
      };
      const proxy = new Proxy(
        { shop: 'a' },
        {
          ownKeys() {
            throw new Error('ownKeys');
          },
        }
      );
      const counter = instruments.counter('orders');
      expect(() => counter.add(1, throwing as never)).not.to.throw();
      expect(() => counter.add(1, toJson as never)).not.to.throw();
      expect(() => counter.add(1, proxy as never)).not.to.throw();
      const timer = instruments.timer('work');
      const result = await timer.time(async () => 'done', { id: 7n } as never);
      expect(result).to.equal('done');
      const rm = await collect();
      // The Proxy's keys cannot be listed: that measurement is rejected.
      expect(sumOf(rm, 'orders')).to.equal(2);
      expect(instruments.rejected).to.equal(1);
      expect(
        pointsOf(rm, 'work').map(p => (p.value as { count: number }).count)
      ).to.deep.equal([1]);
    });

    it('cuts attribute values to the reader’s maxAttributeValueLength before keeping them', async () => {
      instruments.counter('orders').add(1, { user: 'x'.repeat(10_000) });
      const rm = await collect();
      expect(pointsOf(rm, 'orders')[0].attributes).to.deep.equal({
        user: 'x'.repeat(8),
      });
      expect(droppedOf(rm, 'too_long')).to.equal(1);
    });

    it('refuses bind() with anything but an attributes object, naming the instrument', () => {
      const counter = instruments.counter('orders');
      expect(() => counter.bind('x' as never)).to.throw(
        TypeError,
        /Instruments: counter 'orders'\.bind\(\): option 'attributes' must be an object of attributes, got the string "x"/
      );
      expect(() => counter.bind({ a: { b: 1 } } as never)).to.throw(
        TypeError,
        /option 'attributes\.a' must be a string, number or boolean, or an array of one of those types, got an object/
      );
      expect(() => counter.bind({ shop: 'a' })).not.to.throw();
    });

    it('says what timer.time() needs when it gets no function', () => {
      expect(() => instruments.timer('work').time(42 as never)).to.throw(
        TypeError,
        /Instruments: timer 'work'\.time\(\) needs a function to time, got 42/
      );
    });
  });

describe('setupMetrics options (issue 20, finding 5)', () => {
  const cases: [unknown, RegExp][] = [
    [null, /setupMetrics: options must be an object, got null/],
    ['x', /setupMetrics: options must be an object, got the string "x"/],
    [
      { serviceName: 42 },
      /setupMetrics: option 'serviceName' must be a non-empty string, got 42/,
    ],
    [
      { prometheus: { port: 'x' } },
      /setupMetrics: option 'prometheus\.port' must be a number, got the string "x"/,
    ],
    [
      { prometheus: { port: 70000 } },
      /setupMetrics: option 'prometheus\.port' must be an integer ≥ 0 and ≤ 65535, got 70000/,
    ],
    [
      { resourceAttributes: { a: { b: 1 } } },
      /setupMetrics: option 'resourceAttributes\.a' must be a string, number or boolean/,
    ],
    [{ global: 'yes' }, /setupMetrics: option 'global' must be a boolean/],
    [{ colour: 'red' }, /setupMetrics: unknown option 'colour'/],
  ];
  for (const [options, message] of cases)
    it(`throws a clear error for ${JSON.stringify(options)}`, () => {
      expect(() => setupMetrics(options as never)).to.throw(message);
    });
});

import { expect } from 'chai';
import {
  ExportResultCode,
  loggingErrorHandler,
  setGlobalErrorHandler,
} from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  MeterProvider,
} from '@opentelemetry/sdk-metrics';
import type {
  PushMetricExporter,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type * as sinon from 'sinon';
import { RetentionMetricReader } from '../src';
import { fakeClock, harness, points, selfCount, until } from './util';
import type { Harness } from './util';

/** An exporter whose answers the test scripts: ok, fail, hang or throw. */
class ScriptedExporter implements PushMetricExporter {
  readonly received: ResourceMetrics[] = [];
  answers: ('ok' | 'fail' | 'hang' | 'throw')[] = [];
  shutdowns = 0;
  private readonly _temporality: AggregationTemporality;
  constructor(temporality: AggregationTemporality) {
    this._temporality = temporality;
  }
  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    const answer = this.answers.shift() ?? 'ok';
    if (answer === 'throw') throw new Error('exporter bug');
    this.received.push(metrics);
    if (answer === 'ok') done({ code: ExportResultCode.SUCCESS });
    if (answer === 'fail')
      done({
        code: ExportResultCode.FAILED,
        error: new Error('collector down'),
      });
  }
  selectAggregationTemporality(): AggregationTemporality {
    return this._temporality;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {
    this.shutdowns++;
  }
}

const totalOf = (metrics: ResourceMetrics, name: string) =>
  points(metrics, name).reduce((total, p) => total + p.value, 0);

describe('RetentionMetricReader lifecycle', () => {
  let h: Harness | undefined;
  let clock: sinon.SinonFakeTimers | undefined;
  afterEach(async () => {
    await h?.close();
    clock?.restore();
    h = clock = undefined;
  });

  it('exports at once on forceFlush', async () => {
    h = harness({
      collectionIntervalMillis: 10_000,
      exportIntervalMillis: 60_000,
    });
    h.meter.createCounter('orders').add(3);
    await h.settle(h.reader.forceFlush());
    expect(h.exports()).to.have.length(1);
    expect(points(h.latest(), 'orders')[0].value).to.equal(3);
  });

  it('exports a last time on shutdown, once however often it is called', async () => {
    h = harness({
      collectionIntervalMillis: 10_000,
      exportIntervalMillis: 60_000,
    });
    h.meter.createCounter('orders').add(3);
    const first = h.reader.shutdown();
    const second = h.reader.shutdown();
    await h.settle(Promise.all([first, second]));
    await h.settle(h.reader.shutdown()); // the SDK's own guard: logs, does nothing
    expect(h.exports()).to.have.length(1);
    expect(points(h.latest(), 'orders')[0].value).to.equal(3);
  });

  /**
   * Six export cycles, 10 s apart, against a collector answering as
   * scripted; cycle c adds c to `orders` and the c values 10c … 10c + c − 1
   * to `latency`. Returns the exports that succeeded, oldest first.
   */
  async function throughOutage(
    temporality: AggregationTemporality,
    answers: ScriptedExporter['answers']
  ): Promise<{ sent: ResourceMetrics[]; exporter: ScriptedExporter }> {
    clock = fakeClock();
    const exporter = new ScriptedExporter(temporality);
    exporter.answers = answers;
    const reader = new RetentionMetricReader({
      exporter,
      collectionIntervalMillis: 10_000,
      exportIntervalMillis: 10_000,
      exportTimeoutMillis: 5000,
    });
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('test');
    const orders = meter.createCounter('orders');
    const latency = meter.createHistogram('latency');
    const sent: ResourceMetrics[] = [];
    const cycles = answers.length; // the exporter takes answers off the list
    for (let cycle = 1; cycle <= cycles; cycle++) {
      orders.add(cycle);
      for (let v = 0; v < cycle; v++) latency.record(cycle * 10 + v);
      const answer = exporter.answers[0];
      const before = exporter.received.length;
      await clock.tickAsync(10_000);
      // The export's slices yield to the real event loop, which fake time
      // does not wait for.
      await until(() => exporter.received.length > before, `export ${cycle}`);
      if (answer === 'hang') await clock.tickAsync(5000);
      if (answer === 'ok') sent.push(exporter.received[before]);
    }
    await provider.shutdown();
    return { sent, exporter };
  }

  // What cycles c … d recorded, by the formulas of throughOutage.
  const ordersOf = (cycles: number[]) => cycles.reduce((a, c) => a + c, 0);
  const latencyOf = (cycles: number[]) => ({
    count: ordersOf(cycles),
    sum: cycles.reduce((a, c) => a + 10 * c * c + (c * (c - 1)) / 2, 0),
  });
  const histogram = (metrics: ResourceMetrics) =>
    points<{ count: number; sum: number }>(metrics, 'latency')[0].value;

  for (const temporality of [
    AggregationTemporality.DELTA,
    AggregationTemporality.CUMULATIVE,
  ]) {
    const name =
      temporality === AggregationTemporality.DELTA ? 'delta' : 'cumulative';
    it(`loses nothing while the collector is down: errors and a timeout (${name})`, async () => {
      const { sent, exporter } = await throughOutage(temporality, [
        'ok',
        'fail',
        'fail',
        'hang',
        'ok',
        'ok',
      ]);
      const all = [1, 2, 3, 4, 5, 6];
      const last = sent[sent.length - 1];
      const exported =
        temporality === AggregationTemporality.DELTA
          ? sent.reduce((sum, metrics) => sum + totalOf(metrics, 'orders'), 0)
          : totalOf(last, 'orders');
      expect(exported).to.equal(ordersOf(all));
      expect(
        selfCount(last, 'datapunk.metrics.export.failures', 'error')
      ).to.equal(2);
      expect(
        selfCount(last, 'datapunk.metrics.export.failures', 'timeout')
      ).to.equal(1);
      expect(exporter.shutdowns).to.equal(1);
    });

    it(`exports what was recorded during an outage exactly once when the collector is back (${name})`, async () => {
      const { sent } = await throughOutage(temporality, [
        'ok',
        'fail',
        'fail',
        'fail',
        'ok',
        'ok',
      ]);
      const [first, afterOutage, last] = sent;
      if (temporality === AggregationTemporality.DELTA) {
        // Each export carries what no successful export carried before…
        expect(totalOf(first, 'orders')).to.equal(ordersOf([1]));
        expect(totalOf(afterOutage, 'orders')).to.equal(ordersOf([2, 3, 4, 5]));
        expect(totalOf(last, 'orders')).to.equal(ordersOf([6]));
        expect(histogram(afterOutage)).to.deep.include(latencyOf([2, 3, 4, 5]));
        // …and its points start where the last successful ones ended.
        expect(points(afterOutage, 'orders')[0].startTime).to.deep.equal(
          points(first, 'orders')[0].endTime
        );
      } else {
        expect(totalOf(afterOutage, 'orders')).to.equal(
          ordersOf([1, 2, 3, 4, 5])
        );
        expect(histogram(last)).to.deep.include(latencyOf([1, 2, 3, 4, 5, 6]));
      }
    });
  }

  it("reports a failed export to the SDK's global error handler, as the SDK does", async () => {
    const errors: Error[] = [];
    setGlobalErrorHandler(error => errors.push(error as Error));
    try {
      clock = fakeClock();
      const exporter = new ScriptedExporter(AggregationTemporality.CUMULATIVE);
      exporter.answers = ['fail'];
      const reader = new RetentionMetricReader({
        exporter,
        collectionIntervalMillis: 10_000,
        exportIntervalMillis: 10_000,
      });
      const provider = new MeterProvider({ readers: [reader] });
      provider.getMeter('test').createCounter('orders').add(1);
      await clock.tickAsync(10_000);
      await provider.shutdown();
    } finally {
      setGlobalErrorHandler(loggingErrorHandler());
    }
    expect(errors.map(e => e.message)).to.deep.equal([
      'RetentionMetricReader: export failed, data kept for the next one: Error: collector down',
    ]);
  });

  it('survives an exporter that throws', async () => {
    clock = fakeClock();
    const exporter = new ScriptedExporter(AggregationTemporality.DELTA);
    exporter.answers = ['throw', 'ok'];
    const reader = new RetentionMetricReader({
      exporter,
      collectionIntervalMillis: 10_000,
      exportIntervalMillis: 10_000,
    });
    const provider = new MeterProvider({ readers: [reader] });
    provider.getMeter('test').createCounter('orders').add(4);
    await clock.tickAsync(20_000);
    expect(totalOf(exporter.received[0], 'orders')).to.equal(4);
    await provider.shutdown();
  });

  it('leaves no timer behind after shutdown', async () => {
    h = harness({
      collectionIntervalMillis: 1000,
      exportIntervalMillis: 1000,
      persistence: { path: '/nonexistent-dir/x.json', intervalMillis: 1000 },
    });
    await h.tick(5000);
    await h.settle(h.provider.shutdown());
    expect(h.clock.countTimers()).to.equal(0);
  });
});

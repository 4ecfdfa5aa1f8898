import { expect } from 'chai';
import { ExportResultCode } from '@opentelemetry/core';
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
import { fakeClock, harness, points, selfCount } from './util';
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

const sumOf = (metrics: ResourceMetrics, name: string) =>
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

  for (const temporality of [
    AggregationTemporality.DELTA,
    AggregationTemporality.CUMULATIVE,
  ]) {
    const name =
      temporality === AggregationTemporality.DELTA ? 'delta' : 'cumulative';
    it(`loses nothing while the collector is down (${name})`, async () => {
      clock = fakeClock();
      const exporter = new ScriptedExporter(temporality);
      exporter.answers = ['ok', 'fail', 'fail', 'hang', 'ok', 'ok'];
      const reader = new RetentionMetricReader({
        exporter,
        collectionIntervalMillis: 10_000,
        exportIntervalMillis: 10_000,
        exportTimeoutMillis: 5000,
      });
      const provider = new MeterProvider({ readers: [reader] });
      const counter = provider.getMeter('test').createCounter('orders');
      const succeeded: ResourceMetrics[] = [];
      let total = 0;
      for (let cycle = 1; cycle <= 6; cycle++) {
        counter.add(cycle);
        total += cycle;
        const before = exporter.received.length;
        const answer = exporter.answers[0];
        await clock.tickAsync(10_000);
        if (answer === 'hang') await clock.tickAsync(5000);
        if (answer === 'ok') succeeded.push(exporter.received[before]);
      }
      const exported =
        temporality === AggregationTemporality.DELTA
          ? succeeded.reduce(
              (sum, metrics) => sum + sumOf(metrics, 'orders'),
              0
            )
          : sumOf(succeeded[succeeded.length - 1], 'orders');
      expect(exported).to.equal(total);
      const last = succeeded[succeeded.length - 1];
      expect(
        selfCount(last, 'datapunk.metrics.export.failures', 'error')
      ).to.equal(2);
      expect(
        selfCount(last, 'datapunk.metrics.export.failures', 'timeout')
      ).to.equal(1);
      await provider.shutdown();
      expect(exporter.shutdowns).to.equal(1);
    });
  }

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
    expect(sumOf(exporter.received[0], 'orders')).to.equal(4);
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

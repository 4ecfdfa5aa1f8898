import { expect } from 'chai';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Counter } from '@opentelemetry/api';
import { RetentionMeterProvider, RetentionMetricReader } from '../src';

const SERIES = 50_000;

/** Runs `work`, counting event-loop turns and querying on each, until it settles. */
async function whileRunning(
  work: Promise<unknown>,
  onTurn: () => void
): Promise<number> {
  let done = false;
  void work.finally(() => (done = true));
  let turns = 0;
  while (!done) {
    await new Promise(resolve => setImmediate(resolve));
    onTurn();
    turns++;
  }
  await work;
  return turns;
}

describe('RetentionMetricReader work in slices', function () {
  this.timeout(60_000);
  let provider: MeterProvider;
  let reader: RetentionMetricReader;
  let hits: Counter;
  const attributes = Array.from({ length: SERIES }, (_, i) => ({
    client: `c${i}`,
  }));

  beforeEach(() => {
    reader = new RetentionMetricReader({
      // Timers never fire here: the test drives every collection.
      collectionIntervalMillis: 3_600_000,
      limits: { maxSeriesPerMetric: SERIES + 1 },
    });
    provider = new MeterProvider({ readers: [reader] });
    hits = provider.getMeter('test').createCounter('hits');
  });
  afterEach(() => provider.shutdown());

  it(`lets the host run between slices while it folds ${SERIES} series in`, async () => {
    for (const set of attributes) hits.add(1, set);
    const turns = await whileRunning(reader.forceFlush(), () => {});
    // One block would give the host a turn or two (between the awaits).
    expect(turns).to.be.at.least(10);
    expect(reader.query('hits')!.sum).to.equal(SERIES);
  });

  it('answers a query during a collection with all of it or none, never a part', async () => {
    for (const set of attributes) hits.add(1, set);
    await reader.forceFlush();
    for (const set of attributes) hits.add(2, set);
    const seen = new Set<number>();
    await whileRunning(reader.forceFlush(), () =>
      seen.add(reader.query('hits')!.sum!)
    );
    for (const sum of seen) expect([SERIES, 3 * SERIES]).to.include(sum);
    expect(reader.query('hits')!.sum).to.equal(3 * SERIES);
  });
});

describe('RetentionMeterProvider collections, in slices', () => {
  it(`let the host run while ${SERIES} histogram series are collected and built`, async () => {
    const provider = new RetentionMeterProvider({
      limits: { maxSeriesPerMetric: SERIES + 1 },
    });
    const histogram = provider.getMeter('test').createHistogram('latency');
    for (let i = 0; i < SERIES; i++)
      histogram.record(i + 1, { client: `c${i}` });
    let collected = 0;
    const turns = await whileRunning(
      provider.collect().then(result => {
        collected = result.resourceMetrics.scopeMetrics
          .flatMap(s => s.metrics)
          .find(m => m.descriptor.name === 'latency')!.dataPoints.length;
      }),
      () => {}
    );
    expect(collected).to.equal(SERIES);
    // In one block the host would get no turn at all.
    expect(turns).to.be.at.least(3);
    await provider.shutdown();
  });
});

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { InMemoryMetricExporter } from '@opentelemetry/sdk-metrics';
import { RetentionMeterProvider } from '../../src';
import { fakeClock, points, T0 } from '../util';

const RETAINED = 'datapunk.metrics.retained.bytes';

/** datapunk.metrics.retained.bytes of the provider's latest collection, by part. */
async function retained(
  provider: RetentionMeterProvider
): Promise<Record<string, number>> {
  const parts: Record<string, number> = {};
  for (const point of points(
    (await provider.collect()).resourceMetrics,
    RETAINED
  ))
    parts[String(point.attributes.part)] = point.value as number;
  return parts;
}

function total(parts: Record<string, number>): number {
  return Object.values(parts).reduce((sum, bytes) => sum + bytes, 0);
}

/** A seeded value in (0, 1000): latencies spread over many buckets. */
function value(i: number): number {
  return 1 + ((i * 2654435761) % 999_983) / 1000;
}

describe('the store’s held bytes (datapunk.metrics.retained.bytes)', () => {
  const SERIES = 20_000;
  const COLLECT = 10_000;
  let clock: ReturnType<typeof fakeClock>;
  let provider: RetentionMeterProvider | undefined;

  beforeEach(() => {
    clock = fakeClock();
  });

  afterEach(async () => {
    try {
      await provider?.shutdown();
    } finally {
      provider = undefined;
      clock.restore();
    }
  });

  /** Records `values` values into every series `from`..`from + SERIES`, then collects. */
  async function load(
    histogram: ReturnType<
      ReturnType<RetentionMeterProvider['getMeter']>['createHistogram']
    >,
    from: number,
    values: number,
    step: number
  ): Promise<void> {
    for (let i = from; i < from + SERIES; i++)
      for (let v = 0; v < values; v++)
        histogram.record(value(i * values + v), { route: `/r/${i}` });
    clock.setSystemTime(T0 + step * COLLECT);
    await provider!.forceFlush();
  }

  it('is what arrayBuffers grows by while the provider holds its series, each byte once', function () {
    this.timeout(120_000);
    // In a process of its own: here, other tests' buffers come and go.
    const { parts, grown } = JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--expose-gc',
          '-r',
          'ts-node/register/transpile-only',
          join(__dirname, 'fixtures', 'heldBytes.ts'),
          String(SERIES),
        ],
        { cwd: join(__dirname, '..', '..'), encoding: 'utf8' }
      )
    ) as { parts: Record<string, number>; grown: number };
    // Every part is there, and history and live state hold data.
    expect(Object.keys(parts).sort()).to.deep.equal(
      [
        'columns',
        'current',
        'exemplars',
        'free',
        'history',
        'keys',
        'live',
      ].sort()
    );
    expect(parts.history).to.be.above(SERIES * 6 * 20);
    expect(parts.live).to.be.above(SERIES * 40);
    // Besides the store's arenas and columns, arrayBuffers holds a few
    // buffers per stream and per process (scratch sketches and writers, the
    // self-metrics' streams): tens of kilobytes, whatever the series. The
    // store here holds over 20 MB (about 1 KB per series), so counting a
    // part twice or leaving one out is far outside 1% + 256 KB.
    expect(Math.abs(total(parts) - grown)).to.be.at.most(
      grown * 0.01 + 256 * 1024
    );
  });

  it('gives a histogram’s current delta back at each collection', async function () {
    this.timeout(60_000);
    provider = new RetentionMeterProvider({
      collectionIntervalMillis: COLLECT,
      limits: { maxSeriesPerMetric: 2 * SERIES },
    });
    const histogram = provider.getMeter('m').createHistogram('latency');
    await load(histogram, 0, 8, 1);
    // Drained by the collection: no bucket block is left for the delta.
    expect((await retained(provider)).current).to.equal(0);
  });

  it('reuses what expired series gave back for the series that replace them', async function () {
    this.timeout(60_000);
    const TTL = 3 * COLLECT;
    provider = new RetentionMeterProvider({
      collectionIntervalMillis: COLLECT,
      limits: { maxSeriesPerMetric: 2 * SERIES },
      exportIntervalMillis: COLLECT,
      seriesTtlMillis: TTL,
      // No history: an expired series leaves nothing behind.
      tiers: [],
    });
    const histogram = provider.getMeter('m').createHistogram('latency');
    await load(histogram, 0, 8, 1);
    await load(histogram, 0, 8, 2);
    const first = await retained(provider);
    // The first series expire; as many new ones take their place, again and again.
    let step = 2;
    for (let round = 1; round <= 3; round++) {
      step += TTL / COLLECT + 1;
      clock.setSystemTime(T0 + step * COLLECT);
      await provider.forceFlush();
      await load(histogram, round * SERIES, 8, ++step);
      await load(histogram, round * SERIES, 8, ++step);
    }
    const last = await retained(provider);
    const active = points(
      (await provider.collect()).resourceMetrics,
      'datapunk.metrics.series.active'
    )[0].value as number;
    expect(active).to.equal(SERIES);
    // Without reuse, each round would add the first round's bytes again.
    expect(last.live + last.free).to.be.at.most(
      (first.live + first.free) * 1.15
    );
  });
});

describe('the store’s columns by temporality', () => {
  const SERIES = 20_000;

  it('keeps the in-flight track and the delta columns only for streams that export deltas', async function () {
    this.timeout(60_000);
    const columnsOf = async (temporality: AggregationTemporality) => {
      const provider = new RetentionMeterProvider({
        exportIntervalMillis: 3_600_000,
        limits: { maxSeriesPerMetric: 2 * SERIES },
        exporter: new InMemoryMetricExporter(temporality),
      });
      try {
        const histogram = provider.getMeter('m').createHistogram('latency');
        for (let i = 0; i < SERIES; i++)
          histogram.record(value(i), { route: `/r/${i}` });
        return (await retained(provider)).columns;
      } finally {
        await provider.shutdown();
      }
    };
    const delta = await columnsOf(AggregationTemporality.DELTA);
    const cumulative = await columnsOf(AggregationTemporality.CUMULATIVE);
    // Per series, a delta histogram keeps what a cumulative one does not:
    // the pending and in-flight starts and the summary's count and sum
    // (float64 each), and a slot on its in-flight track (whose columns are
    // shared by every track and grow by doubling, so they may not differ).
    // Columns hold at least one element per series: a lower bound.
    expect(delta - cumulative).to.be.at.least(SERIES * 4 * 8);
  });

  it('makes a stream’s exemplar columns with its first exemplar, not with its series', async function () {
    this.timeout(60_000);
    const provider = new RetentionMeterProvider({
      exportIntervalMillis: 3_600_000,
      limits: { maxSeriesPerMetric: 2 * SERIES },
      exemplarFilter: 'trace_based',
    });
    try {
      const histogram = provider.getMeter('m').createHistogram('latency');
      // Without a sampled span in the context, no measurement is offered.
      for (let i = 0; i < SERIES; i++)
        histogram.record(value(i), { route: `/r/${i}` }, ROOT_CONTEXT);
      expect((await retained(provider)).exemplars).to.equal(0);
      const sampled = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: TraceFlags.SAMPLED,
      });
      histogram.record(1, { route: '/r/0' }, sampled);
      // A block column and an in-flight time per series (int32, float64), and slots.
      expect((await retained(provider)).exemplars).to.be.at.least(
        SERIES * (4 + 8)
      );
    } finally {
      await provider.shutdown();
    }
  });
});

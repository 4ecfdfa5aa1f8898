import { expect } from 'chai';
import { runFixture } from './util';

interface AttackResult {
  sets: number;
  heapBefore: number;
  heapAfter: number;
  /** heapUsed (no GC) after each chunk of 50,000 sets, at its highest. */
  peakHeap: number;
  maxSeries: number;
  maxMetrics: number;
  counterTotal: number;
  counterOverflow: number;
  counterKept: number;
  histogramCount: number;
  histogramOverflowCount: number;
  retainedBytes: Record<string, number>;
  diagLines: number;
}

/** The reader's defaults (packages/metrics/README.md). */
const MAX_SERIES_PER_METRIC = 2000;
const MAX_METRICS = 1000;
const MB = 2 ** 20;

describe('reliability: cardinality attack', function () {
  this.timeout(300_000);

  it('1,000,000 distinct attribute sets cost at most twice the memory of the limit’s worth; totals exact', async () => {
    // The bound comes from the limits: the reader holds at most
    // maxSeriesPerMetric series per metric and the SDK, per cycle, at most
    // twice that many sets; so the attack may cost at most twice what exactly
    // maxSeriesPerMetric honest sets cost (measured here: ~1.3×).
    const honest = await runFixture<AttackResult>('cardinality-attack', [
      String(MAX_SERIES_PER_METRIC),
    ]);
    const attack = await runFixture<AttackResult>('cardinality-attack');
    const grew = (r: AttackResult) => r.heapAfter - r.heapBefore;
    const bound = 2 * grew(honest);
    console.log(
      `      heap after GC: +${(grew(attack) / MB).toFixed(1)} MB for 1M sets, bound ${(bound / MB).toFixed(1)} MB ` +
        `(2 × +${(grew(honest) / MB).toFixed(1)} MB for ${MAX_SERIES_PER_METRIC} sets); peak ${(attack.peakHeap / MB).toFixed(1)} MB before GC`
    );
    expect(grew(attack), 'heap growth').to.be.at.most(bound);

    expect(attack.maxSeries, 'series of any exported metric').to.be.at.most(
      MAX_SERIES_PER_METRIC
    );
    expect(attack.maxMetrics).to.be.at.most(MAX_METRICS);
    expect(attack.counterTotal, 'counter total').to.equal(attack.sets);
    expect(attack.counterKept, 'kept series, one each').to.equal(
      MAX_SERIES_PER_METRIC - 1
    );
    expect(attack.counterOverflow, 'folded into the overflow series').to.equal(
      attack.sets - attack.counterKept
    );
    expect(attack.histogramCount, 'histogram count').to.equal(attack.sets);
    expect(attack.histogramOverflowCount).to.equal(
      attack.sets - (MAX_SERIES_PER_METRIC - 1)
    );
    expect(attack.diagLines, 'diag lines').to.be.within(1, 5);
  });
});

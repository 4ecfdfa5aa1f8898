import { expect } from 'chai';
import { runFixture } from './util';

interface SoakResult {
  seconds: number;
  records: number;
  exports: number;
  samples: { seconds: number; heap: number; resources: string[] }[];
  shutdownMillis: number;
  maxStallMillis: number;
  meanDelayMillis: number;
  snapshotMetrics: number;
  resourcesAtExit: string[];
}

const MB = 2 ** 20;
/**
 * Far above what the reader does here (a few ms of sliced work at a time,
 * tens of ms on a loaded CI machine): only a block of work proportional to
 * the data, the bug this guards against, gets near it.
 */
const ABSURD_STALL_MILLIS = 1000;
/** Samples compared at each end: a leak raises the floor of the heap. */
const ENDS = 5;
const atStart = (values: number[]) => Math.min(...values.slice(0, ENDS));
const atEnd = (values: number[]) => Math.min(...values.slice(-ENDS));

describe('reliability: soak', function () {
  this.timeout(300_000);

  it('two minutes of churn: heap flat after warm-up, no handles pile up, prompt clean shutdown', async () => {
    const soak = await runFixture<SoakResult>('soak', ['120']);
    // The lowest of the first and of the last samples: a sample can still
    // catch an export in flight.
    const heaps = soak.samples.map(s => s.heap);
    const first = atStart(heaps);
    const last = atEnd(heaps);
    console.log(
      `      ${(soak.records / soak.seconds / 1000).toFixed(0)}k records/s, ${soak.exports} exports; ` +
        `heap after GC ${(first / MB).toFixed(1)} → ${(last / MB).toFixed(1)} MB ` +
        `(${(100 * (last / first - 1)).toFixed(1)}%, lowest of ${ENDS} samples at each end; all: ${heaps.map(h => (h / MB).toFixed(1)).join(' ')}); ` +
        `shutdown ${soak.shutdownMillis.toFixed(0)} ms; ` +
        `event loop: longest stall ${soak.maxStallMillis.toFixed(0)} ms, mean delay ${soak.meanDelayMillis.toFixed(2)} ms`
    );
    expect(soak.maxStallMillis, 'longest event-loop stall').to.be.below(
      ABSURD_STALL_MILLIS
    );
    expect(heaps.length, 'samples after warm-up').to.be.at.least(3 * ENDS);
    expect(last, 'heap growth after warm-up').to.be.at.most(1.1 * first);

    // Likewise the floor of timers and of all resources: an export or a
    // write in flight adds one for a moment; piling up raises the floor.
    const timers = soak.samples.map(
      s => s.resources.filter(r => r === 'Timeout').length
    );
    const resources = soak.samples.map(s => s.resources.length);
    expect(atEnd(timers), 'timers').to.be.at.most(atStart(timers));
    expect(atEnd(resources), 'resources').to.be.at.most(atStart(resources));
    for (const sample of soak.samples)
      expect(
        sample.resources.length,
        `resources at ${sample.seconds} s: ${sample.resources.join(', ')}`
      ).to.be.at.most(atStart(resources) + 2);
    expect(soak.shutdownMillis, 'shutdown()').to.be.below(1000);
    expect(soak.resourcesAtExit, 'left open after shutdown').to.deep.equal([]);
    expect(soak.snapshotMetrics, 'persisted metrics').to.be.at.least(3);
  });
});

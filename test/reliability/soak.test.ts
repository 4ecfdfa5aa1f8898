import { expect } from 'chai';
import { runFixture } from './util';

interface SoakResult {
  seconds: number;
  records: number;
  exports: number;
  samples: { seconds: number; heap: number; resources: string[] }[];
  shutdownMillis: number;
  snapshotMetrics: number;
  resourcesAtExit: string[];
}

const MB = 2 ** 20;
const mean = (values: number[]) =>
  values.reduce((a, b) => a + b, 0) / values.length;

describe('reliability: soak', function () {
  this.timeout(300_000);

  it('two minutes of churn: heap flat after warm-up, no handles pile up, prompt clean shutdown', async () => {
    const soak = await runFixture<SoakResult>('soak', ['120']);
    const heaps = soak.samples.map(s => s.heap);
    const first = mean(heaps.slice(0, 3));
    const last = mean(heaps.slice(-3));
    console.log(
      `      ${(soak.records / soak.seconds / 1000).toFixed(0)}k records/s, ${soak.exports} exports; ` +
        `heap after GC ${(first / MB).toFixed(1)} → ${(last / MB).toFixed(1)} MB ` +
        `(${(100 * (last / first - 1)).toFixed(1)}%, ${heaps.length} samples from ${soak.samples[0].seconds} s); ` +
        `shutdown ${soak.shutdownMillis.toFixed(0)} ms`
    );
    expect(heaps.length, 'samples after warm-up').to.be.at.least(10);
    expect(last, 'heap growth after warm-up').to.be.at.most(1.1 * first);

    const timers = (s: SoakResult['samples'][number]) =>
      s.resources.filter(r => r === 'Timeout').length;
    for (const sample of soak.samples) {
      expect(timers(sample), `timers at ${sample.seconds} s`).to.equal(
        timers(soak.samples[0])
      );
      expect(
        sample.resources.length,
        `resources at ${sample.seconds} s: ${sample.resources.join(', ')}`
      ).to.be.at.most(soak.samples[0].resources.length + 2);
    }
    expect(soak.shutdownMillis, 'shutdown()').to.be.below(1000);
    expect(soak.resourcesAtExit, 'left open after shutdown').to.deep.equal([]);
    expect(soak.snapshotMetrics, 'persisted metrics').to.be.at.least(3);
  });
});

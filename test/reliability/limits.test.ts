import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { CallOutcome } from '@datapunk/otel-circuit-breaker';
import { CircuitBreakerMetrics } from '@datapunk/otel-circuit-breaker';
import { RetentionMetricReader, setupMetrics } from '@datapunk/otel-metrics';
import { countDiag } from './util';

describe('reliability: limits on untrusted sizes', () => {
  let diagLog: ReturnType<typeof countDiag>;
  beforeEach(() => (diagLog = countDiag()));
  afterEach(() => diagLog.stop());

  it('attributes: at most 32 keys of at most 256 characters, values cut at 1024, 16 KiB per series (the defaults)', async () => {
    const reader = new RetentionMetricReader();
    const provider = new MeterProvider({ readers: [reader] });
    const attributes: Record<string, string> = {};
    for (let k = 0; k < 100; k++)
      attributes[`${String(k).padStart(3, '0')}${'k'.repeat(1000)}`] =
        'v'.repeat(100_000);
    provider.getMeter('limits').createCounter('wide').add(1, attributes);
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap(s => s.metrics)
      .find(m => m.descriptor.name === 'wide')!;
    const kept = metric.dataPoints[0].attributes;
    const keys = Object.keys(kept);
    // Each kept entry: a 256-character key and a 1024-character value, at
    // 2 bytes a character, within 16 KiB and 32 keys.
    const perEntry = 2 * 256 + 2 * 1024;
    expect(keys).to.have.length(Math.min(32, Math.floor(16384 / perEntry)));
    for (const key of keys) expect(key.length).to.be.at.most(256);
    for (const value of Object.values(kept))
      expect((value as string).length).to.equal(1024);
    await provider.shutdown();
  });

  it('state file: one over maxFileBytes is not loaded, it is moved aside', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'datapunk-size-'));
    const path = join(directory, 'state.json');
    writeFileSync(path, JSON.stringify({ padding: 'x'.repeat(4096) }));
    const reader = new RetentionMetricReader({
      persistence: { path, maxFileBytes: 4096 },
    });
    await reader.whenRestored();
    expect(
      readdirSync(directory).filter(f => f.includes('.corrupt-'))
    ).to.have.length(1);
    expect(diagLog.lines.join('\n')).to.match(
      /more than maxFileBytes \(4096\)/
    );
    await reader.shutdown();
    rmSync(directory, { recursive: true });
  });

  it('diag: 100,000 bad measurements and 100,000 bad breaker reports write a handful of lines', async () => {
    const setup = setupMetrics({ global: false, exporter: 'none' });
    const counter = setup.instruments.counter('c');
    const breakers = new CircuitBreakerMetrics({
      meterProvider: setup.meterProvider,
    });
    const breaker = breakers.register('b');
    for (let i = 0; i < 100_000; i++) {
      counter.add(i % 2 ? NaN : -1);
      breaker.recordCall('bogus' as CallOutcome, -5);
    }
    expect(setup.instruments.rejected).to.equal(100_000);
    expect(breakers.rejectedInputs).to.equal(100_000);
    expect(diagLog.lines.length, diagLog.lines.join('\n')).to.be.within(1, 6);
    breakers.dispose();
    await setup.shutdown();
  });
});

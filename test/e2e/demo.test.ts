import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Collector } from './Collector';
import { latest, plain, received } from './otlp';
import { requireCollector } from './requireCollector';

const ROOT = resolve(__dirname, '../..');
const DURATION_SECONDS = 40;

describe('the main job (examples/demo) against a real Collector', function () {
  this.timeout(120_000);
  let collector: Collector | undefined;
  let output: string;
  let statePath: string;

  before(async function () {
    requireCollector(this);
    collector = await Collector.start();
    statePath = join(mkdtempSync(join(tmpdir(), 'datapunk-demo-')), 's.json');
    const run = await promisify(execFile)(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        'examples/demo/main.ts',
        '--duration',
        String(DURATION_SECONDS),
        '--seed',
        '7',
        '--state',
        statePath,
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          TS_NODE_PROJECT: 'examples/tsconfig.json',
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        },
      }
    );
    output = run.stdout;
    await collector.stop();
  });
  after(async () => {
    await collector?.dispose();
    if (statePath) rmSync(dirname(statePath), { recursive: true });
  });

  it('prints the live view every second and a report that finds every injected fault', () => {
    const blocks = output.match(/^ +\d+ s {3}injected now:/gm) ?? [];
    expect(blocks).to.have.length(DURATION_SECONDS);
    const report = output
      .split('Injected faults and what detected them:')[1]
      .split('\n\n')[0]
      .trim()
      .split('\n');
    const faults = report.filter(line => /^\d/.test(line.trim()));
    expect(faults, output).to.have.length(3);
    for (const line of faults) expect(line, output).to.match(/found after/);
    // Once flagged, a fault reads non-healthy until it ends.
    const held = report
      .map(line => line.match(/(\d+)% from the first flag on/))
      .filter(match => match !== null)
      .map(match => Number(match[1]));
    expect(held, output).to.have.length(3);
    for (const share of held) expect(share, output).to.be.at.least(90);
  });

  it('exports the breakers and the downstream metrics to the Collector', () => {
    const requests = collector!.requests();
    const service = 'datapunk-demo';
    const state = latest(requests, service, 'circuit_breaker.state');
    const names = new Set(
      state.metric.gauge!.dataPoints.map(
        p => plain(p.attributes)['circuit_breaker.name']
      )
    );
    expect([...names].sort()).to.deep.equal(['inventory', 'payments']);
    const trips = received(requests, service, 'circuit_breaker.transitions');
    expect(trips.length).to.be.above(0);
    expect(
      latest(requests, service, 'demo.downstream.duration').metric
        .exponentialHistogram
    ).to.not.equal(undefined);
  });

  it('persists its state to the file it names', () => {
    expect(output).to.include(`State persisted to ${statePath}`);
    const snapshot = JSON.parse(readFileSync(statePath, 'utf8')) as object;
    expect(JSON.stringify(snapshot)).to.include('circuit_breaker.calls');
  });
});

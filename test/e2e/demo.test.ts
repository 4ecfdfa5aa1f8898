import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Collector } from './Collector';
import { latest, plain, received } from './otlp';
import { Prometheus } from './Prometheus';
import { requirePrometheus } from '../requirements';

const ROOT = resolve(__dirname, '../..');
const DURATION_SECONDS = 40;
const RULES = join(ROOT, 'packages/circuit-breaker/prometheus/rules.yml');
const DASHBOARDS = [
  'packages/circuit-breaker/grafana/circuit-breakers.json',
  'packages/metrics/grafana/retention-reader.json',
];

/** Grafana's variables as a query of "everything" resolves them. */
const VARIABLES: Record<string, string> = {
  $__rate_interval: '1m',
  $__interval: '15s',
  $__range: '5m',
  $job: '.*',
  $breaker: '.*',
  $instance: '.*',
};

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { name: string; query?: { query?: string } }[] };
  annotations?: {
    list: { name: string; datasource?: { type?: string }; expr?: string }[];
  };
}

/**
 * Every PromQL expression of a dashboard, as [where, expression]: panel
 * targets, Prometheus annotations, and variable queries
 * (`label_values(m, l)` as `count by (l) (m)`).
 */
function dashboardQueries(file: string): [string, string][] {
  const dashboard = JSON.parse(
    readFileSync(join(ROOT, file), 'utf8')
  ) as Dashboard;
  const resolve = (expression: string) =>
    expression.replace(/\$\w+/g, name => VARIABLES[name] ?? name);
  const queries: [string, string][] = dashboard.panels.flatMap(panel =>
    panel.targets.map((t): [string, string] => [panel.title, resolve(t.expr)])
  );
  // An annotation's `> 0` keeps only moments with events: its series are checked.
  for (const annotation of dashboard.annotations?.list ?? [])
    if (annotation.datasource?.type === 'prometheus' && annotation.expr)
      queries.push([
        `annotation ${annotation.name}`,
        resolve(annotation.expr.replace(/ > 0$/, '')),
      ]);
  for (const variable of dashboard.templating.list) {
    const match = variable.query?.query?.match(/^label_values\((.*), (\w+)\)$/);
    if (match)
      queries.push([
        `variable ${variable.name}`,
        `count by (${match[2]}) (${resolve(match[1])})`,
      ]);
  }
  return queries;
}

describe('the main job (examples/demo) against a real Collector', function () {
  this.timeout(120_000);
  let prometheus: Prometheus | undefined;
  let collector: Collector | undefined;
  let output: string;
  let statePath: string;

  before(async function () {
    requirePrometheus(this);
    prometheus = await Prometheus.start({ rules: [RULES] });
    collector = await Collector.start({
      remoteWriteUrl: prometheus.remoteWriteUrl,
    });
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
    await prometheus?.dispose();
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
    // One JSON document per line: a header, then each metric and its series.
    const lines = readFileSync(statePath, 'utf8')
      .split('\n')
      .filter(line => line !== '')
      .map(line => JSON.parse(line) as { format?: string; metric?: object });
    expect(lines[0].format).to.equal('datapunk.metrics.snapshot');
    expect(JSON.stringify(lines.filter(l => l.metric))).to.include(
      'circuit_breaker.calls'
    );
  });

  it('answers every query of the Grafana dashboards with data, in Prometheus', async () => {
    const empty: string[] = [];
    let count = 0;
    for (const file of DASHBOARDS) {
      for (const [where, expression] of dashboardQueries(file)) {
        count++;
        const samples = await prometheus!.query(expression);
        if (samples.length === 0) empty.push(`${file} ${where}: ${expression}`);
      }
    }
    expect(count).to.be.at.least(25);
    expect(empty, 'queries that returned nothing').to.deep.equal([]);
    // The check can fail: a query with its metric misspelt returns nothing.
    const [, first] = dashboardQueries(DASHBOARDS[0])[0];
    const misspelt = first.replace(/(circuit_breaker_\w+)\{/, '$1_typo{');
    expect(misspelt).to.not.equal(first);
    expect(await prometheus!.query(misspelt)).to.deep.equal([]);
  });

  it('has in Prometheus every series the alerting and recording rules name, and the recorded ones', async () => {
    const rules = readFileSync(RULES, 'utf8');
    // Metric names: every circuit_breaker_* word but the label names.
    const words = (pattern: RegExp) =>
      new Set([...rules.matchAll(pattern)].map(m => m[1]));
    // Labels: in matchers, `by (…)` clauses and $labels.
    const labels = new Set([
      ...words(/\b(circuit_breaker_\w+)\s*(?:=~|!=|=)/g),
      ...words(/\$labels\.(circuit_breaker_\w+)/g),
      ...[...rules.matchAll(/by \(([^)]*)\)/g)].flatMap(m =>
        m[1].split(',').map(label => label.trim())
      ),
    ]);
    const named = [...words(/\b(circuit_breaker_\w+)/g)].filter(
      word => !labels.has(word)
    );
    expect(named.sort()).to.deep.equal([
      'circuit_breaker_anomaly_active_ratio',
      'circuit_breaker_calls_total',
      'circuit_breaker_latency_seconds',
      'circuit_breaker_state_ratio',
      'circuit_breaker_state_time_seconds_total',
      'circuit_breaker_transitions_total',
    ]);
    const recorded = [...rules.matchAll(/record: (\S+)/g)].map(m => m[1]);
    expect(recorded).to.have.length(3);
    const missing: string[] = [];
    for (const name of [...named, ...recorded])
      if ((await prometheus!.query(name)).length === 0) missing.push(name);
    expect(missing, 'names with no series').to.deep.equal([]);
  });
});

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LocalRegistry } from './LocalRegistry';
import { ROOT, packPublished } from './pack';
import type { Packed } from './pack';
import { installCommands, quickStart } from './readme';
import type { InstallCommands, QuickStart } from './readme';
import { provision, runCommand, userEnv } from './runtimes';
import type { Runtime, RuntimeId } from './runtimes';

/** Past this an install is killed and fails; the target is half of it. */
const INSTALL_TIMEOUT_MILLIS = 120_000;
const INSTALL_TARGET_MILLIS = 60_000;
const QUICK_START_TIMEOUT_MILLIS = 30_000;
const RUNTIMES: RuntimeId[] = ['node20', 'node22', 'node24'];
const MANAGERS = ['npm', 'pnpm'] as const;
type Manager = (typeof MANAGERS)[number];

/**
 * The largest relative error of a quantile from a sketch of `maxBuckets`
 * buckets per sign (scale ≤ 20) holding values in [min, max]: the bucket
 * geometry of the OpenTelemetry exponential histogram, (base − 1)/(base + 1)
 * at the finest scale whose buckets cover the range.
 */
function sketchError(min: number, max: number, maxBuckets = 520): number {
  for (let scale = 20; ; scale--) {
    const base = 2 ** (2 ** -scale);
    const index = (v: number): number =>
      Math.ceil(Math.log(v) / Math.log(base)) - 1;
    if (index(max) - index(min) + 1 <= maxBuckets)
      return (base - 1) / (base + 1);
  }
}

/** The value at rank ⌊q·(n − 1)⌋ of `values` sorted: the sketches' quantile rule. */
function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))];
}

/** `printed` (one decimal) is within the sketch's error of `exact`. */
function expectQuantile(printed: string, exact: number, error: number): void {
  expect(
    Math.abs(Number(printed) - exact),
    `${printed} vs exact ${exact}`
  ).to.be.at.most(exact * error + 0.05);
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Each README: what its quick start records, so what it must print. */
const READMES: {
  path: string;
  label: string;
  checkOutput(output: string): void;
}[] = [
  {
    path: 'packages/sketch/README.md',
    label: 'sketch',
    checkOutput(output) {
      // 1 … 1000 ms recorded.
      const m = /^p50 ([\d.]+) ms, p99 ([\d.]+) ms \(±([\d.]+)%\)$/m.exec(
        output
      );
      expect(m, output).not.to.equal(null);
      const values = range(1, 1000);
      const error = sketchError(1, 1000);
      expectQuantile(m![1], exactQuantile(values, 0.5), error);
      expectQuantile(m![2], exactQuantile(values, 0.99), error);
      expect(Number(m![3])).to.be.closeTo(error * 100, 0.005);
    },
  },
  {
    path: 'packages/metrics/README.md',
    label: 'metrics',
    checkOutput(output) {
      // 1 … 1000 ms recorded into a histogram of the reader (520 buckets).
      const m = /^count (\d+), p50 ([\d.]+) ms, p99 ([\d.]+) ms$/m.exec(output);
      expect(m, output).not.to.equal(null);
      const values = range(1, 1000);
      expect(Number(m![1])).to.equal(values.length);
      expectQuantile(m![2], exactQuantile(values, 0.5), sketchError(1, 1000));
      expectQuantile(m![3], exactQuantile(values, 0.99), sketchError(1, 1000));
    },
  },
  {
    path: 'packages/circuit-breaker/README.md',
    label: 'circuit-breaker',
    checkOutput(output) {
      // Calls 1 … 30: every fifth failed, the others succeeded in `call` ms; then opened.
      const m =
        /^payments: (\w+), (\d+) succeeded, (\d+) failed \((\d+)%\), p50 ([\d.]+) ms, health (\w+)$/m.exec(
          output
        );
      expect(m, output).not.to.equal(null);
      const successes = range(1, 30).filter(call => call % 5 !== 0);
      expect(m![1]).to.equal('open');
      expect(Number(m![2])).to.equal(successes.length);
      expect(Number(m![3])).to.equal(30 - successes.length);
      expect(Number(m![4])).to.equal(
        Math.round(((30 - successes.length) / 30) * 100)
      );
      expectQuantile(m![5], exactQuantile(successes, 0.5), sketchError(1, 29));
      expect(m![6], 'an open breaker is unhealthy (README "Health")').to.equal(
        'unhealthy'
      );
    },
  },
  {
    path: 'README.md',
    label: 'all three',
    checkOutput(output) {
      // Calls 1 … 100, every tenth failed; an order counted per call, paid unless failed.
      const calls = range(1, 100);
      const failed = calls.filter(call => call % 10 === 0).length;
      expect(output).to.match(
        new RegExp(
          `^orders paid: ${calls.length - failed}, payment failures: ${failed}$`,
          'm'
        )
      );
      const m = /^call p99: ([\d.]+) ms$/m.exec(output);
      expect(m, output).not.to.equal(null);
      expectQuantile(m![1], exactQuantile(calls, 0.99), sketchError(1, 100));
    },
  },
];

interface Install {
  readme: string;
  runtime: Runtime;
  manager: Manager;
  command: string;
  millis: number;
  ok: boolean;
  timedOut: boolean;
  /** Top-level @opentelemetry/api and sdk-metrics versions, if installed. */
  api?: string;
  sdkMetrics?: string;
  warnings: string;
}

/** Counts of the warnings npm and pnpm print about peers and engines. */
function warningsIn(output: string): string {
  const kinds: [string, RegExp][] = [
    ['EBADENGINE', /EBADENGINE/g],
    ['ERESOLVE', /ERESOLVE/g],
    ['unsupported engine', /Unsupported engine/g],
    ['unmet peer', /unmet peer/g],
    ['missing peer', /missing peer/g],
  ];
  return kinds
    .map(
      ([name, pattern]) => [name, (output.match(pattern) ?? []).length] as const
    )
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${name} ×${count}`)
    .join(', ');
}

function versionIn(project: string, name: string): string | undefined {
  const file = join(project, 'node_modules', name, 'package.json');
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
    : undefined;
}

/** `names` and the @datapunk packages they depend on. */
function withDependencies(names: string[], packages: Packed[]): Set<string> {
  const all = new Set<string>();
  const visit = (name: string): void => {
    if (all.has(name)) return;
    all.add(name);
    const pkg = packages.find(p => p.manifest.name === name);
    const dependencies = (pkg?.manifest.dependencies ?? {}) as Record<
      string,
      string
    >;
    for (const dependency of Object.keys(dependencies))
      if (dependency.startsWith('@datapunk/')) visit(dependency);
  };
  names.forEach(visit);
  return all;
}

function table(installs: Install[]): string {
  const rows = [
    ['README', 'runtime', 'install', 'time', 'api', 'sdk-metrics', 'warnings'],
    ...installs.map(i => [
      i.readme,
      `Node ${i.runtime.node}`,
      `${i.manager} ${i.manager === 'npm' ? i.runtime.npm : i.runtime.pnpm}`,
      i.timedOut
        ? `> ${INSTALL_TIMEOUT_MILLIS / 1000} s, killed`
        : `${(i.millis / 1000).toFixed(1)} s${i.ok ? '' : ', failed'}${
            i.ok && i.millis > INSTALL_TARGET_MILLIS ? ' (over target)' : ''
          }`,
      i.api ?? '–',
      i.sdkMetrics ?? '–',
      i.warnings || '–',
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map(r => r[c].length)));
  return rows
    .map(r => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`)
    .join('\n');
}

describe("packaging: the READMEs' install lines and quick starts, run as a user runs them", function () {
  this.timeout(INSTALL_TIMEOUT_MILLIS + 30_000);

  const installs: Install[] = [];
  let runtimes: Runtime[] = [];
  let registry: LocalRegistry;
  let packages: Packed[];
  let work: string;
  /** A folder with TypeScript and @types/node from the registry, for the strict check. */
  let typescript: { tsc: string; typeRoots: string; version: string };
  let failures = 0;

  before(async function () {
    this.timeout(900_000);
    runtimes = provision(RUNTIMES);
    packages = packPublished();
    registry = new LocalRegistry(packages);
    await registry.start();
    work = mkdtempSync(join(tmpdir(), 'datapunk-packaging-'));
    const tools = join(work, 'typescript');
    mkdirSync(join(tools, 'home'), { recursive: true });
    const pinned = runtimes.find(r => r.id === 'node24')!;
    const result = await runCommand(
      'npm install --no-audit --no-fund typescript @types/node',
      {
        cwd: tools,
        env: userEnv(pinned.bin, join(tools, 'home')),
        timeoutMillis: INSTALL_TIMEOUT_MILLIS,
      }
    );
    if (result.code !== 0)
      throw new Error(`installing TypeScript failed:\n${result.output}`);
    typescript = {
      tsc: join(tools, 'node_modules', 'typescript', 'bin', 'tsc'),
      typeRoots: join(tools, 'node_modules', '@types'),
      version: versionIn(tools, 'typescript')!,
    };
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failures++;
  });

  after(async () => {
    await registry?.close();
    if (installs.length > 0) {
      console.log(
        `\n  Installs (fresh project and caches each; target ≤ ${INSTALL_TARGET_MILLIS / 1000} s; TypeScript ${typescript?.version}):\n`
      );
      console.log(table(installs).replace(/^/gm, '  '));
    }
    if (work && failures === 0) rmSync(work, { recursive: true, force: true });
    else if (work) console.log(`\n  Projects kept for a look: ${work}`);
  });

  for (const readme of READMES) {
    for (const id of RUNTIMES) {
      for (const manager of MANAGERS) {
        describe(`${readme.label} (${readme.path}), ${manager} on ${id}`, () => {
          let install: Install | undefined;
          let project: string;
          let home: string;
          let runtime: Runtime;
          let start: QuickStart;

          before(() => {
            runtime = runtimes.find(r => r.id === id)!;
            const folder = join(
              work,
              `${readme.label.replace(/\W+/g, '-')}-${id}-${manager}`
            );
            project = join(folder, 'project');
            home = join(folder, 'home');
            mkdirSync(project, { recursive: true });
            mkdirSync(home, { recursive: true });
          });

          it("installs with the README's line, from a fresh project, within the timeout", async () => {
            const text = readFileSync(join(ROOT, readme.path), 'utf8');
            const command =
              installCommands(text)[manager as keyof InstallCommands];
            // The one addition to a user's setup: the @datapunk scope comes from the local registry.
            writeFileSync(
              join(project, '.npmrc'),
              `@datapunk:registry=${registry.url}\n`
            );
            const servedBefore = registry.served.length;
            const result = await runCommand(command, {
              cwd: project,
              env: userEnv(runtime.bin, home),
              timeoutMillis: INSTALL_TIMEOUT_MILLIS,
            });
            install = {
              readme: readme.label,
              runtime,
              manager,
              command,
              millis: result.millis,
              ok: result.code === 0,
              timedOut: result.timedOut,
              api: versionIn(project, '@opentelemetry/api'),
              sdkMetrics: versionIn(project, '@opentelemetry/sdk-metrics'),
              warnings: warningsIn(result.output),
            };
            installs.push(install);
            const tail = result.output.slice(-4000);
            expect(
              result.timedOut,
              `\`${command}\` still running after ${INSTALL_TIMEOUT_MILLIS / 1000} s; its last output:\n${tail}`
            ).to.equal(false);
            expect(
              result.code,
              `\`${command}\` failed in ${(result.millis / 1000).toFixed(1)} s:\n${tail}`
            ).to.equal(0);
            // Every @datapunk package came from the local registry: the client honoured .npmrc.
            const named = command
              .split(/\s+/)
              .filter(word => word.startsWith('@datapunk/'));
            const served = registry.served.slice(servedBefore);
            for (const name of withDependencies(named, packages)) {
              const pkg = packages.find(p => p.manifest.name === name);
              expect(
                pkg,
                `${name} is not a package of this repository`
              ).not.to.equal(undefined);
              expect(
                served,
                `${name}'s tarball from the local registry`
              ).to.include(registry.tarballPath(name, pkg!.manifest.version));
            }
            for (const name of named)
              expect(versionIn(project, name), name).to.equal(
                packages.find(p => p.manifest.name === name)!.manifest.version
              );
          });

          const runQuickStart = async (
            file: string,
            code: keyof QuickStart
          ): Promise<void> => {
            if (!install?.ok)
              throw new Error('not installed (see the install test above)');
            start ??= quickStart(readFileSync(join(ROOT, readme.path), 'utf8'));
            writeFileSync(join(project, file), start[code]);
            const result = await runCommand(`node ${file}`, {
              cwd: project,
              env: userEnv(runtime.bin, home),
              timeoutMillis: QUICK_START_TIMEOUT_MILLIS,
            });
            expect(
              result.timedOut,
              `node ${file} still running after ${QUICK_START_TIMEOUT_MILLIS / 1000} s`
            ).to.equal(false);
            expect(result.code, `node ${file}:\n${result.output}`).to.equal(0);
            readme.checkOutput(result.output);
          };

          it('runs the ES module quick start, and it prints what it recorded', () =>
            runQuickStart('quickstart.mjs', 'esm'));

          it('runs the CommonJS quick start, and it prints what it recorded', () =>
            runQuickStart('quickstart.cjs', 'commonjs'));

          it('compiles the ES module quick start as strict TypeScript (tsc --strict --module nodenext)', async () => {
            if (!install?.ok)
              throw new Error('not installed (see the install test above)');
            start ??= quickStart(readFileSync(join(ROOT, readme.path), 'utf8'));
            writeFileSync(join(project, 'quickstart.mts'), start.esm);
            const result = await runCommand(
              [
                'node',
                typescript.tsc,
                '--strict',
                '--module nodenext',
                '--noEmit',
                `--typeRoots ${typescript.typeRoots}`,
                '--types node',
                'quickstart.mts',
              ].join(' '),
              {
                cwd: project,
                env: userEnv(runtime.bin, home),
                timeoutMillis: QUICK_START_TIMEOUT_MILLIS,
              }
            );
            expect(result.code, result.output).to.equal(0);
          });
        });
      }
    }
  }
});

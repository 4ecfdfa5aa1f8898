import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { READMES } from './expectations';
import type { ProjectRun } from './expectations';
import { enginesNotMet, versionIn, warningsIn } from './installed';
import { LocalRegistry } from './LocalRegistry';
import { ROOT, packPublished } from './pack';
import type { Packed } from './pack';
import { installCommands, quickStart } from './readme';
import type { QuickStart } from './readme';
import { provision, runCommand, userEnv } from './runtimes';
import type { RunResult, Runtime, RuntimeId } from './runtimes';

/** Past this an install is killed and fails; the target is half of it. */
const INSTALL_TIMEOUT_MILLIS = 120_000;
const INSTALL_TARGET_MILLIS = 60_000;
const RUN_TIMEOUT_MILLIS = 30_000;
const RUNTIMES: RuntimeId[] = ['node20', 'node22', 'node24'];
const MANAGERS = ['npm', 'pnpm'] as const;
type Manager = (typeof MANAGERS)[number];

interface Install {
  what: string;
  runtime: Runtime;
  manager: Manager;
  result: RunResult;
  /** Top-level @opentelemetry/api and sdk-metrics versions, if installed. */
  api?: string;
  sdkMetrics?: string;
  enginesNotMet: string[];
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
    [
      'README',
      'runtime',
      'client',
      'install time',
      'api',
      'sdk-metrics',
      'warnings',
      'engines not met',
    ],
    ...installs.map(i => [
      i.what,
      `Node ${i.runtime.node}`,
      `${i.manager} ${i.manager === 'npm' ? i.runtime.npm : i.runtime.pnpm}`,
      i.result.timedOut
        ? `> ${INSTALL_TIMEOUT_MILLIS / 1000} s, killed`
        : `${(i.result.millis / 1000).toFixed(1)} s${i.result.code === 0 ? '' : ', failed'}${
            i.result.millis > INSTALL_TARGET_MILLIS ? ' (over target)' : ''
          }`,
      i.api ?? '–',
      i.sdkMetrics ?? '–',
      warningsIn(i.result.output) || '–',
      i.enginesNotMet.join(' ') || '–',
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
  /** TypeScript and @types/node, latest from the registry, for the strict check. */
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
        `\n  Installs, each in a fresh project with empty caches (target ≤ ${INSTALL_TARGET_MILLIS / 1000} s, killed at ${INSTALL_TIMEOUT_MILLIS / 1000} s); TypeScript ${typescript?.version}:\n`
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
          let installed = false;
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
            // The one addition to a user's setup: the @datapunk scope comes from the local registry.
            writeFileSync(
              join(project, '.npmrc'),
              `@datapunk:registry=${registry.url}\n`
            );
            const text = readFileSync(join(ROOT, readme.path), 'utf8');
            start = quickStart(text);
          });

          /** Runs the README's install line `index` (0: the package, 1: its extra) and records it. */
          const install = async (
            index: number,
            what: string
          ): Promise<RunResult> => {
            const command = installCommands(
              readFileSync(join(ROOT, readme.path), 'utf8')
            )[index][manager];
            const result = await runCommand(command, {
              cwd: project,
              env: userEnv(runtime.bin, home),
              timeoutMillis: INSTALL_TIMEOUT_MILLIS,
            });
            installs.push({
              what,
              runtime,
              manager,
              result,
              api: versionIn(project, '@opentelemetry/api'),
              sdkMetrics: versionIn(project, '@opentelemetry/sdk-metrics'),
              enginesNotMet: enginesNotMet(project, runtime),
            });
            const tail = result.output.slice(-4000);
            expect(
              result.timedOut,
              `\`${command}\` still running after ${INSTALL_TIMEOUT_MILLIS / 1000} s; its last output:\n${tail}`
            ).to.equal(false);
            expect(
              result.code,
              `\`${command}\` failed in ${(result.millis / 1000).toFixed(1)} s:\n${tail}`
            ).to.equal(0);
            return result;
          };

          const run: ProjectRun = {
            async node(file, source, env = {}) {
              if (!installed)
                throw new Error('not installed (see the install test above)');
              writeFileSync(join(project, file), source);
              return runCommand(`node ${file}`, {
                cwd: project,
                env: { ...userEnv(runtime.bin, home), ...env },
                timeoutMillis: RUN_TIMEOUT_MILLIS,
              });
            },
          };

          it("installs with the README's line, in a fresh project, within the timeout", async () => {
            const servedBefore = registry.served.length;
            const result = await install(0, readme.label);
            installed = true;
            // Every @datapunk package came from the local registry: the client honoured .npmrc.
            const command = installCommands(
              readFileSync(join(ROOT, readme.path), 'utf8')
            )[0][manager];
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
            expect(result.output, 'peer warnings').not.to.match(
              /unmet peer|missing peer/
            );
          });

          if (manager === 'npm')
            it('leaves a tree that `npm ls --all` finds valid: every peer range met', async () => {
              if (!installed)
                throw new Error('not installed (see the install test above)');
              const result = await runCommand('npm ls --all', {
                cwd: project,
                env: userEnv(runtime.bin, home),
                timeoutMillis: RUN_TIMEOUT_MILLIS,
              });
              expect(result.code, result.output).to.equal(0);
            });

          const runQuickStart = async (
            file: string,
            source: keyof QuickStart
          ): Promise<void> => {
            const result = await run.node(file, start[source]);
            expect(
              result.timedOut,
              `node ${file} still running after ${RUN_TIMEOUT_MILLIS / 1000} s`
            ).to.equal(false);
            expect(result.code, `node ${file}:\n${result.output}`).to.equal(0);
            readme.checkOutput(result.output);
          };

          it('runs the ES module quick start, and it prints what it recorded', () =>
            runQuickStart('quickstart.mjs', 'esm'));

          it('runs the CommonJS quick start, and it prints what it recorded', () =>
            runQuickStart('quickstart.cjs', 'commonjs'));

          it('compiles the ES module quick start as strict TypeScript (tsc --strict --module nodenext)', async () => {
            if (!installed)
              throw new Error('not installed (see the install test above)');
            writeFileSync(join(project, 'quickstart.mts'), start.esm);
            const result = await runCommand(
              `node ${typescript.tsc} --strict --module nodenext --noEmit --typeRoots ${typescript.typeRoots} --types node quickstart.mts`,
              {
                cwd: project,
                env: userEnv(runtime.bin, home),
                timeoutMillis: RUN_TIMEOUT_MILLIS,
              }
            );
            expect(result.code, result.output).to.equal(0);
          });

          const extra = readme.extra;
          if (extra) {
            let extraInstalled = false;

            it(`installs the README's extra line (${extra.what}) within the timeout`, async () => {
              if (!installed)
                throw new Error('not installed (see the install test above)');
              await install(1, `${readme.label} + ${extra.what}`);
              extraInstalled = true;
            });

            it(extra.title, async () => {
              if (!extraInstalled)
                throw new Error(
                  'the extra is not installed (see the test above)'
                );
              await extra.check(run, start);
            });
          }
        });
      }
    }
  }
});

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { expect } from 'chai';
import * as ts from 'typescript';
import { ROOT, packPublished } from './pack';
import type { Packed } from './pack';
import { relativeLinks, sectionOf } from './readme';

const PACKAGES = ['circuit-breaker', 'common', 'metrics', 'sketch'];

interface PackageJson {
  name: string;
  repository?: { type: string; url: string; directory: string };
  homepage?: string;
  exports?: Record<string, { types: string; default: string } | string>;
}

/** The tarball `npm pack` makes of packages/<directory>. */
function packed(directory: string): Packed {
  const found = packPublished().find(p => p.directory === directory);
  if (!found) throw new Error(`packages/${directory} is not published`);
  return found;
}

describe('packaging: what a registry user gets', function () {
  this.timeout(60_000);

  it('publishes these packages, and no other (bench-kit stays private)', () => {
    expect(packPublished().map(p => p.directory)).to.deep.equal(PACKAGES);
  });

  for (const directory of PACKAGES) {
    describe(`@datapunk/otel-${directory}`, () => {
      const path = join(ROOT, 'packages', directory);
      const pkg = JSON.parse(
        readFileSync(join(path, 'package.json'), 'utf8')
      ) as PackageJson;

      it('names its repository folder and home page, so relative links resolve on the registry', () => {
        expect(pkg.repository).to.deep.include({
          type: 'git',
          directory: `packages/${directory}`,
        });
        expect(pkg.homepage).to.match(/^https:\/\//);
      });

      it('has an exports map whose files exist after the build', () => {
        const main = pkg.exports!['.'] as { types: string; default: string };
        for (const target of [main.types, main.default])
          expect(existsSync(join(path, target)), target).to.equal(true);
      });

      it('ships its README, licence and build, and no maps to sources it does not ship', () => {
        const { files } = packed(directory);
        for (const needed of [
          'README.md',
          'CHANGELOG.md',
          'LICENSE',
          'package.json',
          'build/src/index.js',
          'build/src/index.d.ts',
        ])
          expect(files, needed).to.include(needed);
        expect(files.filter(f => f.endsWith('.d.ts.map'))).to.deep.equal([]);
        expect(
          files.filter(f => /\/(test|bench)\//.test(f) || f.startsWith('src/'))
        ).to.deep.equal([]);
      });

      it('ships the Prometheus rules and Grafana dashboards it documents', () => {
        const shipped = packed(directory).files.filter(f =>
          /^(prometheus|grafana)\//.test(f)
        );
        expect(shipped.sort()).to.deep.equal(
          {
            'circuit-breaker': [
              'grafana/circuit-breakers.json',
              'prometheus/rules.test.yml',
              'prometheus/rules.yml',
            ],
            metrics: ['grafana/retention-reader.json'],
          }[directory] ?? []
        );
      });

      it('links from its packed README only to files in the tarball: nothing outside the package', () => {
        const { files, read } = packed(directory);
        const links = relativeLinks(read('README.md'));
        for (const link of links) {
          const path = posix.normalize(link).replace(/\/$/, '');
          expect(path, `${link} leaves the package`).not.to.match(
            /^(\.\.(\/|$)|\/)/
          );
          expect(
            files.some(f => f === path || f.startsWith(`${path}/`)),
            `${link} is not in the tarball`
          ).to.equal(true);
        }
      });
    });
  }

  it('resolves the validation kit without OpenTelemetry, by its subpath', async () => {
    const resolved = require.resolve('@datapunk/otel-common/validation', {
      paths: [ROOT],
    });
    expect(dirname(resolved)).to.match(/validation$/);
    // Nothing it loads names an OpenTelemetry package.
    for (const file of ['index.js', 'checks.js', 'OptionReader.js'])
      expect(
        readFileSync(join(dirname(resolved), file), 'utf8'),
        file
      ).not.to.include('@opentelemetry');
    const loaded = (await import(resolved)) as {
      isPlainObject: (v: unknown) => boolean;
    };
    expect(loaded.isPlainObject({})).to.equal(true);
  });
});

/** The ```ts blocks of `markdown`. */
function snippetsOf(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map(m => m[1]);
}

/**
 * The compile errors of `snippets` pasted into one ES module of an
 * application that also uses the OpenTelemetry API (`metrics`), with what
 * the snippets leave to the application declared.
 */
function compileTogether(snippets: string[]): string[] {
  const application = `
import { metrics } from '@opentelemetry/api';
import type { CockatielLike, OpossumLike } from '@datapunk/otel-circuit-breaker';
metrics.getMeterProvider();
declare const request: unknown;
declare function handle(request: unknown): void;
declare const paymentsBreaker: OpossumLike;
declare const inventoryPolicy: CockatielLike;
declare const log: { warn(...message: unknown[]): void; info(...message: unknown[]): void };
declare const other: { merge(sketch: unknown): void };
`;
  const file = join(ROOT, 'test', 'build', 'readme-snippets.mts');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, [application, ...snippets].join('\n'));
  const program = ts.createProgram([file], {
    module: ts.ModuleKind.Node20,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe("the READMEs' code, pasted into one application", function () {
  this.timeout(60_000);

  it('compiles: the root quick start per package', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const snippets = snippetsOf(sectionOf(readme, 'Quick start'));
    expect(snippets.length).to.be.at.least(3);
    expect(compileTogether(snippets)).to.deep.equal([]);
  });

  it("compiles: each package README's opening example", () => {
    const snippets = ['sketch', 'metrics', 'circuit-breaker'].map(
      directory =>
        snippetsOf(
          readFileSync(join(ROOT, 'packages', directory, 'README.md'), 'utf8')
        )[0]
    );
    expect(compileTogether(snippets)).to.deep.equal([]);
  });
});

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  CockatielInstrumentation,
  OpossumInstrumentation,
} from '../src/instrumentation';

const run = promisify(execFile);

describe('instrumentation configuration', () => {
  it('is checked at construction and at every setConfig(), naming the field', () => {
    const instrumentation = new OpossumInstrumentation({
      enabled: false,
      attributes: { team: 'core' },
    });
    expect(instrumentation.getConfig()).to.deep.equal({
      enabled: false,
      attributes: { team: 'core' },
    });
    expect(() =>
      instrumentation.setConfig({ attributes: { a: {} } } as never)
    ).to.throw(
      TypeError,
      /^OpossumInstrumentation: option 'attributes\.a' must be a string, number or boolean, or an array of one of those types/
    );
    expect(() =>
      instrumentation.setConfig({ enabled: false, nameof: () => 'x' } as never)
    ).to.throw(TypeError, /unknown option 'nameof'/);
    expect(
      () =>
        new CockatielInstrumentation({
          enabled: false,
          collectorOptions: { meterProvider: new MeterProvider() } as never,
        })
    ).to.throw(TypeError, /unknown option 'collectorOptions\.meterProvider'/);
    // Attributes are cut at the limits of the collector they go to.
    const own = new OpossumInstrumentation({
      enabled: false,
      collectorOptions: { limits: { maxAttributeValueLength: 4 } },
      attributes: { team: 'core-platform' },
    });
    expect(own.getConfig().attributes).to.deep.equal({ team: 'core' });
  });
});
const FIXTURES = join(__dirname, 'fixtures');
const MODULES = join(__dirname, '..', '..', '..', 'node_modules');

interface Report {
  version: string;
  shared: boolean;
  breakers: string[];
  exported: string[];
  calls: [string, string, number][];
  snapshots: {
    name: string;
    state: string;
    calls: Record<string, number>;
    inFlight: number;
  }[];
}

/**
 * Runs a fixture in a fresh Node process (a clean module cache, as in an
 * application) and returns its report. `library` puts another major of a
 * package under its real name in the working directory's node_modules, as
 * the require hook matches packages by name.
 */
async function fixture(
  args: string[],
  library?: { name: string; from: string }
): Promise<Report> {
  let cwd = FIXTURES;
  if (library) {
    cwd = mkdtempSync(join(tmpdir(), 'datapunk-auto-'));
    cpSync(
      join(MODULES, library.from),
      join(cwd, 'node_modules', library.name),
      { recursive: true }
    );
  }
  try {
    const { stdout } = await run(
      process.execPath,
      args.map(a => (a.startsWith('./') ? join(FIXTURES, a) : a)),
      { cwd, timeout: 20_000 }
    );
    return JSON.parse(stdout.trim().split('\n').pop()!) as Report;
  } finally {
    if (library) rmSync(cwd, { recursive: true, force: true });
  }
}

describe('auto-instrumentation (child processes)', function () {
  this.timeout(30_000);

  for (const [major, library] of [
    ['10', undefined],
    ['9', { name: 'opossum', from: 'opossum9' }],
  ] as const) {
    it(`instruments every opossum ${major} breaker created after registration`, async () => {
      const report = await fixture(['./auto-opossum.cjs'], library);
      expect(report.version.split('.')[0]).to.equal(major);
      expect(report.calls).to.deep.equal([
        ['auto-payments', 'success', 3],
        ['auto-payments', 'failure', 4],
        ['auto-payments', 'rejected', 1],
      ]);
      expect(report.snapshots).to.deep.equal([
        {
          name: 'auto-payments',
          state: 'open',
          calls: {
            success: 3,
            failure: 4,
            timeout: 0,
            rejected: 1,
            capacity: 0,
            ignored: 0,
          },
          inFlight: 0,
        },
      ]);
    });

    it(`does not attach an opossum ${major} breaker again once it shut down`, async () => {
      const report = (await fixture(
        ['./auto-opossum-shutdown.cjs'],
        library
      )) as unknown as {
        attached: boolean;
        breakers: string[];
        listenersLeft: number;
        rejectedInputs: number;
      };
      expect(report).to.deep.equal({
        attached: true,
        breakers: [],
        listenersLeft: 0,
        rejectedInputs: 0,
      });
    });
  }

  const cockatiel = [
    [
      '4 over ESM (--import hook)',
      ['--import', './register-esm.mjs', './auto-cockatiel.mjs'],
      undefined,
      '4',
    ],
    ['4 over require(esm)', ['./auto-cockatiel.cjs'], undefined, '4'],
    [
      '3.2 over CommonJS',
      ['./auto-cockatiel.cjs'],
      { name: 'cockatiel', from: 'cockatiel3' },
      '3',
    ],
  ] as const;
  for (const [name, args, library, major] of cockatiel) {
    it(`instruments every cockatiel ${name} policy, rejections included`, async () => {
      const report = await fixture([...args], library);
      expect(report.version.split('.')[0]).to.equal(major);
      expect(report.snapshots).to.deep.equal([
        {
          name: 'cockatiel-1',
          state: 'open',
          // 6 execute() calls, the queued one through execute() twice: once each.
          calls: {
            success: 1,
            failure: 3,
            timeout: 0,
            rejected: 2,
            capacity: 0,
            ignored: 0,
          },
          inFlight: 0,
        },
      ]);
    });
  }

  it('reports no breaker its nameOf throws for or names badly, counts each once, and lets its calls through', async () => {
    const report = (await fixture(['./auto-nameof.cjs'])) as unknown as {
      results: string[];
      breakers: string[];
      rejectedInputs: number;
    };
    expect(report).to.deep.equal({
      results: [
        'throws: ok',
        'throws: ok',
        'numbered: ok',
        'numbered: ok',
        'named: ok',
        'named: ok',
      ],
      breakers: ['named'],
      rejectedInputs: 2,
    });
  });

  it('reports both libraries to one collector when given none', async () => {
    const report = await fixture(['./auto-shared.cjs']);
    expect(report.shared).to.equal(true);
    expect(report.breakers).to.deep.equal(['cockatiel-1', 'payments']);
    // The shared collector is on the provider the instrumentations were given.
    expect(report.exported).to.deep.equal(['cockatiel-1', 'payments']);
  });
});

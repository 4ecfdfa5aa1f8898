import { execFile } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { requirePromtool } from '../requirements';

const RULES = resolve(__dirname, '../../packages/circuit-breaker/prometheus');
const run = promisify(execFile);

/** promtool's exit code and output. */
async function promtool(
  args: string[],
  cwd: string
): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe('the Prometheus rules shipped with the circuit-breaker package', function () {
  this.timeout(60_000);
  before(function () {
    requirePromtool(this);
  });

  it('pass promtool check rules', async () => {
    const { code, output } = await promtool(
      ['check', 'rules', 'rules.yml'],
      RULES
    );
    expect(code, output).to.equal(0);
    expect(output).to.match(/SUCCESS: 9 rules found/);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const { code, output } = await promtool(
      ['test', 'rules', 'rules.test.yml'],
      RULES
    );
    expect(code, output).to.equal(0);
  });

  it('have unit tests that fail when a rule is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'datapunk-rules-'));
    try {
      copyFileSync(join(RULES, 'rules.test.yml'), join(dir, 'rules.test.yml'));
      const rules = readFileSync(join(RULES, 'rules.yml'), 'utf8');
      // Rejected calls counted as calls that ran: the failure ratio dilutes.
      const wrong = rules.replace(
        'circuit_breaker_outcome=~"success|failure|timeout|capacity"',
        'circuit_breaker_outcome=~"success|failure|timeout|capacity|rejected"'
      );
      expect(wrong).to.not.equal(rules);
      writeFileSync(join(dir, 'rules.yml'), wrong);
      const { code, output } = await promtool(
        ['test', 'rules', 'rules.test.yml'],
        dir
      );
      expect(code, output).to.not.equal(0);
      expect(output).to.match(/CircuitBreakerFailureRateOverSLO/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { execFileSync, spawn } from 'node:child_process';
import { delimiter, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

export type RuntimeId = 'node20' | 'node22' | 'node24';

/** A Node binary with the npm its release bundles, and pnpm: a user's machine. */
export interface Runtime {
  id: RuntimeId;
  /** Folder with node, npm, npx and pnpm, put first on PATH. */
  bin: string;
  node: string;
  npm: string;
  pnpm: string;
}

/**
 * The runtimes `ids`, provisioned by test/packaging/provision.sh (cached
 * under .cache/packaging/) with their versions read back.
 */
export function provision(ids: RuntimeId[]): Runtime[] {
  execFileSync('bash', [join(__dirname, 'provision.sh'), ...ids], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: userEnv(),
    timeout: 600_000,
  });
  return ids.map(id => {
    const bin = join(ROOT, '.cache', 'packaging', 'runtimes', id, 'bin');
    const env = userEnv(bin);
    const version = (tool: string): string =>
      execFileSync(join(bin, 'node'), [join(bin, tool), '--version'], {
        cwd: '/',
        env,
        encoding: 'utf8',
      }).trim();
    return {
      id,
      bin,
      node: execFileSync(join(bin, 'node'), ['--version'], { encoding: 'utf8' })
        .trim()
        .replace(/^v/, ''),
      npm: version('npm'),
      pnpm: version('pnpm'),
    };
  });
}

/**
 * The environment of a user's shell: this process's, less what `npm run`
 * and mocha add (npm_* settings, the pinned Node's node_modules/.bin on
 * PATH), with `bin` first on PATH and `home` as HOME when given.
 */
export function userEnv(bin?: string, home?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!/^(npm_|NODE$|INIT_CWD$|TS_NODE_)/i.test(name)) env[name] = value;
  const path = (env.PATH ?? '')
    .split(delimiter)
    .filter(dir => dir !== '' && !/[\\/]node_modules[\\/]\.bin$/.test(dir));
  env.PATH = [...(bin ? [bin] : []), ...path].join(delimiter);
  if (home) {
    env.HOME = home;
    // XDG folders follow HOME (pnpm keeps its store and caches there).
    for (const name of Object.keys(env))
      if (name.startsWith('XDG_')) delete env[name];
  }
  return env;
}

export interface RunResult {
  /** Exit code; null when killed. */
  code: number | null;
  millis: number;
  timedOut: boolean;
  /** stdout and stderr interleaved. */
  output: string;
}

/**
 * Runs `command` in bash, as typed at a prompt, in its own process group;
 * past `timeoutMillis` the whole group is killed.
 */
export function runCommand(
  command: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMillis: number }
): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, options.timeoutMillis);
    child.on('error', error => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', code => {
      clearTimeout(timer);
      resolve({
        code,
        millis: performance.now() - started,
        timedOut,
        output: Buffer.concat(chunks).toString('utf8'),
      });
    });
  });
}

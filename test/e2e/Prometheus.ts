import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './Collector';

/** One sample of an instant query's answer. */
export interface PromSample {
  metric: Record<string, string>;
  /** A float sample: [seconds, "value"]. */
  value?: [number, string];
  /** A native histogram sample. */
  histogram?: [number, { count: string; sum: string }];
}

/** The exemplars of one series, as /api/v1/query_exemplars gives them. */
export interface PromExemplars {
  seriesLabels: Record<string, string>;
  exemplars: {
    labels: Record<string, string>;
    value: string;
    timestamp: number;
  }[];
}

/** One scrape target's state, as /api/v1/targets gives it. */
export interface PromTarget {
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  scrapeUrl: string;
  labels: Record<string, string>;
}

export interface PrometheusOptions {
  /** Rule files, evaluated every second. */
  rules?: string[];
  /** A `host:port` to scrape every second (path /metrics), as job 'datapunk'. */
  scrapeTarget?: string;
  /** `--enable-feature` flags; default ['native-histograms']. */
  features?: string[];
}

/**
 * A real Prometheus (the one test/install-debian-packages.sh installs) on a free
 * loopback port with a data folder of its own, taking remote writes (from
 * the Collector), with native histograms enabled unless `features` says
 * otherwise, scraping `scrapeTarget` and evaluating `rules` every second
 * when given.
 */
export class Prometheus {
  private readonly _dir: string;
  private readonly _process: ChildProcess;
  private _log = '';

  readonly port: number;

  private constructor(port: number, dir: string, options: PrometheusOptions) {
    this.port = port;
    this._dir = dir;
    const {
      rules = [],
      scrapeTarget,
      features = ['native-histograms'],
    } = options;
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  evaluation_interval: 1s',
        ...(rules.length > 0
          ? ['rule_files:', ...rules.map(r => `  - ${JSON.stringify(r)}`)]
          : []),
        ...(scrapeTarget
          ? [
              'scrape_configs:',
              '  - job_name: datapunk',
              '    scrape_interval: 1s',
              '    scrape_timeout: 1s',
              '    static_configs:',
              `      - targets: [${JSON.stringify(scrapeTarget)}]`,
            ]
          : []),
        '',
      ].join('\n')
    );
    this._process = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-remote-write-receiver',
        ...features.map(feature => `--enable-feature=${feature}`),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] }
    );
    const keep = (chunk: Buffer) => (this._log += chunk.toString());
    this._process.stdout!.on('data', keep);
    this._process.stderr!.on('data', keep);
  }

  /** Starts one and waits until it is ready. */
  static async start(options: PrometheusOptions = {}): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'datapunk-prometheus-'));
    const prometheus = new Prometheus(await freePort(), dir, options);
    try {
      await prometheus._ready();
    } catch (error) {
      await prometheus.dispose();
      throw error;
    }
    return prometheus;
  }

  /** Where the Collector's prometheusremotewrite exporter sends. */
  get remoteWriteUrl(): string {
    return `http://127.0.0.1:${this.port}/api/v1/write`;
  }

  /** What it logged, for failure messages. */
  get log(): string {
    return this._log;
  }

  /** The answer to an instant query (now, or at `timeSeconds`). */
  async query(expression: string, timeSeconds?: number): Promise<PromSample[]> {
    const params = new URLSearchParams({ query: expression });
    if (timeSeconds !== undefined) params.set('time', String(timeSeconds));
    const response = await fetch(
      `http://127.0.0.1:${this.port}/api/v1/query?${params.toString()}`
    );
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: PromSample[] | [number, string] };
    };
    if (body.status !== 'success')
      throw new Error(`query ${expression} failed: ${body.error}`);
    const { resultType, result } = body.data!;
    // A scalar answer as one sample without labels.
    return resultType === 'scalar'
      ? [{ metric: {}, value: result as [number, string] }]
      : (result as PromSample[]);
  }

  /** The single float value `expression` gives; throws unless there is exactly one. */
  async value(expression: string, timeSeconds?: number): Promise<number> {
    const samples = await this.query(expression, timeSeconds);
    if (samples.length !== 1 || samples[0].value === undefined)
      throw new Error(
        `${expression}: expected one float sample, got ${JSON.stringify(samples)}`
      );
    return Number(samples[0].value[1]);
  }

  /**
   * The exemplars stored for the series `selector` selects between two
   * times (seconds), as /api/v1/query_exemplars gives them (needs
   * `--enable-feature=exemplar-storage`).
   */
  async exemplars(
    selector: string,
    startSeconds: number,
    endSeconds: number
  ): Promise<PromExemplars[]> {
    const params = new URLSearchParams({
      query: selector,
      start: String(startSeconds),
      end: String(endSeconds),
    });
    return (await this._get(
      `/api/v1/query_exemplars?${params.toString()}`
    )) as PromExemplars[];
  }

  /** The scrape targets and their state. */
  async targets(): Promise<PromTarget[]> {
    const body = (await this._get('/api/v1/targets')) as {
      activeTargets: PromTarget[];
    };
    return body.activeTargets;
  }

  /** The TYPE/HELP metadata Prometheus keeps for `metric`, as /api/v1/metadata gives it. */
  async metadata(
    metric: string
  ): Promise<{ type: string; help: string; unit: string }[]> {
    const body = (await this._get(
      `/api/v1/metadata?${new URLSearchParams({ metric }).toString()}`
    )) as Record<string, { type: string; help: string; unit: string }[]>;
    return body[metric] ?? [];
  }

  /** Stops it and removes its folder. */
  async dispose(): Promise<void> {
    if (this._process.exitCode === null && this._process.signalCode === null) {
      const exited = new Promise(done => this._process.once('exit', done));
      this._process.kill('SIGTERM');
      await exited;
    }
    rmSync(this._dir, { recursive: true, force: true });
  }

  private async _get(path: string): Promise<unknown> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: unknown;
    };
    if (body.status !== 'success')
      throw new Error(`${path} failed: ${body.error}`);
    return body.data;
  }

  private async _ready(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this._process.exitCode !== null)
        throw new Error(`prometheus exited:\n${this._log}`);
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/-/ready`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    throw new Error(`prometheus not ready in 30 s:\n${this._log}`);
  }
}

/** Whether Prometheus and promtool are installed (test/install-debian-packages.sh). */
export function prometheusInstalled(): boolean {
  try {
    execFileSync('prometheus', ['--version'], { stdio: 'ignore' });
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `promtool check metrics` on `text`: its exit code and what it printed. */
export function promtool(
  text: string
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', chunk => (output += chunk));
    child.stderr.on('data', chunk => (output += chunk));
    child.on('error', reject);
    child.on('close', code => resolve({ code: code ?? -1, output }));
    child.stdin.end(text);
  });
}

import type { DemoRun } from './types';

/** The live view's rates and percentiles are over this many seconds. */
const RECENT_SECONDS = 5;
const COUNTED_AS_FAILED = ['failure', 'timeout', 'capacity'];

/**
 * One block per second: per breaker its state, calls/s and error rate (from
 * the retention provider's `circuit_breaker.calls` history), the downstream's
 * p50/p99 (from its timer's history), health, and the latest signal. On a
 * terminal the block is redrawn in place; otherwise each block is printed.
 */
export class LiveView {
  private _linesDrawn = 0;

  private readonly _run: DemoRun;
  private readonly _out: NodeJS.WriteStream;

  constructor(run: DemoRun, out: NodeJS.WriteStream = process.stdout) {
    this._run = run;
    this._out = out;
  }

  render(seconds: number): void {
    const { schedule, breakers, metrics, detections, startedMillis } =
      this._run;
    const now = Date.now();
    // This run only: a snapshot restored from the previous one is history,
    // not this run's traffic.
    const fromMillis = Math.max(now - RECENT_SECONDS * 1000, startedMillis);
    const faults = schedule.faults
      .filter(f => seconds >= f.fromSeconds && seconds < f.toSeconds)
      .map(f => f.description);
    const lines = [
      `${String(seconds).padStart(4)} s   injected now: ${faults.join(', ') || 'nothing'}`,
      `  breaker     state      calls/s  errors   p50 ms   p99 ms  health      latest signal`,
    ];
    for (const name of breakers.breakers) {
      const snapshot = breakers.getSnapshot(name)!;
      const calls = (outcome?: string) =>
        metrics.query('circuit_breaker.calls', {
          attributes: {
            'circuit_breaker.name': name,
            ...(outcome && { 'circuit_breaker.outcome': outcome }),
          },
          fromMillis,
        });
      const failed = COUNTED_AS_FAILED.reduce(
        (n, o) => n + (calls(o)?.sum ?? 0),
        0
      );
      const ran = failed + (calls('success')?.sum ?? 0);
      const latency = metrics.query('demo.downstream.duration', {
        attributes: { route: name },
        fromMillis,
      })?.percentiles;
      const ms = (seconds?: number) =>
        seconds === undefined ? '—' : (seconds * 1000).toFixed(1);
      const signal = detections.latest(name);
      lines.push(
        [
          `  ${name.padEnd(11)}`,
          snapshot.state.padEnd(9),
          // A rate needs two points of history: none in the first moments.
          (calls()?.rate?.toFixed(1) ?? '—').padStart(8),
          (ran === 0 ? '—' : `${((100 * failed) / ran).toFixed(1)}%`).padStart(
            7
          ),
          ms(latency?.p50).padStart(8),
          ms(latency?.p99).padStart(8),
          ` ${snapshot.health.status.padEnd(11)}`,
          signal ? `${signal.seconds.toFixed(1)} s ${signal.what}` : '—',
        ].join(' ')
      );
    }
    if (this._out.isTTY && this._linesDrawn > 0)
      this._out.write(`\x1b[${this._linesDrawn}A\x1b[J`);
    this._out.write(`${lines.join('\n')}\n${this._out.isTTY ? '' : '\n'}`);
    this._linesDrawn = lines.length;
  }
}

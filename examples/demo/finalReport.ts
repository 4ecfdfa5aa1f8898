import type { DemoRun } from './types';

const OUTCOMES = ['success', 'failure', 'timeout', 'rejected', 'capacity'];

/**
 * The end of a run: each injected fault beside what detected it and how
 * fast, every signal raised, the false alarms, and totals over the whole
 * run from the retention provider's history.
 */
export function finalReport(run: DemoRun): string {
  const { schedule, detections, breakers, metrics, startedMillis } = run;
  const lines = ['', 'Injected faults and what detected them:'];
  for (const fault of schedule.faults) {
    const found = detections.detectionOf(fault);
    const when = `${fault.fromSeconds}–${fault.toSeconds} s`;
    const coverage = detections.coverageOf(fault);
    const percent = (share: number) => `${(share * 100).toFixed(0)}%`;
    lines.push(
      `  ${when.padEnd(13)} ${fault.description.padEnd(38)} ${
        found
          ? `found after ${(found.seconds - fault.fromSeconds).toFixed(1)} s: ${found.what}`
          : 'MISSED'
      }`,
      `  ${''.padEnd(13)} not healthy for ${percent(coverage.all)} of it, ${percent(coverage.afterFirstFlag)} from the first flag on`
    );
    const episodes = detections.episodes.filter(
      e =>
        e.breaker === fault.route &&
        e.fromSeconds < fault.toSeconds + 2 &&
        (e.toSeconds ?? Infinity) > fault.fromSeconds
    );
    for (const e of episodes) {
      const end =
        e.toSeconds === undefined
          ? 'still open at the end'
          : `${e.toSeconds.toFixed(1)} s (${e.reason}), lasted ${(e.toSeconds - e.fromSeconds).toFixed(1)} s`;
      lines.push(
        `  ${''.padEnd(13)} episode ${e.kind}: ${e.fromSeconds.toFixed(1)} s → ${end}`
      );
    }
  }
  lines.push('', 'Every signal raised:');
  const inOrder = [...detections.signals].sort((a, b) => a.seconds - b.seconds);
  for (const s of inOrder)
    lines.push(
      `  ${s.seconds.toFixed(1).padStart(6)} s  ${s.breaker.padEnd(10)} ${s.what}`
    );
  const falseAlarms = detections.falseAlarms(schedule.faults);
  lines.push(
    '',
    `False alarms (anomalies away from any injected fault): ${falseAlarms.length}`,
    ...falseAlarms.map(
      s => `  ${s.seconds.toFixed(1)} s ${s.breaker}: ${s.what}`
    ),
    '',
    "This run, from the retention provider's history (the state file keeps earlier runs' too):"
  );
  for (const name of breakers.breakers) {
    const counts = OUTCOMES.map(outcome => {
      const calls =
        metrics.query('circuit_breaker.calls', {
          attributes: {
            'circuit_breaker.name': name,
            'circuit_breaker.outcome': outcome,
          },
          fromMillis: startedMillis,
        })?.sum ?? 0;
      return `${outcome} ${calls}`;
    });
    const latency = metrics.query('demo.downstream.duration', {
      attributes: { route: name },
      fromMillis: startedMillis,
    });
    const ms = (seconds = NaN) => `${(seconds * 1000).toFixed(1)} ms`;
    const snapshot = breakers.getSnapshot(name)!;
    lines.push(
      `  ${name}: ${counts.join(', ')}; ${snapshot.transitions.trips} trips`,
      `    downstream latency p50 ${ms(latency?.percentiles?.p50)}, p99 ${ms(latency?.percentiles?.p99)}, max ${ms(latency?.max)} over ${latency?.count ?? 0} requests`
    );
  }
  return lines.join('\n');
}

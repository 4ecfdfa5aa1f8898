/**
 * How well the analyzer finds incidents and how long it holds them:
 * labelled, seeded scenarios (sustained faults of latency and errors, short
 * spikes, a slow ramp, flapping, diurnal load, low traffic, stationary
 * hours) after an hour of normal traffic, run through CircuitBreakerMetrics
 * on fake time at the shipped defaults, and through AnomalyDetector alone
 * (at its defaults, fed each second's mean latency or failure rate).
 *
 *   npm run bench:detection       (from the repository root)
 *
 * Per scenario: time to the first flag (health not healthy), share of the
 * fault flagged, time to healthy after it, false episodes per hour, and
 * precision/recall over episodes. A script, not a test. Writes
 * bench-results/detection.json.
 */
import { metrics as metricsApi } from '@opentelemetry/api';
import { printTable, writeResults } from '@datapunk/bench-kit';
import { AnomalyDetector, BreakerState, CircuitBreakerMetrics } from '../src';
import { fakeTime, seededRandom } from '../test/util';
import { STEADY, oneSecondOf } from '../test/traffic';
import type { Traffic } from '../test/traffic';
import { familyRows } from './families';
import { oracleRows } from './oracleBound';
import { loadNab, realDataRows } from './realdata';

const WARM_UP_SECONDS = 3600;
/** After a fault ends, episodes that start within this are part of it. */
const GRACE_SECONDS = 60;

interface Scenario {
  name: string;
  /** Seconds simulated after the warm-up. */
  seconds: number;
  traffic(second: number): Traffic;
  /** [start, end) in seconds after the warm-up; none for a normal scenario. */
  faults: [number, number][];
  /** The breaker's state at a second, where the scenario trips it. */
  state?(second: number): BreakerState;
  /** What AnomalyDetector alone is fed: the bucket's mean latency or failure rate. */
  signal: 'latency' | 'errors';
  /** Targets this scenario is held to. */
  firstFlagTarget?: number;
}

const minutes = (m: number) => m * 60;

function sustained(
  name: string,
  change: Partial<Traffic>,
  lengthMinutes: number,
  signal: Scenario['signal'],
  firstFlagTarget: number
): Scenario {
  const start = minutes(10);
  const end = start + minutes(lengthMinutes);
  return {
    name: `${name}, ${lengthMinutes} min`,
    seconds: end + minutes(10),
    traffic: s => (s >= start && s < end ? { ...STEADY, ...change } : STEADY),
    faults: [[start, end]],
    signal,
    firstFlagTarget,
  };
}

const SCENARIOS: Scenario[] = [
  ...[5, 10, 30].flatMap(length => [
    sustained('latency ×1.5', { medianMillis: 30 }, length, 'latency', 15),
    sustained('latency ×2', { medianMillis: 40 }, length, 'latency', 5),
    sustained('latency ×5', { medianMillis: 100 }, length, 'latency', 5),
    sustained('errors 1% → 5%', { errorRate: 0.05 }, length, 'errors', 15),
    sustained('errors 1% → 20%', { errorRate: 0.2 }, length, 'errors', 5),
  ]),
  {
    name: 'short spikes (latency ×5 for 2 s every 5 min)',
    seconds: minutes(60),
    traffic: s => (s % 300 < 2 ? { ...STEADY, medianMillis: 100 } : STEADY),
    faults: [],
    signal: 'latency',
  },
  {
    name: 'slow ramp (latency ×1 → ×3 over 10 min)',
    seconds: minutes(30),
    traffic: s =>
      s >= 600 && s < 1200
        ? { ...STEADY, medianMillis: 20 * (1 + (2 * (s - 600)) / 600) }
        : STEADY,
    faults: [[600, 1200]],
    signal: 'latency',
  },
  {
    name: 'flapping (60% errors and open every other 3 s, 5 min)',
    seconds: minutes(20),
    traffic: s =>
      s >= 600 && s < 900 && Math.floor(s / 3) % 2 === 0
        ? { ...STEADY, errorRate: 0.6 }
        : STEADY,
    state: s =>
      s >= 600 && s < 900 && Math.floor(s / 3) % 2 === 0
        ? BreakerState.OPEN
        : BreakerState.CLOSED,
    faults: [[600, 900]],
    signal: 'errors',
  },
  {
    name: 'diurnal load (10 → 100 → 10 calls/s over 2 h)',
    seconds: minutes(120),
    traffic: s => ({
      ...STEADY,
      callsPerSecond: 55 - 45 * Math.cos((2 * Math.PI * s) / 7200),
    }),
    faults: [],
    signal: 'latency',
  },
  {
    name: 'low traffic (3 calls/s), latency ×2 for 10 min',
    seconds: minutes(40),
    traffic: s => ({
      ...STEADY,
      callsPerSecond: 3,
      medianMillis: s >= 600 && s < 1200 ? 40 : 20,
    }),
    faults: [[600, 1200]],
    signal: 'latency',
  },
  ...(
    [
      ['stationary, steady (50/s)', STEADY],
      ['stationary, sparse (5/s)', { ...STEADY, callsPerSecond: 5 }],
      ['stationary, busy (500/s)', { ...STEADY, callsPerSecond: 500 }],
      ['stationary, heavy tail (σ 0.8)', { ...STEADY, spread: 0.8 }],
      ['stationary, error-prone (5%)', { ...STEADY, errorRate: 0.05 }],
    ] as [string, Traffic][]
  ).map(
    ([name, traffic]): Scenario => ({
      name,
      seconds: minutes(360),
      traffic: () => traffic,
      faults: [],
      signal: 'latency',
    })
  ),
];

interface Outcome {
  firstFlagSeconds: number[];
  flaggedShare: number[];
  healthyAfterSeconds: number[];
  falseEpisodes: number;
  episodes: number;
  truePositiveEpisodes: number;
  faultsFound: number;
  hours: number;
}

/** Which fault (index) an episode starting at `second` belongs to, or -1. */
function faultOf(scenario: Scenario, second: number): number {
  return scenario.faults.findIndex(
    ([start, end]) => second >= start && second < end + GRACE_SECONDS
  );
}

function throughBreaker(scenario: Scenario, seed: number): Outcome {
  const clock = fakeTime();
  const collector = new CircuitBreakerMetrics({
    meterProvider: metricsApi.getMeterProvider(),
  });
  const breaker = collector.register('svc');
  const random = seededRandom(seed);
  const start = Date.now() + WARM_UP_SECONDS * 1000;
  const episodeStarts: number[] = [];
  collector.onAnomaly(e =>
    episodeStarts.push(Math.floor((e.startMillis - start) / 1000))
  );
  const healthy: boolean[] = [];
  try {
    for (let s = -WARM_UP_SECONDS; s < scenario.seconds; s++) {
      if (s >= 0 && scenario.state)
        breaker.recordStateChange(scenario.state(s));
      oneSecondOf(s < 0 ? STEADY : scenario.traffic(s), breaker, random);
      clock.tick(1000);
      if (s >= 0)
        healthy.push(collector.getHealth('svc')!.status === 'healthy');
    }
  } finally {
    collector.dispose();
    clock.restore();
  }
  return score(scenario, healthy, episodeStarts);
}

function throughDetector(scenario: Scenario, seed: number): Outcome {
  const detector = new AnomalyDetector();
  const random = seededRandom(seed);
  const episodeStarts: number[] = [];
  const healthy: boolean[] = [];
  const bucket = {
    calls: 0,
    failures: 0,
    latency: 0,
  };
  const recorder = {
    recordCall(outcome: string, millis?: number) {
      bucket.calls++;
      if (outcome === 'failure') bucket.failures++;
      else bucket.latency += millis!;
    },
  } as unknown as Parameters<typeof oneSecondOf>[1];
  for (let s = -WARM_UP_SECONDS; s < scenario.seconds; s++) {
    bucket.calls = bucket.failures = bucket.latency = 0;
    oneSecondOf(s < 0 ? STEADY : scenario.traffic(s), recorder, random);
    const value =
      scenario.signal === 'latency'
        ? bucket.latency / (bucket.calls - bucket.failures)
        : bucket.failures / bucket.calls;
    const result = detector.observe(value, s * 1000);
    if (result.phase === 'start')
      episodeStarts.push(Math.floor(result.episode!.startMillis / 1000));
    if (s >= 0) healthy.push(!result.anomalous);
  }
  return score(scenario, healthy, episodeStarts);
}

function score(
  scenario: Scenario,
  healthy: boolean[],
  episodeStarts: number[]
): Outcome {
  const outcome: Outcome = {
    firstFlagSeconds: [],
    flaggedShare: [],
    healthyAfterSeconds: [],
    falseEpisodes: 0,
    episodes: episodeStarts.length,
    truePositiveEpisodes: 0,
    faultsFound: 0,
    hours: (WARM_UP_SECONDS + scenario.seconds) / 3600,
  };
  for (const [start, end] of scenario.faults) {
    const first = healthy.slice(start, end).indexOf(false);
    outcome.firstFlagSeconds.push(first < 0 ? Infinity : first);
    outcome.flaggedShare.push(
      healthy.slice(start, end).filter(h => !h).length / (end - start)
    );
    const back = healthy.slice(end).indexOf(true);
    outcome.healthyAfterSeconds.push(back < 0 ? Infinity : back);
  }
  const found = new Set<number>();
  for (const second of episodeStarts) {
    const fault = faultOf(scenario, second);
    if (fault < 0) outcome.falseEpisodes++;
    else {
      outcome.truePositiveEpisodes++;
      found.add(fault);
    }
  }
  outcome.faultsFound = found.size;
  return outcome;
}

function row(scenario: Scenario, o: Outcome): string[] {
  const seconds = (values: number[]) =>
    values.length === 0
      ? '–'
      : values.map(v => (Number.isFinite(v) ? `${v}` : 'never')).join(', ');
  const faulted = scenario.faults.length > 0;
  return [
    scenario.name,
    seconds(o.firstFlagSeconds),
    faulted
      ? o.flaggedShare.map(share => `${(share * 100).toFixed(1)}%`).join(', ')
      : '–',
    seconds(o.healthyAfterSeconds),
    (o.falseEpisodes / o.hours).toFixed(2),
    o.episodes === 0
      ? '–'
      : `${((100 * o.truePositiveEpisodes) / o.episodes).toFixed(0)}%`,
    faulted ? `${o.faultsFound}/${scenario.faults.length}` : '–',
  ];
}

const HEADER = [
  'scenario',
  'first flag (s)',
  'fault flagged',
  'healthy after (s)',
  'false episodes/h',
  'precision',
  'recall',
];

function run(
  title: string,
  through: (scenario: Scenario, seed: number) => Outcome
) {
  const outcomes = SCENARIOS.map((scenario, i) => through(scenario, 7 + i));
  console.log(`\n${title}\n`);
  printTable(
    HEADER,
    SCENARIOS.map((scenario, i) => row(scenario, outcomes[i]))
  );
  const total = outcomes.reduce(
    (sum, o) => ({
      episodes: sum.episodes + o.episodes,
      truePositive: sum.truePositive + o.truePositiveEpisodes,
      faults: sum.faults + o.firstFlagSeconds.length,
      found: sum.found + o.faultsFound,
    }),
    { episodes: 0, truePositive: 0, faults: 0, found: 0 }
  );
  console.log(
    `\n  over all scenarios: precision ${((100 * total.truePositive) / total.episodes).toFixed(1)}% ` +
      `(${total.truePositive} of ${total.episodes} episodes during a fault), ` +
      `recall ${((100 * total.found) / total.faults).toFixed(1)}% (${total.found} of ${total.faults} faults)`
  );
  return SCENARIOS.map((scenario, i) => ({
    scenario: scenario.name,
    ...outcomes[i],
  }));
}

function checkTargets(results: ReturnType<typeof run>): void {
  console.log('\nTargets at the defaults (CircuitBreakerMetrics):');
  const misses: string[] = [];
  results.forEach((result, i) => {
    const scenario = SCENARIOS[i];
    const target = scenario.firstFlagTarget;
    if (target !== undefined && result.firstFlagSeconds[0] > target)
      misses.push(
        `${scenario.name}: first flag ${result.firstFlagSeconds[0]} s > ${target} s`
      );
    if (
      scenario.name.startsWith('latency') ||
      scenario.name.startsWith('errors')
    )
      result.flaggedShare.forEach(share => {
        if (share < 0.95)
          misses.push(
            `${scenario.name}: ${(share * 100).toFixed(1)}% of the fault flagged < 95%`
          );
      });
    result.healthyAfterSeconds.forEach(after => {
      if (after > 60)
        misses.push(`${scenario.name}: healthy again after ${after} s > 60 s`);
    });
    if (scenario.faults.length === 0 && result.falseEpisodes / result.hours > 1)
      misses.push(
        `${scenario.name}: ${(result.falseEpisodes / result.hours).toFixed(2)} false episodes/h > 1`
      );
  });
  console.log(
    misses.length === 0
      ? '  all met'
      : misses.map(miss => `  missed: ${miss}`).join('\n')
  );
}

const breakerResults = run(
  'CircuitBreakerMetrics at its defaults (health, onAnomaly episodes), 50 calls/s unless said, after 1 h of normal traffic:',
  throughBreaker
);
checkTargets(breakerResults);
const detectorResults = run(
  "AnomalyDetector alone at its defaults, fed each second's mean latency (or failure rate for error scenarios):",
  throughDetector
);
console.log(
  '\nAnomalyDetector alone at its defaults on stream families, 6 h each at 1 value/s (values to raise a shift: median / 90th percentile / worst of 20):\n'
);
const families = familyRows();
const delays = (d: number[]) =>
  d.map(v => (Number.isFinite(v) ? `${v}` : 'never')).join(' / ');
printTable(
  [
    'stream',
    'false episodes/h',
    '×2 raised after (values)',
    '×1.5 raised after (values)',
  ],
  families.map(f => [
    f.stream,
    f.falsePerHour.toFixed(2),
    delays(f.double),
    delays(f.half),
  ])
);
console.log(
  `\nThe bound on the same families: a CUSUM of the exact likelihood ratio, given both levels' distributions (the least worst-case mean delay at a false-alarm rate; bench/oracleBound.ts), its threshold the lowest with ≤ 1 false alarm an hour over 24 h (values to raise a shift: median / 90th percentile of 200):\n`
);
const oracle = oracleRows();
printTable(
  [
    'stream',
    'oracle false alarms/h',
    'oracle ×2 raised after',
    'oracle ×1.5 raised after',
    'AnomalyDetector ×2 (90th pct)',
  ],
  oracle.map(o => [
    o.stream,
    o.falsePerHour.toFixed(2),
    delays(o.double),
    delays(o.half),
    delays([families.find(f => f.stream === o.stream)!.double[1]]),
  ])
);
const nab = loadNab();
let realData: ReturnType<typeof realDataRows> | undefined;
if (nab === undefined) {
  console.log(
    '\nReal labelled data: bench/data/nab is missing; run bench/fetch-nab.sh (see bench/README.md).'
  );
} else {
  console.log(
    `\nReal labelled operations data: NAB realAWSCloudwatch + realKnownCause, ${nab.length} series, ${nab.reduce((n, s) => n + s.values.length, 0)} rows, one row per observation (an episode overlapping a labelled window is a hit):\n`
  );
  realData = realDataRows(nab);
  const percent = (v: number) =>
    Number.isNaN(v) ? '–' : `${(100 * v).toFixed(0)}%`;
  printTable(
    [
      'method',
      'setting',
      'scored on',
      'recall',
      'precision',
      'false episodes/day',
    ],
    realData.map(r => [
      r.method,
      r.setting,
      r.scoredOn,
      percent(r.recall),
      percent(r.precision),
      r.falsePerDay.toFixed(2),
    ])
  );
}
writeResults('detection', {
  breaker: breakerResults,
  detector: detectorResults,
  oracle,
  families,
  realData,
});

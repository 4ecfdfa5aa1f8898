/**
 * Episode detection on real, labelled operations series: the Numenta
 * Anomaly Benchmark's realAWSCloudwatch (CPU, disk, network, request
 * counts, 5-minute CloudWatch samples) and realKnownCause (request latency,
 * CPU, machine temperature, taxi demand, …), with NAB's labelled anomaly
 * windows. Copied by bench/fetch-nab.sh into bench/data/nab (see README).
 *
 * Each series is fed one row per observation with its own timestamps. An
 * episode that overlaps a labelled window is a hit, any other a false
 * alarm; recall is per labelled window, precision per episode, false
 * episodes per day of data. "Tuned" is the best of a small grid by F1 on
 * the even-numbered series (sorted by name), scored on the odd ones
 * (held out); defaults are scored on the same held-out half and on all.
 */
import { existsSync, readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import { AnomalyDetector } from '../src';
import type { AnomalyDetectorOptions } from '../src';

/** The package root, from the sources (ts-node) or from build/bench. */
const ROOT = join(__dirname, __dirname.includes('build') ? '../..' : '..');
const DATA = join(ROOT, 'bench', 'data', 'nab');
const SETS = ['realAWSCloudwatch', 'realKnownCause'];
const DAY = 86_400_000;

interface Series {
  name: string;
  times: number[];
  values: number[];
  windows: [number, number][];
}

/** [start, end] of each episode, in ms. */
type Episodes = [number, number][];
/** A method: its episodes on one series. */
type Method = (series: Series) => Episodes;

const parseTime = (text: string) =>
  Date.parse(text.trim().replace(' ', 'T') + 'Z');

export function loadNab(): Series[] | undefined {
  if (!existsSync(join(DATA, 'labels', 'combined_windows.json')))
    return undefined;
  const labels = JSON.parse(
    readFileSync(join(DATA, 'labels', 'combined_windows.json'), 'utf8')
  ) as Record<string, [string, string][]>;
  const series: Series[] = [];
  for (const set of SETS)
    for (const file of readdirSync(join(DATA, 'data', set)).sort()) {
      const rows = readFileSync(join(DATA, 'data', set, file), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map(line => line.split(','));
      series.push({
        name: `${set}/${file}`,
        times: rows.map(r => parseTime(r[0])),
        values: rows.map(r => Number(r[1])),
        windows: (labels[`${set}/${file}`] ?? []).map(
          ([a, b]) => [parseTime(a), parseTime(b)] as [number, number]
        ),
      });
    }
  return series;
}

function detector(options: AnomalyDetectorOptions): Method {
  return series => {
    const d = new AnomalyDetector(options);
    const episodes: Episodes = [];
    let open: number | undefined;
    series.values.forEach((value, i) => {
      const r = d.observe(value, series.times[i]);
      if (r.phase === 'start') open = r.episode!.startMillis;
      else if (r.phase === 'end' && open !== undefined) {
        episodes.push([open, series.times[i]]);
        open = undefined;
      }
    });
    if (open !== undefined)
      episodes.push([open, series.times[series.times.length - 1]]);
    return episodes;
  };
}

/**
 * A rolling Gaussian: mean and σ of the last `window` values; a value at
 * |z| ≥ `z` is flagged, and flags less than `gap` values apart are one
 * episode. With gap 1 it is the plain rolling z-score.
 */
function rollingGaussian(window: number, z: number, gap: number): Method {
  return series => {
    const episodes: Episodes = [];
    let sum = 0;
    let squares = 0;
    let open: [number, number] | undefined;
    let lastFlag = -Infinity;
    series.values.forEach((value, i) => {
      if (i >= window) {
        const mean = sum / window;
        const sigma = Math.sqrt(Math.max(0, squares / window - mean * mean));
        const flagged =
          sigma > 0 ? Math.abs(value - mean) / sigma >= z : value !== mean;
        if (flagged) {
          if (open && i - lastFlag <= gap) open[1] = series.times[i];
          else {
            if (open) episodes.push(open);
            open = [series.times[i], series.times[i]];
          }
          lastFlag = i;
        }
        const old = series.values[i - window];
        sum -= old;
        squares -= old * old;
      }
      sum += value;
      squares += value * value;
    });
    if (open) episodes.push(open);
    return episodes;
  };
}

interface Score {
  windows: number;
  found: number;
  episodes: number;
  hits: number;
  days: number;
}

function score(method: Method, all: Series[]): Score {
  const total: Score = { windows: 0, found: 0, episodes: 0, hits: 0, days: 0 };
  for (const series of all) {
    const episodes = method(series);
    const overlaps = ([a, b]: [number, number], [c, d]: [number, number]) =>
      a <= d && c <= b;
    total.windows += series.windows.length;
    total.found += series.windows.filter(w =>
      episodes.some(e => overlaps(e, w))
    ).length;
    total.episodes += episodes.length;
    total.hits += episodes.filter(e =>
      series.windows.some(w => overlaps(e, w))
    ).length;
    total.days +=
      (series.times[series.times.length - 1] - series.times[0]) / DAY;
  }
  return total;
}

const recall = (s: Score) => s.found / s.windows;
const precision = (s: Score) => (s.episodes === 0 ? NaN : s.hits / s.episodes);
const f1 = (s: Score) => {
  const p = precision(s);
  const r = recall(s);
  return p + r > 0 ? (2 * p * r) / (p + r) : 0;
};

interface Candidate {
  label: string;
  method: Method;
}

const GRIDS: { name: string; defaults: Candidate; grid: Candidate[] }[] = [
  {
    name: 'AnomalyDetector (rank + CUSUM)',
    defaults: { label: 'defaults', method: detector({}) },
    grid: [120, 480].flatMap(windowSize =>
      [4, 6, 10, 20, 40].flatMap(decisionInterval =>
        [0.75, 1.5].map(reference => ({
          label: `windowSize ${windowSize}, decisionInterval ${decisionInterval}, reference ${reference}`,
          method: detector({ windowSize, decisionInterval, reference }),
        }))
      )
    ),
  },
  {
    name: 'AnomalyDetector before (z-score streak)',
    defaults: {
      label: "rule 'consecutive', median/MAD of 60, |z| ≥ 2 ×3",
      method: detector({
        rule: 'consecutive',
        baseline: 'robust',
        windowSize: 60,
        minBaseline: 10,
      }),
    },
    grid: [2, 3, 4].flatMap(threshold =>
      [3, 5, 10].map(consecutive => ({
        label: `|z| ≥ ${threshold} ×${consecutive}`,
        method: detector({
          rule: 'consecutive',
          baseline: 'robust',
          windowSize: 60,
          minBaseline: 10,
          threshold,
          consecutive,
        }),
      }))
    ),
  },
  {
    name: 'rolling z-score',
    defaults: {
      label: 'last 60 values, |z| ≥ 3',
      method: rollingGaussian(60, 3, 1),
    },
    grid: [60, 240, 1000].flatMap(w =>
      [3, 4, 5].map(z => ({
        label: `last ${w}, |z| ≥ ${z}`,
        method: rollingGaussian(w, z, 1),
      }))
    ),
  },
  {
    name: 'rolling Gaussian window',
    defaults: {
      label:
        'last 500 values, tail p < 0.001 (|z| ≥ 3.29), flags within 12 values one episode',
      method: rollingGaussian(500, 3.29, 12),
    },
    grid: [250, 1000, 4000].flatMap(w =>
      [3.29, 4, 5].map(z => ({
        label: `last ${w}, |z| ≥ ${z}, gap 12`,
        method: rollingGaussian(w, z, 12),
      }))
    ),
  },
  {
    name: 'flags nothing',
    defaults: { label: '–', method: () => [] },
    grid: [],
  },
];

export interface RealDataRow {
  method: string;
  setting: string;
  scoredOn: string;
  recall: number;
  precision: number;
  falsePerDay: number;
}

export function realDataRows(all: Series[]): RealDataRow[] {
  const tuning = all.filter((_, i) => i % 2 === 0);
  const heldOut = all.filter((_, i) => i % 2 === 1);
  const rows: RealDataRow[] = [];
  const row = (method: string, setting: string, scoredOn: string, s: Score) =>
    rows.push({
      method,
      setting,
      scoredOn,
      recall: recall(s),
      precision: precision(s),
      falsePerDay: (s.episodes - s.hits) / s.days,
    });
  for (const { name, defaults, grid } of GRIDS) {
    row(name, defaults.label, 'all', score(defaults.method, all));
    row(name, defaults.label, 'held-out half', score(defaults.method, heldOut));
    if (grid.length === 0) continue;
    let best = grid[0];
    let bestF1 = -1;
    for (const candidate of grid) {
      const f = f1(score(candidate.method, tuning));
      if (f > bestF1) {
        bestF1 = f;
        best = candidate;
      }
    }
    row(
      name,
      `tuned: ${best.label}`,
      'held-out half',
      score(best.method, heldOut)
    );
  }
  return rows;
}

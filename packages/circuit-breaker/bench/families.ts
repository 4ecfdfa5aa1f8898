/**
 * AnomalyDetector at its defaults on the stationary stream families of
 * issue 23, 6 h each at 1 value/s, seeded: false episodes an hour, and how
 * many values after a ×2 and a ×1.5 level shift an episode is raised
 * (median / 90th percentile / worst of 20 shifts). Part of bench:detection.
 */
import { AnomalyDetector } from '../src';
import type { AnomalyDetectorOptions } from '../src';
import {
  FAMILIES,
  cycle,
  delay,
  meanOf,
  p99Of,
  poisson,
  run,
} from '../test/streams';
import type { Stream } from '../test/streams';

const HOURS = 6;
const TRIALS = 20;

export interface FamilyRow {
  stream: string;
  falsePerHour: number;
  /** Values to raise a ×2 / ×1.5 shift: median, 90th percentile, worst. */
  double: [number, number, number];
  half: [number, number, number];
}

/** Median, 90th percentile and worst of `values`. */
export function spread(values: number[]): [number, number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  return [
    sorted[Math.floor(sorted.length / 2)],
    sorted[Math.ceil(0.9 * sorted.length) - 1],
    sorted[sorted.length - 1],
  ];
}

export function familyRows(options: AnomalyDetectorOptions = {}): FamilyRow[] {
  const make = () => new AnomalyDetector(options);
  const rows: FamilyRow[] = [];
  const add = (
    name: string,
    stream: Stream,
    value: (r: () => number, s: number) => number,
    seed: number
  ) => {
    const detector = make();
    const { starts } = run(seed, HOURS * 3600, value, (v, t) =>
      detector.observe(v, t)
    );
    const delays = (shift: number) =>
      spread(
        Array.from({ length: TRIALS }, (_, trial) => {
          const d = make();
          return delay(seed * 100 + trial, stream, shift, (v, t) =>
            d.observe(v, t)
          );
        })
      );
    rows.push({
      stream: name,
      falsePerHour: starts.length / HOURS,
      double: delays(2),
      half: delays(1.5),
    });
  };
  FAMILIES.forEach((stream, i) =>
    add(stream.name, stream, r => stream.draw(r, 1), 101 + i)
  );
  const daily = meanOf(20, 0.8);
  add(`${daily.name}, daily cycle ±50%`, daily, cycle(daily, 0.5, 86_400), 201);
  const dailyCounts = poisson(5);
  add(
    `${dailyCounts.name}, daily cycle ±50%`,
    dailyCounts,
    cycle(dailyCounts, 0.5, 86_400),
    202
  );
  for (const [amplitude, seed] of [
    [0.1, 203],
    [0.2, 204],
  ]) {
    const hourly = meanOf(50, 0.3);
    add(
      `${hourly.name}, hourly cycle ±${amplitude * 100}%`,
      hourly,
      cycle(hourly, amplitude, 3600),
      seed
    );
    const hourlyP99 = p99Of(20, 0.8);
    add(
      `${hourlyP99.name}, hourly cycle ±${amplitude * 100}%`,
      hourlyP99,
      cycle(hourlyP99, amplitude, 3600),
      seed + 10
    );
  }
  for (const [stream, seed] of [
    [meanOf(50, 0.3), 205],
    [poisson(5), 206],
  ] as [Stream, number][])
    add(
      `${stream.name}, ×5 spike every 200 s`,
      stream,
      (r, s) => stream.draw(r, 1) * (s % 200 === 100 ? 5 : 1),
      seed
    );
  return rows;
}

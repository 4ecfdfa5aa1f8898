import {
  RECORDS_PER_TICK,
  SERIES_SEED,
  TICK_MILLIS,
  seededIntegers,
} from './workload';

/** Records one value into series `series` (0 ≤ series < N) on some path. */
export type RecordInto = (series: number, value: number) => void;

/**
 * The workload's records on a timer: every 10 ms, what is due since the
 * start at 20,000 records/s (a tick that came late catches up, so every
 * path makes the same records in the same time, as a service's requests
 * would queue), each to a series drawn from a seeded sequence.
 */
export class RecordLoad {
  private readonly _record: RecordInto;
  private readonly _seriesCount: number;
  private readonly _values: Float64Array;
  private readonly _nextSeries = seededIntegers(SERIES_SEED);
  private _timer: ReturnType<typeof setInterval> | undefined;
  private _startMillis = 0;
  private _made = 0;

  /** `values`: the workload's latencies, made before memory is measured (they are the application's). */
  constructor(record: RecordInto, seriesCount: number, values: Float64Array) {
    this._record = record;
    this._seriesCount = seriesCount;
    this._values = values;
  }

  /** Records made so far. */
  get made(): number {
    return this._made;
  }

  start(): void {
    this._startMillis = performance.now();
    this._timer = setInterval(() => this._tick(), TICK_MILLIS);
  }

  stop(): void {
    clearInterval(this._timer);
  }

  private _tick(): void {
    const due = Math.floor(
      ((performance.now() - this._startMillis) / TICK_MILLIS) * RECORDS_PER_TICK
    );
    const values = this._values;
    const mask = values.length - 1;
    const n = this._seriesCount;
    for (let made = this._made; made < due; made++)
      this._record(this._nextSeries() % n, values[made & mask]);
    this._made = Math.max(this._made, due);
  }
}

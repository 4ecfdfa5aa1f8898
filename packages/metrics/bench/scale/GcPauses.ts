import { PerformanceObserver, constants } from 'node:perf_hooks';

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

export interface GcReading {
  /** The longest pause in the window, in ms, and its kind. */
  longestMillis: number;
  longestKind: string;
  /** All pauses in the window, in ms. */
  totalMillis: number;
  count: number;
}

/**
 * GC pauses as Node reports them (`gc` performance entries: the time the
 * main thread spent in each collection), kept from start() to stop() by
 * their start time. Forces nothing.
 */
export class GcPauses {
  private readonly _reading: GcReading = {
    longestMillis: 0,
    longestKind: 'none',
    totalMillis: 0,
    count: 0,
  };
  private readonly _observer = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) {
      if (
        entry.startTime < this._fromMillis ||
        entry.startTime > this._toMillis
      )
        continue;
      const reading = this._reading;
      reading.count++;
      reading.totalMillis += entry.duration;
      if (entry.duration > reading.longestMillis) {
        reading.longestMillis = entry.duration;
        const kind =
          (entry as { detail?: { kind?: number } }).detail?.kind ?? -1;
        reading.longestKind = KINDS[kind] ?? String(kind);
      }
    }
  });
  private _fromMillis = Infinity;
  private _toMillis = Infinity;

  constructor() {
    this._observer.observe({ entryTypes: ['gc'] });
  }

  start(): void {
    this._fromMillis = performance.now();
  }

  stop(): void {
    this._toMillis = performance.now();
  }

  /**
   * The pauses that began in the window; waits a moment first, since
   * entries are delivered after the collection they describe.
   */
  async read(): Promise<GcReading> {
    await new Promise(resolve => setTimeout(resolve, 100));
    this._observer.disconnect();
    return { ...this._reading };
  }
}

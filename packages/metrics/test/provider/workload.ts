import type { Attributes, Meter } from '@opentelemetry/api';

/**
 * A seeded workload for the equivalence tests: every instrument kind,
 * attribute sets that come and go (so series expire), and more sets than
 * the series limit (so they overflow), recorded alike into any number of
 * meters. It imports only the OpenTelemetry API, so the end-to-end suite
 * can drive the built package with it.
 */

/** Options both paths share (a provider's, a reader's). */
export const WORKLOAD_OPTIONS = {
  collectionIntervalMillis: 1000,
  exportIntervalMillis: 2000,
  seriesTtlMillis: 4000,
  limits: { maxSeriesPerMetric: 5 },
};

/** Fake time between steps. */
export const STEP_MILLIS = 500;
/** Steps in a run: 40 s of fake time, 20 collections and 10 exports. */
export const STEPS = 80;

/** mulberry32: a small seeded PRNG returning [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What was recorded into the series that never expire nor overflow, step by step. */
export interface Ledger {
  /** Per step: route → what `requests` got. */
  requests: Map<string, number>[];
  /** Per step: route → the values `latency` got. */
  latency: Map<string, number[]>[];
}

/** The routes recorded at every step: never idle long enough to expire. */
export const ROUTES = ['/a', '/b', '/c'];

/** Observable state, read by the callbacks of every meter alike. */
interface Observed {
  cpu: Map<string, number>;
  connections: Map<string, number>;
  memory: Map<string, number>;
}

/**
 * The instruments, made on every meter given; each step records the same
 * measurements into all of them, and each collection's callbacks observe
 * the same state.
 */
export class Workload {
  readonly ledger: Ledger = { requests: [], latency: [] };
  private readonly _random: () => number;
  private readonly _observedChurn: boolean;
  private readonly _record: ((value: number, attributes: Attributes) => void)[];
  private readonly _observed: Observed = {
    cpu: new Map(),
    connections: new Map(),
    memory: new Map(),
  };

  /**
   * @param observedChurn observable sets that come and go too (the
   *   SDK's MeterProvider does not say which metrics are observable).
   */
  constructor(
    meters: Meter[],
    { observedChurn = false, seed = 20261207 } = {}
  ) {
    this._random = seededRandom(seed);
    this._observedChurn = observedChurn;
    const each = <T>(make: (meter: Meter) => T): T[] => meters.map(make);
    const requests = each(m =>
      m.createCounter('requests', { unit: '{request}' })
    );
    const tenants = each(m =>
      m.createCounter('tenant.requests', {
        unit: '{request}',
        description: 'Requests by tenant',
      })
    );
    const queue = each(m => m.createUpDownCounter('queue.depth'));
    const latency = each(m => m.createHistogram('latency', { unit: 'ms' }));
    const jobs = each(m => m.createHistogram('job.duration', { unit: 's' }));
    const temperature = each(m =>
      m.createGauge('temperature', { unit: 'Cel' })
    );
    this._record = [
      (v, a) => requests.forEach(i => i.add(v, a)),
      (v, a) => tenants.forEach(i => i.add(v, a)),
      (v, a) => queue.forEach(i => i.add(v, a)),
      (v, a) => latency.forEach(i => i.record(v, a)),
      (v, a) => jobs.forEach(i => i.record(v, a)),
      (v, a) => temperature.forEach(i => i.record(v, a)),
    ];
    const observe =
      (state: Map<string, number>, key: string) =>
      (result: { observe(value: number, attributes: Attributes): void }) => {
        for (const [value, total] of state)
          result.observe(total, { [key]: value });
      };
    for (const meter of meters) {
      meter
        .createObservableCounter('cpu.time', { unit: 's' })
        .addCallback(observe(this._observed.cpu, 'cpu'));
      meter
        .createObservableUpDownCounter('connections')
        .addCallback(observe(this._observed.connections, 'pool'));
      meter
        .createObservableGauge('memory.usage', { unit: 'By' })
        .addCallback(observe(this._observed.memory, 'area'));
    }
  }

  /**
   * Step `k`: every route, tenants from a window of 6 that slides every 2
   * steps (more than the 4 series a metric keeps besides its overflow),
   * queues, jobs and sensors from windows that slide too, and the
   * observable state: two cores always and, with `observedChurn`, a worker
   * that changes every 8 steps (its series is no longer observed, then
   * expires).
   */
  step(k: number): void {
    const r = this._random;
    const [requests, tenants, queue, latency, jobs, temperature] = this._record;
    const stepRequests = new Map<string, number>();
    const stepLatency = new Map<string, number[]>();
    for (const route of ROUTES) {
      const n = 1 + Math.floor(r() * 5);
      requests(n, { route });
      stepRequests.set(route, n);
      const values: number[] = [];
      for (let i = 0; i < 5; i++) {
        const ms = Math.exp(1 + 4 * r());
        latency(ms, { route });
        values.push(ms);
      }
      stepLatency.set(route, values);
    }
    this.ledger.requests.push(stepRequests);
    this.ledger.latency.push(stepLatency);
    for (let i = 0; i < 3; i++) {
      const tenant = `t${Math.floor(k / 2) + Math.floor(r() * 6)}`;
      tenants(1 + Math.floor(r() * 10), { tenant });
    }
    queue(Math.round(r() * 10) - 5, {
      queue: `q${Math.floor(k / 6) + Math.floor(r() * 3)}`,
    });
    jobs(0.01 + r(), { job: `j${Math.floor(k / 3) + Math.floor(r() * 5)}` });
    temperature(15 + 10 * r(), {
      sensor: `s${Math.floor(k / 5) + Math.floor(r() * 6)}`,
    });
    const { cpu, connections, memory } = this._observed;
    for (const core of ['0', '1']) cpu.set(core, (cpu.get(core) ?? 0) + r());
    if (this._observedChurn) {
      const worker = `w${Math.floor(k / 8)}`;
      if (!cpu.has(worker))
        for (const key of cpu.keys()) if (key.startsWith('w')) cpu.delete(key);
      cpu.set(worker, (cpu.get(worker) ?? 0) + 2 * r());
    }
    for (const pool of ['a', 'b'])
      connections.set(
        pool,
        (connections.get(pool) ?? 0) + Math.round(r() * 6) - 3
      );
    memory.set('heap', 1e6 * (1 + r()));
    memory.set('rss', 2e6 * (1 + r()));
  }
}

/** What the driver needs of a pipeline: a collection and an export, each awaited. */
export interface Pipeline {
  collect(): Promise<unknown>;
  flush(): Promise<void>;
}

/**
 * Runs the workload on `pipelines` in lockstep: a step every STEP_MILLIS
 * of fake time (`setTime` moves Date.now), a collection every
 * collectionIntervalMillis and an export every exportIntervalMillis, at the
 * same instants for every pipeline, as their own timers would.
 */
export async function runLockstep(
  workload: Workload,
  pipelines: Pipeline[],
  startMillis: number,
  setTime: (millis: number) => void
): Promise<void> {
  const { collectionIntervalMillis, exportIntervalMillis } = WORKLOAD_OPTIONS;
  for (let k = 0; k < STEPS; k++) {
    workload.step(k);
    const elapsed = (k + 1) * STEP_MILLIS;
    setTime(startMillis + elapsed);
    if (elapsed % collectionIntervalMillis === 0)
      for (const pipeline of pipelines) await pipeline.collect();
    if (elapsed % exportIntervalMillis === 0)
      for (const pipeline of pipelines) await pipeline.flush();
  }
}

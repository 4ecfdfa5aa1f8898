/**
 * The real clock and macrotask queue, taken when this module loads: a test
 * that installs fake timers later (sinon's useFakeTimers fakes setImmediate
 * and performance too) must not freeze work that only yields to the loop.
 */
const now = performance.now.bind(performance);
const realSetImmediate = setImmediate;

/** How long one slice may run before it yields, by default. */
export const DEFAULT_SLICE_MILLIS = 4;
/** Steps between clock reads: a step is small, a clock read is not free. */
const STEPS_PER_CLOCK_READ = 8;

/**
 * How long sliced work (every task's) has run in the current turn of the
 * event loop. Tasks run one after the other in a chain of awaits (build a
 * batch, export it, settle it, build the next) never give the loop a turn
 * between them if each is shorter than a slice: the budget is the turn's,
 * shared by every task, not each task's. Only sliced work counts: the
 * host's own code in the same turn (a timer's callback, a test ticking a
 * fake clock) is not ours to cut short.
 */
let turnUsedMillis = 0;
let turnOpen = false;
/** Tasks whose run() has not returned. */
let runningTasks = 0;

/**
 * Sliced tasks running now. A test that advances fake time waits for this
 * to reach 0: slices yield to the real event loop, which fake time does not
 * turn.
 */
export function slicedTasksRunning(): number {
  return runningTasks;
}

/** What is left of this turn's budget for work sliced at `sliceMillis`. */
function turnBudget(sliceMillis: number): number {
  if (!turnOpen) {
    turnOpen = true;
    turnUsedMillis = 0;
    // Queued before any slice of this turn yields: it runs first next turn.
    realSetImmediate(() => (turnOpen = false));
  }
  return sliceMillis - turnUsedMillis;
}

/**
 * Long work cut into slices of a few milliseconds that yield to the event
 * loop between them, so the host's own callbacks never wait long. The work
 * is a generator that `yield`s wherever it may pause (between series, say)
 * and returns its result. Whoever needs a consistent state at once (a
 * synchronous query, say) calls {@link finish} to run what is left now.
 */
export class SlicedTask<T> {
  private readonly _work: Generator<unknown, T, undefined>;
  private readonly _sliceMillis: number;
  private _done = false;
  private _result: T | undefined;
  /** What the work threw, for every caller that waits on it. */
  private _failure: { error: unknown } | undefined;

  constructor(
    work: Generator<unknown, T, undefined>,
    sliceMillis = DEFAULT_SLICE_MILLIS
  ) {
    this._work = work;
    this._sliceMillis = sliceMillis;
  }

  get done(): boolean {
    return this._done;
  }

  /**
   * Runs the work to its end, slice by slice; rejects if it throws. A
   * slice ends when this turn of the event loop has run sliced work (this
   * task's or others') for the slice's length.
   */
  async run(): Promise<T> {
    // A task's first steps run where it starts, whatever the turn has used:
    // a small task (a tick's bucket closes) finishes at once, as its caller
    // expects; a long one yields after them.
    let started = false;
    runningTasks++;
    try {
      while (!this._done) {
        const budget = turnBudget(this._sliceMillis);
        if (started && budget <= 0) {
          await yieldToEventLoop();
          continue;
        }
        started = true;
        const start = now();
        let time = start;
        do {
          for (let i = 0; i < STEPS_PER_CLOCK_READ && !this._done; i++)
            this._step();
          time = now();
        } while (!this._done && time - start < budget);
        turnUsedMillis += time - start;
      }
    } finally {
      runningTasks--;
    }
    return this._outcome();
  }

  /** Runs whatever is left in one block and returns the result. */
  finish(): T {
    while (!this._done) this._step();
    return this._outcome();
  }

  private _outcome(): T {
    if (this._failure) throw this._failure.error;
    return this._result as T;
  }

  private _step(): void {
    let next: IteratorResult<unknown, T>;
    try {
      next = this._work.next();
    } catch (error) {
      this._done = true;
      this._failure = { error };
      return;
    }
    if (next.done) {
      this._done = true;
      this._result = next.value;
    }
  }
}

/** Resolves after the event loop has run what was waiting (a macrotask turn). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise(resolve => realSetImmediate(resolve));
}

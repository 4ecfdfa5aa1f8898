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
 * When the current turn of the event loop began to run sliced work, and
 * whether it is still that turn. Tasks run one after the other in a chain
 * of awaits (build a batch, export it, settle it, build the next) never
 * give the loop a turn between them if each is shorter than a slice: the
 * budget is the turn's, shared by every task, not each task's.
 */
let turnStart = 0;
let turnOpen = false;

/** The end of this turn's budget for work sliced at `sliceMillis`. */
function turnDeadline(sliceMillis: number): number {
  if (!turnOpen) {
    turnOpen = true;
    turnStart = now();
    // Queued before any slice of this turn yields: it runs first next turn.
    realSetImmediate(() => (turnOpen = false));
  }
  return turnStart + sliceMillis;
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
    while (!this._done) {
      const deadline = turnDeadline(this._sliceMillis);
      if (now() >= deadline) {
        await yieldToEventLoop();
        continue;
      }
      do {
        for (let i = 0; i < STEPS_PER_CLOCK_READ && !this._done; i++)
          this._step();
      } while (!this._done && now() < deadline);
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

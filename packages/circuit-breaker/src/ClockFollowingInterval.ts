type SetInterval = typeof setInterval;
type ClearInterval = typeof clearInterval;
type Handle = ReturnType<SetInterval>;

/** How often a watchdog on the real timers checks which timers are installed. */
const FOLLOW_MILLIS = 1000;

/**
 * The real timer function behind `name`: @sinonjs/fake-timers (sinon, Jest)
 * marks the functions it installs with their `clock`, which keeps the
 * original as `_<name>`. So the watchdog is real even if this module is
 * first loaded under fake timers.
 */
function realTimer<T>(name: 'setInterval' | 'clearInterval'): T {
  const installed = globalThis[name] as T & {
    clock?: Record<string, unknown>;
  };
  return (installed.clock?.[`_${name}`] as T | undefined) ?? installed;
}

const realSetInterval = realTimer<SetInterval>('setInterval');
const realClearInterval = realTimer<ClearInterval>('clearInterval');
const running = new Set<ClockFollowingInterval>();
let watchdog: Handle | undefined;

/**
 * An unref'd interval on whichever timers are installed now: the fake ones
 * while a test has them (clock.tick() drives it), the real ones again within
 * a second of `clock.restore()`, and the other way round. A plain
 * setInterval started under fake timers would never fire after they are
 * restored, and would never be restarted either.
 */
export class ClockFollowingInterval {
  private readonly _tick: () => void;
  private readonly _millis: number;
  private _handle: Handle | undefined;
  private _armedWith: SetInterval | undefined;
  private _clear: ClearInterval = clearInterval;

  constructor(tick: () => void, millis: number) {
    this._tick = tick;
    this._millis = millis;
  }

  start(): void {
    if (this._handle !== undefined) return;
    this._arm();
    running.add(this);
    if (watchdog === undefined) {
      watchdog = realSetInterval(followInstalledTimers, FOLLOW_MILLIS);
      watchdog.unref();
    }
  }

  stop(): void {
    if (this._handle === undefined) return;
    this._clear(this._handle);
    this._handle = undefined;
    running.delete(this);
    if (running.size === 0 && watchdog !== undefined) {
      realClearInterval(watchdog);
      watchdog = undefined;
    }
  }

  /** Moves to the timers installed now, if they are not the ones it runs on. */
  follow(): void {
    if (
      this._handle === undefined ||
      globalThis.setInterval === this._armedWith
    )
      return;
    this._clear(this._handle);
    this._arm();
  }

  private _arm(): void {
    this._armedWith = globalThis.setInterval;
    this._clear = globalThis.clearInterval;
    this._handle = this._armedWith(this._tick, this._millis);
    this._handle.unref();
  }
}

function followInstalledTimers(): void {
  for (const interval of running) interval.follow();
}

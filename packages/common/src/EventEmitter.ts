import type { RateLimitedDiag } from './RateLimitedDiag';

/** Something that can be undone, such as a listener subscription. */
export interface IDisposable {
  dispose(): void;
}

/** A typed event: subscribe with a listener, unsubscribe by disposing. */
export type Event<T> = (listener: (value: T) => void) => IDisposable;

/**
 * Emits typed events to listeners, in the style of cockatiel's events: the
 * public side is {@link event}, a function that subscribes. A listener that
 * throws is reported (rate-limited) and does not stop the others or the
 * emitter's caller.
 */
export class EventEmitter<T> {
  private readonly _listeners = new Set<(value: T) => void>();
  private readonly _diag: RateLimitedDiag;
  private readonly _name: string;

  /** @param name names the event in reports of throwing listeners. */
  constructor(name: string, diag: RateLimitedDiag) {
    this._name = name;
    this._diag = diag;
  }

  /** Subscribes a listener; dispose() of the result unsubscribes it. */
  readonly event: Event<T> = listener => {
    if (typeof listener !== 'function') {
      throw new TypeError(`${this._name}: a listener must be a function`);
    }
    const own = (value: T) => listener(value);
    this._listeners.add(own);
    return { dispose: () => void this._listeners.delete(own) };
  };

  get size(): number {
    return this._listeners.size;
  }

  emit(value: T): void {
    for (const listener of this._listeners) {
      try {
        listener(value);
      } catch (error) {
        this._diag.error(
          `listener:${this._name}`,
          `a ${this._name} listener threw: ${textOf(error)}`
        );
      }
    }
  }
}

/** What a listener threw, as text; a thrown Proxy or a throwing toString must not escape emit(). */
function textOf(error: unknown): string {
  try {
    return String(error);
  } catch {
    return 'an unreadable value';
  }
}

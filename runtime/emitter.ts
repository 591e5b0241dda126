/**
 * A small typed event emitter with Node's method names, so the client runs in browsers without
 * an `events` polyfill. Unlike Node's, emitting 'error' with no listener does not throw: a client
 * without an error listener must not take the process down (its errors go to `debug` instead).
 */

/** Any listener: `never[]` parameters accept every function type; the event map types each one. */
type Listener = (...args: never[]) => void;
type Callable = (...args: unknown[]) => void;
export type EventMap = { [event: string]: Listener };

/** The table of an emitter without listeners, shared; never written to (see `set_`). */
const NO_LISTENERS = new Map<unknown, Listener[]>();

export class TypedEmitter<Events extends EventMap> {
  private table_ = NO_LISTENERS as Map<keyof Events, Listener[]>;

  /** Called for an 'error' that no listener takes. */
  protected unhandledError_(_error: unknown): void {}

  /** Every write to the table goes through here: the first one gives the emitter its own. */
  private set_(event: keyof Events, list: Listener[]): void {
    if (this.table_ === NO_LISTENERS) this.table_ = new Map();
    this.table_.set(event, list);
  }

  on<E extends keyof Events>(event: E, listener: Events[E]): this {
    // Copy on write: an emit in progress keeps iterating its own array.
    const list = this.table_.get(event);
    this.set_(event, list ? [...list, listener] : [listener]);
    return this;
  }

  addListener<E extends keyof Events>(event: E, listener: Events[E]): this {
    return this.on(event, listener);
  }

  prependListener<E extends keyof Events>(event: E, listener: Events[E]): this {
    this.set_(event, [listener, ...(this.table_.get(event) ?? [])]);
    return this;
  }

  once<E extends keyof Events>(event: E, listener: Events[E]): this {
    const wrapper = ((...args: unknown[]) => {
      this.off(event, wrapper as Events[E]);
      (listener as unknown as Callable)(...args);
    }) as unknown as Events[E] & { listener?: Listener };
    wrapper.listener = listener;
    return this.on(event, wrapper);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): this {
    const list = this.table_.get(event);
    if (!list) return this;
    const i = list.findIndex((l) => l === listener || (l as { listener?: Listener }).listener === listener);
    if (i >= 0) {
      // Copy on write: an emit in progress keeps iterating its own array.
      const next = list.slice();
      next.splice(i, 1);
      if (next.length > 0) this.set_(event, next);
      else {
        this.table_.delete(event);
        if (this.table_.size === 0) this.table_ = NO_LISTENERS as Map<keyof Events, Listener[]>;
      }
    }
    return this;
  }

  removeListener<E extends keyof Events>(event: E, listener: Events[E]): this {
    return this.off(event, listener);
  }

  removeAllListeners(event?: keyof Events): this {
    if (event === undefined) this.table_.clear();
    else this.table_.delete(event);
    return this;
  }

  listenerCount(event: keyof Events): number {
    return this.table_.get(event)?.length ?? 0;
  }

  listeners(event: keyof Events): Listener[] {
    return (this.table_.get(event) ?? []).slice();
  }

  /** Accepted for compatibility with Node's EventEmitter; there is no listener limit. */
  setMaxListeners(_n: number): this {
    return this;
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): boolean {
    const list = this.table_.get(event);
    if (!list || list.length === 0) {
      if (event === 'error') this.unhandledError_(args[0]);
      return false;
    }
    if (list.length === 1) {
      (list[0] as unknown as Callable)(...args);
    } else {
      for (const listener of list) (listener as unknown as Callable)(...args);
    }
    return true;
  }
}

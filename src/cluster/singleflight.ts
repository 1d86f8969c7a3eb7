/**
 * Singleflight: at most one in-flight call per key; concurrent callers of the key share its
 * promise. The entry is removed when the call settles — whether `fn` returned, threw
 * synchronously, rejected, or was cut by its deadline inside `fn` — so no key can stay stuck.
 * There is no result cache here: once settled, the next caller starts a new call.
 */

export class Flight<T> {
  promise!: Promise<T>;
  /** Set when a write overtook this call: its result must not be cached. */
  stale = false;
  /** Optional: lets `abortAll` cancel the work (the loader's signal). */
  controller: AbortController | undefined;
}

export class SingleFlight<T> {
  private readonly map = new Map<string, Flight<T>>();
  /** Callers that joined an existing call instead of starting one. */
  joined = 0;

  /** Run `fn` for `key` unless a call for it is in flight; return the (shared) promise. */
  run(key: string, fn: (flight: Flight<T>) => Promise<T>): Promise<T> {
    const existing = this.map.get(key);
    if (existing !== undefined) {
      this.joined++;
      return existing.promise;
    }
    const flight = new Flight<T>();
    this.map.set(key, flight);
    flight.promise = this.exec(key, flight, fn);
    return flight.promise;
  }

  /**
   * Detach the in-flight call for `key` (after a Set/Remove/invalidation): it is marked stale so
   * its result is not cached, and later callers start a fresh call. Its current waiters still get
   * its result. Returns whether a call was in flight.
   */
  forget(key: string): boolean {
    const f = this.map.get(key);
    if (f === undefined) return false;
    f.stale = true;
    this.map.delete(key);
    return true;
  }

  /** Detach every in-flight call (a flush): none of their results is cached. Returns how many. */
  forgetAll(): number {
    const n = this.map.size;
    for (const f of this.map.values()) f.stale = true;
    this.map.clear();
    return n;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get size(): number {
    return this.map.size;
  }

  /** Abort every in-flight call that registered a controller. */
  abortAll(reason: unknown): void {
    for (const f of this.map.values()) f.controller?.abort(reason);
  }

  private async exec(key: string, flight: Flight<T>, fn: (flight: Flight<T>) => Promise<T>): Promise<T> {
    try {
      return await fn(flight);
    } finally {
      if (this.map.get(key) === flight) this.map.delete(key);
    }
  }
}

/**
 * Time as the coalescer sees it, injectable so tests can drive every interleaving by hand
 * (test/transport/coalescer.test.ts) and production uses the event loop.
 */

export interface Scheduler {
  /** Monotonic milliseconds (fractional). */
  now(): number;
  /** Runs `fn` once after the current macrotask and its microtasks (one event-loop turn). */
  endOfTurn(fn: () => void): void;
  /** Runs `fn` once after `ms`; the handle cancels it. */
  after(ms: number, fn: () => void): unknown;
  cancel(handle: unknown): void;
}

/**
 * The event loop. Sub-millisecond delays re-check on every loop turn (setImmediate) until they
 * have passed: I/O keeps being processed meanwhile (answers arrive, callers enqueue), and Node's
 * timers cannot wait less than 1 ms. From 1 ms on a timer is used. Timers are unref'd: a pending
 * deadline alone does not keep a process alive (an RPC in flight does).
 */
export const eventLoopScheduler: Scheduler = {
  now: () => performance.now(),
  endOfTurn: (fn) => {
    setImmediate(fn);
  },
  after(ms, fn) {
    if (ms >= 1) {
      const t = setTimeout(fn, ms);
      t.unref();
      return t;
    }
    const spin = new Spin(performance.now() + ms, fn);
    setImmediate(spin.check);
    return spin;
  },
  cancel(handle) {
    if (handle instanceof Spin) handle.cancelled = true;
    else clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

class Spin {
  cancelled = false;
  constructor(
    private readonly due: number,
    private readonly fn: () => void,
  ) {}

  readonly check = (): void => {
    if (this.cancelled) return;
    if (performance.now() < this.due) setImmediate(this.check);
    else this.fn();
  };
}

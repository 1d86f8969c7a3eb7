/**
 * Coalesces per-key requests headed for one peer into per-group batches. Requests enqueued within
 * one window (default: until the next `setImmediate`, i.e. everything the current macrotask and
 * its microtasks produced) go out as one call; a batch that reaches `maxKeys` or `maxBytes`
 * of keys goes out at once.
 */

export interface BatcherOptions {
  /**
   * Coalescing window in microseconds. 0 (default) = one event-loop turn (`setImmediate`).
   * Below 1000 µs the batcher re-checks on every loop turn until the window has passed (other I/O
   * keeps being processed, so requests arriving meanwhile join the batch; the loop spins for at
   * most the window). From 1000 µs a timer is used.
   */
  windowUs?: number;
  /** Most keys in one batch. Default 256. */
  maxKeys?: number;
  /** Most key bytes (UTF-16 length × 3 upper bound) in one batch. Default 1 MiB. */
  maxBytes?: number;
}

/** Sends one batch; resolves with one result per key (an Error instance = that key failed). */
export type BatchSender<T> = (group: string, keys: string[], timeoutMs: number) => Promise<ReadonlyArray<T | Error>>;

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

class Batch<T> {
  readonly keys: string[] = [];
  readonly waiters: Waiter<T>[] = [];
  bytes = 0;
  timeoutMs = 0;
}

export class KeyBatcher<T> {
  private pending = new Map<string, Batch<T>>();
  private scheduled = false;
  private windowStart = 0;
  private readonly windowUs: number;
  private readonly maxKeys: number;
  private readonly maxBytes: number;

  constructor(
    private readonly send: BatchSender<T>,
    options: BatcherOptions = {},
  ) {
    this.windowUs = Math.max(0, options.windowUs ?? 0);
    this.maxKeys = Math.max(1, options.maxKeys ?? 256);
    this.maxBytes = Math.max(1, options.maxBytes ?? 1 << 20);
  }

  enqueue(group: string, key: string, timeoutMs: number): Promise<T> {
    let batch = this.pending.get(group);
    if (batch === undefined) {
      batch = new Batch<T>();
      this.pending.set(group, batch);
    }
    const b = batch;
    const promise = new Promise<T>((resolve, reject) => {
      b.waiters.push({ resolve, reject });
    });
    b.keys.push(key);
    b.bytes += key.length * 3;
    if (timeoutMs > b.timeoutMs) b.timeoutMs = timeoutMs;
    if (b.keys.length >= this.maxKeys || b.bytes >= this.maxBytes) {
      this.pending.delete(group);
      this.dispatch(group, b);
    } else {
      this.schedule();
    }
    return promise;
  }

  /** Send everything pending now. */
  flush(): void {
    if (this.pending.size === 0) return;
    const pending = this.pending;
    this.pending = new Map();
    for (const [group, batch] of pending) this.dispatch(group, batch);
  }

  get pendingKeys(): number {
    let n = 0;
    for (const b of this.pending.values()) n += b.keys.length;
    return n;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.windowUs >= 1000) {
      setTimeout(this.onTimer, Math.round(this.windowUs / 1000));
    } else {
      this.windowStart = this.windowUs > 0 ? performance.now() : 0;
      setImmediate(this.onImmediate);
    }
  }

  private readonly onTimer = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private readonly onImmediate = (): void => {
    if (this.windowUs > 0 && (performance.now() - this.windowStart) * 1000 < this.windowUs && this.pending.size > 0) {
      setImmediate(this.onImmediate);
      return;
    }
    this.scheduled = false;
    this.flush();
  };

  private dispatch(group: string, batch: Batch<T>): void {
    let sent: Promise<ReadonlyArray<T | Error>>;
    try {
      sent = this.send(group, batch.keys, batch.timeoutMs);
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      (results) => {
        const waiters = batch.waiters;
        for (let i = 0; i < waiters.length; i++) {
          const r = results[i];
          if (r instanceof Error) waiters[i]!.reject(r);
          else if (i < results.length) waiters[i]!.resolve(r as T);
          else waiters[i]!.reject(new Error(`batch answered ${results.length} of ${waiters.length} keys`));
        }
      },
      (err) => {
        for (const w of batch.waiters) w.reject(err);
      },
    );
  }
}

/**
 * ReadThrough: `cache.fetch(key)` — the value of `key`, loaded with the cache's `fetchMethod` on a
 * miss and stored, with at most one load per key at a time however many callers ask.
 *
 * Freshness and the stale window. With `staleWindow: W` (ms), a value fetch stores with a TTL is
 * kept W ms past it: the core's expiry is ttl + W. fetch reads the expiry (`info`) and calls an
 * entry fresh until its last W ms, stale during them. A stale entry is served at once to a caller
 * with `allowStale` while one load refreshes it in the background; a caller without waits for that
 * load. An entry stored by `set` with a TTL is read the same way: its last W ms count as stale, so
 * fetch refreshes it ahead of its expiry. get/peek/has know nothing of freshness (it would cost
 * every get a second lookup): they return a value until the core's expiry.
 *
 * Loads. One per key (strings and the byte keys with the same UTF-8 are one key). A load ends in
 * one of four ways: a value (stored with the call's TTL, or the TTL the fetchMethod put in
 * `ctx.ttl`; returned to every caller waiting), undefined (nothing stored, undefined returned),
 * an error (nothing stored, every waiting caller rejects with it; the next fetch loads again:
 * errors are never cached), or an abort. Each caller's `signal` detaches that caller alone (its
 * promise rejects with the signal's reason); the load itself is aborted (its `ctx.signal` fires)
 * when every caller waiting for it has aborted and no allowStale caller relies on it, and its
 * result, if it still comes, is dropped. A `set`, `delete`, `setMany`, `clear` or snapshot load of
 * the key while its load runs supersedes the load: its callers still get its value, but it is not
 * stored over the newer one. Per thread: callers in other threads of a shared arena load on their
 * own.
 */
import type { EntryInfo, FetchContext, FetchMethod, FetchOptions, Key, SetOptions, Value } from './types.js';
import { checkFetchOptions, checkKey, checkTtl } from './validate.js';

/** What ReadThrough needs of its cache. */
export interface ReadThroughCache {
  readonly maxKeyBytes: number;
  get(key: Key): Uint8Array | undefined;
  peek(key: Key): Uint8Array | undefined;
  info(key: Key): EntryInfo | undefined;
  set(key: Key, value: Value, options?: SetOptions): unknown;
}

export interface ReadThroughConfig {
  fetchMethod: FetchMethod;
  /** ms an entry fetch stores with a TTL is kept past it, to be served stale. */
  staleWindow: number;
  /** The default of FetchOptions.allowStale. */
  allowStale: boolean;
  /** The cache's default TTL (0 = none), for loads whose call gives none. */
  defaultTtl: number;
}

interface Load {
  readonly id: string;
  readonly controller: AbortController;
  promise: Promise<Uint8Array | undefined>;
  /** Callers waiting for the result with a signal that has not fired; Infinity once one waits without a signal. */
  waiters: number;
  /** An allowStale caller was served the stale value and relies on this load to refresh it. */
  background: boolean;
  /** Out of the map: aborted, superseded or settled. */
  done: boolean;
  /** Its result must not be stored: aborted, or the key was written meanwhile. */
  discard: boolean;
}

const encoder = new TextEncoder();

interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class ReadThrough {
  /** Loads in flight: a write checks this one number before anything else. */
  pending = 0;
  private readonly loads = new Map<string, Load>();

  constructor(private readonly cache: ReadThroughCache, private readonly config: ReadThroughConfig) {}

  async fetch(key: Key, options?: FetchOptions): Promise<Uint8Array | undefined> {
    checkKey('fetch: key', -1, key, this.cache.maxKeyBytes);
    const o = checkFetchOptions(options);
    o.signal?.throwIfAborted();
    const cache = this.cache;
    const allowStale = o.allowStale ?? this.config.allowStale;
    let stale: Uint8Array | undefined;
    if (o.forceRefresh) {
      stale = cache.peek(key);
    } else if (this.config.staleWindow === 0) {
      const v = cache.get(key);
      if (v !== undefined) return v;
    } else {
      const info = cache.info(key);
      if (info !== undefined) {
        if (info.expiresAt === 0 || info.remainingTTL > this.config.staleWindow) return cache.get(key);
        // Stale: served (a hit) to an allowStale caller, else only handed to the fetchMethod.
        stale = allowStale ? cache.get(key) : cache.peek(key);
      }
    }
    const load = this.loadFor(key, stale, o.ttl, o.context);
    if (stale !== undefined && allowStale) {
      load.background = true;
      return stale;
    }
    return this.wait(load, o.signal);
  }

  /** A write of `key`: a load of it in flight must not store its result over the new value. */
  supersede(key: Key): void {
    const load = this.loads.get(loadId(key));
    if (load !== undefined) this.finish(load, true);
  }

  /** Every key may have been written (clear, a snapshot load). */
  supersedeAll(): void {
    for (const load of [...this.loads.values()]) this.finish(load, true);
  }

  private loadFor(key: Key, stale: Uint8Array | undefined, ttl: number | undefined, context: unknown): Load {
    const id = loadId(key);
    const existing = this.loads.get(id);
    if (existing !== undefined) return existing;
    const controller = new AbortController();
    const load: Load = { id, controller, promise: undefined!, waiters: 0, background: false, done: false, discard: false };
    const ctx: FetchContext = { signal: controller.signal, ttl, context };
    this.loads.set(id, load);
    this.pending++;
    load.promise = this.run(key, stale, ctx, load);
    // Nobody may be waiting (a background refresh, every caller aborted): never an unhandled rejection.
    load.promise.catch(() => {});
    return load;
  }

  private async run(key: Key, stale: Uint8Array | undefined, ctx: FetchContext, load: Load): Promise<Uint8Array | undefined> {
    let value: Value | undefined;
    try {
      value = await this.config.fetchMethod(key, stale, ctx);
    } finally {
      this.finish(load, false);
    }
    if (value === undefined) return undefined;
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new TypeError(`fetchMethod must return a Uint8Array, a string or undefined, got ${value === null ? 'null' : typeof value}`);
    }
    const ttl = ctx.ttl === undefined ? this.config.defaultTtl : checkTtl('fetchMethod: ctx.ttl', ctx.ttl);
    if (!load.discard) {
      const w = this.config.staleWindow;
      try {
        this.cache.set(key, value, { ttl: ttl > 0 ? ttl + w : 0 });
      } catch (e) {
        // Too large for this cache: the callers still get the value; nothing is stored.
        if (!(e instanceof RangeError)) throw e;
      }
    }
    return typeof value === 'string' ? encoder.encode(value) : value;
  }

  /** A caller waiting for `load`; its signal detaches it alone. */
  private wait(load: Load, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    if (signal === undefined) {
      load.waiters = Infinity; // this caller never leaves: the load runs to its end
      return load.promise;
    }
    load.waiters++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        if (--load.waiters === 0 && !load.background && !load.done) {
          this.finish(load, true);
          load.controller.abort(signal.reason);
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      load.promise.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  /** Takes the load out of the map (once); `discard`: its result is not to be stored. */
  private finish(load: Load, discard: boolean): void {
    if (discard) load.discard = true;
    if (load.done) return;
    load.done = true;
    if (this.loads.get(load.id) === load) this.loads.delete(load.id);
    this.pending--;
  }
}

/**
 * The identity of a key for the map of loads: the cache's key is its UTF-8 bytes, so a string and
 * the bytes that encode it are one key ('s' + the string; a lone surrogate encodes as U+FFFD,
 * as the cache stores it), and bytes that are not UTF-8 are another namespace ('b' + one char per
 * byte).
 */
export function loadId(key: Key): string {
  if (typeof key === 'string') {
    const k = key as unknown as WellFormed; // ES2024, in Node 20
    return 's' + (k.isWellFormed() ? key : k.toWellFormed());
  }
  try {
    return 's' + utf8.decode(key);
  } catch {
    let s = 'b';
    for (let i = 0; i < key.length; i++) s += String.fromCharCode(key[i]);
    return s;
  }
}

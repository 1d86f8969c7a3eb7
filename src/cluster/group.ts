/**
 * A group: a named key space with its own byte budget (a main cache + a hot cache), a loader,
 * singleflight over loads and over fetches from owners, and rich counters.
 *
 * Entries are stored with a 5-byte prefix in front of the value:
 *
 *     byte 0      tag: 1 = a value, 0 = "not found" (cached for `notFoundTtl`)
 *     bytes 1..4  stamp (u32 LE): the ownership version the entry was stored in (ownership.ts)
 *     bytes 5..   the value
 *
 * The tag lets an empty value and a cached not-found coexist. The stamp decides whether a
 * main-cache entry may be served as owner data (this node owned the key continuously since) and
 * whether a hot copy predates a rejoin.
 */
import type { ByteCache, CacheStats } from '../core/types.js';
import { CLUSTER_DEFAULTS } from './cluster-options.js';
import { ExponentialBackoff, handleType, retry } from 'cockatiel';
import {
  ClosedError,
  DeadlineError,
  GroupError,
  InvalidArgumentError,
  LoaderError,
  NotOwnerError,
  PeerUnavailableError,
} from './errors.js';
import { ringHash, utf8Length } from './hash.js';
import type { Ownership } from './ownership.js';
import type { ServedGroup } from './peer.js';
import type { GuardedPeer } from './peer-guard.js';
import type { Ring } from './ring.js';
import { Flight, SingleFlight } from './singleflight.js';
import {
  BATCH_SIZE_BUCKETS,
  NOT_FOUND,
  type CacheFactory,
  type FlushResult,
  type GetOptions,
  type GetResult,
  type GroupOptions,
  type GroupStats,
  type Loader,
  type NotFound,
  type ResultSource,
  type SetManyItem,
  type SetManyResult,
  type SetOptions,
  type SnapshotCache,
} from './types.js';
import { checkKey, checkTtl } from './validate.js';
import { checkGroupOptions, GROUP_DEFAULTS as DEFAULTS, MAX_TIMER_MS } from './group-options.js';

/** What a group needs from its cluster. */
export interface GroupHost {
  /** The peer owning this ring position, or null when this node owns it. */
  route(hash: number): GuardedPeer | null;
  /** Every other member. */
  peers(): Iterable<GuardedPeer>;
  readonly closed: boolean;
  /** Since when this node has owned which keys (shared by all groups). */
  readonly ownership: Ownership;
  /** For a key this node gained recently: the previous owner to ask for its copy, else null. */
  handoffSource(hash: number): GuardedPeer | null;
  /** An invalidation sent to this peer failed: it may keep an old copy, so take no handoff from it. */
  invalidationFailed(peerId: string): void;
  /** This peer said it holds nothing to hand over: stop asking it (until the ring changes again). */
  holdsNothing(peerId: string): void;
  /** How long a node that lost keys keeps handing its copies over (ms). */
  readonly handoffWindowMs: number;
  /** This node's id. */
  readonly selfId: string;
  /** Longest a get waits for the owner (ms), unless the group sets its own. */
  readonly ownerTimeout: number;
}

const TAG_NOT_FOUND = 0;
const TAG_VALUE = 1;
/** Tag byte + u32 stamp in front of every cached value. */
const PREFIX = 5;
const ADMISSION_SLOTS = 4096; // power of two
const ADMISSION_DECAY = ADMISSION_SLOTS * 10;
const INVALIDATE_CHUNK = 1024;
/** Writes of one setMany in flight at once. */
const SET_MANY_CONCURRENCY = 64;
const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** Writes that reached a node whose ring gives the key to another: routed again after a short backoff. */
const rerouteWrites = retry(handleType(NotOwnerError), {
  maxAttempts: Number.POSITIVE_INFINITY,
  backoff: new ExponentialBackoff({ initialDelay: 20, maxDelay: 500 }),
});

class Outcome {
  constructor(
    readonly value: Uint8Array | NotFound,
    readonly source: ResultSource,
  ) {}
}

/**
 * Where a load's result goes: `owner` — the main cache, if this node (still) owns the key, else
 * the hot cache for `fallbackTtl`; `fallback` — the hot cache for `fallbackTtl`.
 */
type LoadMode = 'owner' | 'fallback';

/** The group's own counters: GroupStats without what stats() derives or adds. */
type Counters = Omit<GroupStats, 'name' | 'coalesced' | 'batchSizes' | 'main' | 'hot'>;

/** `Group.cacheStats()`: the caches' own stats (entries, bytes, budget, evictions, per segment). */
export interface GroupCacheStats {
  main?: CacheStats;
  hot?: CacheStats;
}

export interface GroupInit {
  name: string;
  options: GroupOptions;
  host: GroupHost;
  cacheFactory: CacheFactory;
  /** Cluster-wide value cap (sizes gRPC messages). */
  maxValueBytes: number;
}

export class Group implements ServedGroup {
  readonly name: string;
  /** Resolves when the group's caches exist (rejects if they could not be created). */
  readonly ready: Promise<void>;
  readonly maxKeyBytes: number;
  /** Largest value accepted; final once `ready` resolved. */
  maxValueBytes: number;
  readonly ttl: number;
  readonly notFoundTtl: number;
  readonly hotTtl: number;
  readonly fallbackTtl: number;
  readonly loadTimeout: number;
  readonly peerTimeout: number;
  readonly ownerTimeout: number;
  readonly fallbackToLocalLoad: boolean;
  readonly mainBytes: number;
  readonly hotBytes: number;

  private readonly host: GroupHost;
  private readonly load: Loader;
  private readonly hotAfter: number;
  private main: ByteCache | undefined;
  private hot: ByteCache | undefined;
  private isReady = false;
  private closed = false;
  private readonly loads = new SingleFlight<Outcome>();
  private readonly fetches = new SingleFlight<Outcome>();
  private readonly admission = new Uint8Array(ADMISSION_SLOTS);
  private admissionTicks = 0;
  private readonly batchSizes = new Array<number>(BATCH_SIZE_BUCKETS.length + 1).fill(0);
  /** Keys written here as owner recently → when (ms); insertion order = time order. */
  private readonly recentWrites = new Map<string, number>();
  private readonly c: Counters = {
    gets: 0,
    hits: 0,
    hotHits: 0,
    misses: 0,
    loads: 0,
    loadErrors: 0,
    loadTimeouts: 0,
    notFound: 0,
    peerFetches: 0,
    peerErrors: 0,
    remoteErrors: 0,
    localFallbacks: 0,
    batches: 0,
    batchedKeys: 0,
    maxBatchSize: 0,
    hotAdmissions: 0,
    hotInvalidations: 0,
    invalidationsSent: 0,
    invalidationErrors: 0,
    sets: 0,
    removes: 0,
    servedKeys: 0,
    staleDrops: 0,
    staleOwnerEntries: 0,
    handoffsIn: 0,
    handoffsOut: 0,
    writeReroutes: 0,
    flushes: 0,
  };

  constructor(init: GroupInit) {
    const o = init.options;
    this.name = init.name;
    this.host = init.host;
    checkGroupOptions(init.name, o); // every rule in group-options.ts
    this.load = o.load;
    this.ttl = o.ttl ?? DEFAULTS.ttl;
    this.notFoundTtl = o.notFoundTtl ?? DEFAULTS.notFoundTtl;
    this.hotTtl = o.hotTtl ?? (this.ttl > 0 ? Math.min(this.ttl, DEFAULTS.hotTtlCap) : DEFAULTS.hotTtlCap);
    this.fallbackTtl = o.fallbackTtl ?? Math.min(this.hotTtl, DEFAULTS.fallbackTtl);
    const fraction = o.hotCacheFraction ?? DEFAULTS.hotCacheFraction;
    this.hotAfter = o.hotAfter ?? DEFAULTS.hotAfter;
    this.loadTimeout = o.loadTimeout ?? DEFAULTS.loadTimeout;
    this.peerTimeout = o.peerTimeout ?? Math.min(this.loadTimeout + 1000, MAX_TIMER_MS);
    this.ownerTimeout = o.ownerTimeout ?? init.host.ownerTimeout;
    this.fallbackToLocalLoad = o.fallbackToLocalLoad ?? DEFAULTS.fallbackToLocalLoad;
    this.maxKeyBytes = o.maxKeyBytes ?? DEFAULTS.maxKeyBytes;
    this.maxValueBytes = Math.min(o.maxValueBytes ?? init.maxValueBytes, init.maxValueBytes);
    this.hotBytes = Math.floor(o.maxBytes * fraction);
    this.mainBytes = o.maxBytes - this.hotBytes;

    this.ready = this.createCaches(init.cacheFactory, o);
    this.ready.catch(() => {}); // surfaced through every operation awaiting it
  }

  private async createCaches(factory: CacheFactory, o: GroupOptions): Promise<void> {
    const main = await factory({
      maxBytes: this.mainBytes,
      maxKeyBytes: this.maxKeyBytes,
      maxValueBytes: this.maxValueBytes + PREFIX,
      segments: o.segments ?? autoSegments(this.mainBytes),
    });
    // The largest value whose entry (prefix + longest key) fits one segment of the main cache.
    const limit = main.maxValueFor(this.maxKeyBytes) - PREFIX;
    this.maxValueBytes = Math.max(0, Math.min(this.maxValueBytes, limit));
    let hot: ByteCache | undefined;
    try {
      if (this.hotBytes >= 1024) {
        // As many segments as still let one segment hold the largest entry (fewer if need be).
        let segments = hotSegments(this.hotBytes, main.entryCost(this.maxKeyBytes, this.maxValueBytes + PREFIX));
        for (;;) {
          hot = await factory({ maxBytes: this.hotBytes, maxKeyBytes: this.maxKeyBytes, maxValueBytes: this.maxValueBytes + PREFIX, segments });
          if (segments === 1 || hot.maxValueFor(this.maxKeyBytes) >= this.maxValueBytes + PREFIX) break;
          closeCache(hot);
          segments /= 2;
        }
      }
    } catch (err) {
      closeCache(main);
      throw err;
    }
    this.main = main;
    this.hot = hot;
    this.isReady = true;
    if (this.closed) this.dispose();
  }

  /** Release the caches (stops their sweepers). Called by the cluster after close. */
  dispose(): void {
    closeCache(this.main);
    closeCache(this.hot);
  }

  /** True once the caches exist. */
  get started(): boolean {
    return this.isReady;
  }

  // ================================================================= public API

  /** The value, or undefined when the key does not exist. Rejects with a typed error. */
  async get(key: string, options?: GetOptions): Promise<Uint8Array | undefined> {
    this.begin(key);
    if (!this.isReady) await this.ready;
    let v = this.fromMain(key, false);
    if (v === undefined) v = this.fromHot(key, false);
    if (v === undefined) v = (await this.miss(key, options)).value;
    if (v === NOT_FOUND) {
      this.c.notFound++;
      return undefined;
    }
    return v;
  }

  /** Like get, but says where the answer came from. */
  async getResult(key: string, options?: GetOptions): Promise<GetResult> {
    this.begin(key);
    if (!this.isReady) await this.ready;
    let source: ResultSource = 'main';
    let v = this.fromMain(key, false);
    if (v === undefined) {
      source = 'hot';
      v = this.fromHot(key, false);
    }
    if (v === undefined) {
      const o = await this.miss(key, options);
      v = o.value;
      source = o.source;
    }
    if (v === NOT_FOUND) {
      this.c.notFound++;
      return { found: false, value: undefined, source };
    }
    return { found: true, value: v, source };
  }

  /** Many keys at once; fetches headed for the same owner are coalesced into GetMany calls. */
  getMany(keys: readonly string[], options?: GetOptions): Promise<Array<Uint8Array | undefined>> {
    return Promise.all(keys.map((k) => this.get(k, options)));
  }

  /**
   * Store a value on the key's owner; every other node then drops the key from its caches.
   * Resolves once the owner stored it and the invalidations were answered (or failed — counted in
   * `invalidationErrors`). Rejects with PeerUnavailableError when the owner cannot be reached, and
   * with NotOwnerError when the owner's ring and this node's still disagree at `peerTimeout`.
   */
  async set(key: string, value: Uint8Array | string, options?: SetOptions): Promise<void> {
    this.begin(key, false);
    const bytes = typeof value === 'string' ? encoder.encode(value) : value;
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('value must be a Uint8Array or a string');
    const ttl = options?.ttl;
    if (ttl !== undefined) checkTtl(ttl);
    if (!this.isReady) await this.ready;
    this.checkValue(bytes);
    this.c.sets++;
    const deadline = Date.now() + this.peerTimeout;
    await this.toOwner(deadline, async () => {
      const peer = this.host.route(ringHash(key));
      if (peer === null) {
        this.applySet(key, bytes, ttl);
        await this.broadcast([key]);
        return;
      }
      this.dropLocal(key);
      await peer.set(this.name, key, bytes, ttl, Math.max(1, deadline - Date.now()));
    });
  }

  /** Delete a key on its owner and every node's caches. Resolves true if the owner had it. */
  async remove(key: string): Promise<boolean> {
    return (await this.removeMany([key])) > 0;
  }

  /**
   * Delete keys (one Remove call per owner). All keys are validated before anything changes.
   * Resolves with how many existed on their owners; rejects with the first error if an owner
   * could not be reached (the other owners' keys are removed).
   */
  async removeMany(keys: readonly string[]): Promise<number> {
    if (this.closed || this.host.closed) throw new ClosedError('cluster is closed');
    if (!Array.isArray(keys)) throw new InvalidArgumentError('keys must be an array');
    for (const k of keys) checkKey(k, this.maxKeyBytes);
    if (keys.length === 0) return 0;
    if (!this.isReady) await this.ready;
    this.c.removes += keys.length;
    const deadline = Date.now() + this.peerTimeout;
    const parts: Promise<number>[] = [];
    for (let i = 0; i < keys.length; i += INVALIDATE_CHUNK) {
      const chunk = keys.slice(i, i + INVALIDATE_CHUNK);
      // Removing is idempotent: a chunk routed again after NotOwnerError counts what each attempt removed.
      let removed = 0;
      parts.push(this.toOwner(deadline, async () => (removed += await this.removeRouted(chunk, deadline))).then(() => removed));
    }
    const settled = await Promise.allSettled(parts);
    let removed = 0;
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      removed += s.value;
    }
    return removed;
  }

  /**
   * Store many values, each on its key's owner, as `set` does. Every item is checked before
   * anything is stored (an InvalidArgumentError names the first bad item; nothing is stored).
   * Resolves with how many were stored and the items that were not (their owner could not be
   * reached, or its ring still disagreed at `peerTimeout`): those fail alone, the others are stored.
   */
  async setMany(items: readonly SetManyItem[]): Promise<SetManyResult> {
    if (this.closed || this.host.closed) throw new ClosedError('cluster is closed');
    if (!Array.isArray(items)) throw new InvalidArgumentError('items must be an array');
    if (!this.isReady) await this.ready;
    const checked = items.map((item, i) => {
      try {
        checkKey(item?.key, this.maxKeyBytes);
        const bytes = typeof item.value === 'string' ? encoder.encode(item.value) : item.value;
        if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('value must be a Uint8Array or a string');
        this.checkValue(bytes);
        if (item.ttl !== undefined) checkTtl(item.ttl);
        return { key: item.key, bytes, options: item.ttl === undefined ? undefined : { ttl: item.ttl } };
      } catch (err) {
        throw new InvalidArgumentError(`items[${i}]: ${messageOf(err)}`);
      }
    });
    const result: SetManyResult = { stored: 0, failed: [] };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < checked.length) {
        const i = next++;
        const { key, bytes, options } = checked[i]!;
        try {
          await this.set(key, bytes, options);
          result.stored++;
        } catch (err) {
          result.failed.push({ index: i, key, error: err instanceof Error ? err : new Error(String(err)) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SET_MANY_CONCURRENCY, checked.length) }, worker));
    result.failed.sort((a, b) => a.index - b.index);
    return result;
  }

  /**
   * Drop the group's entries on every node: this one and every other member. Two rounds: a value
   * a node fetched from an owner that had not flushed yet could otherwise stay behind as a hot
   * copy on a node that had. Writes made while a flush runs may or may not survive it. Resolves
   * with one result per node (this one first); a node that could not be reached is reported in
   * its result, not thrown — the others are flushed all the same.
   */
  async flush(): Promise<FlushResult[]> {
    if (this.closed || this.host.closed) throw new ClosedError('cluster is closed');
    if (!this.isReady) await this.ready;
    const peers = [...this.host.peers()];
    const results: FlushResult[] = [{ id: this.host.selfId, self: true, ok: true, dropped: 0 }];
    for (const p of peers) results.push({ id: p.id, self: false, ok: true, dropped: 0 });
    for (let round = 0; round < 2; round++) {
      results[0]!.dropped += this.serveFlush();
      const asked = peers.map((peer, i) => ({ peer, r: results[i + 1]! })).filter((x) => x.r.ok);
      const settled = await Promise.allSettled(asked.map(({ peer }) => peer.flush(this.name, this.peerTimeout, this.ownerTimeout)));
      settled.forEach((s, i) => {
        const r = asked[i]!.r;
        if (s.status === 'fulfilled') r.dropped += s.value;
        else {
          r.ok = false;
          r.error = s.reason instanceof Error ? s.reason : new Error(String(s.reason));
        }
      });
    }
    return results;
  }

  /**
   * The keys this node holds as their owner — values in its main cache it would serve (not cached
   * not-founds, not entries of keys it stopped owning) — in the main cache's iteration order
   * (segment after segment, each in the order it would evict). Every key present for the whole
   * iteration is yielded exactly once (ArenaCache's iteration guarantee); keys added or removed
   * meanwhile may or may not be. Each entry examined yields once: its key, or undefined when it is
   * skipped, so a caller can bound the work of one step. Empty for a cache that cannot iterate.
   */
  *ownedKeys(): Generator<string | undefined> {
    const main = this.main as Partial<SnapshotCache> | undefined;
    if (main?.entries === undefined) return;
    const own = this.host.ownership;
    for (const [k, raw] of main.entries()) {
      if (this.closed || raw[0] !== TAG_VALUE) {
        yield undefined;
        continue;
      }
      const key = utf8.decode(k);
      const stamp = stampOf(raw);
      yield stamp === own.version || own.validAsOwner(ringHash(key), stamp) ? key : undefined;
    }
  }

  // ================================================================= snapshots (warm restart)

  /**
   * The main cache as a snapshot stream (ArenaCache's format; each value with its 5-byte prefix),
   * least recently used first, in bounded memory. Only the main cache: hot copies are kept fresh
   * by invalidations a stopped node would miss. Take it once nothing can write any more
   * (`Cluster.stop()`), and the cluster's `snapshotMark()` with it.
   */
  snapshotChunks(): Iterable<Uint8Array> {
    return this.snapshotCache('take a snapshot').dumpChunks();
  }

  /**
   * Restores a snapshot of `snapshotChunks` into the main cache, before the cluster starts (then
   * `Cluster.resume(mark)`: whether the entries are served as owner data is the cluster's call).
   * Entries the cache cannot hold are skipped; TTLs count the time since the snapshot. A corrupt
   * or truncated stream throws its error and leaves the main cache empty.
   */
  async restore(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<{ loaded: number; expired: number; skipped: number; overflow: number }> {
    if (!this.isReady) await this.ready;
    const main = this.snapshotCache('restore a snapshot');
    try {
      return await main.loadChunks(chunks);
    } catch (err) {
      main.clear();
      throw err;
    }
  }

  /** Drop what restore() put in the main cache (the cluster does not trust it). */
  dropRestored(): void {
    this.main?.clear();
  }

  private snapshotCache(what: string): SnapshotCache {
    const main = this.main as Partial<SnapshotCache> | undefined;
    if (main === undefined) throw new ClosedError(`group ${this.name} has no cache yet`);
    if (typeof main.dumpChunks !== 'function' || typeof main.loadChunks !== 'function') {
      throw new InvalidArgumentError(`the cache of group ${this.name} cannot ${what} (it is not an ArenaCache)`);
    }
    return main as SnapshotCache;
  }

  stats(): GroupStats {
    const cacheInfo = (c: ByteCache | undefined, maxBytes: number) => ({
      entries: c?.size ?? 0,
      bytes: c?.bytes ?? 0,
      maxBytes: c ? maxBytes : 0,
    });
    return {
      name: this.name,
      ...this.c,
      coalesced: this.loads.joined + this.fetches.joined,
      batchSizes: [...this.batchSizes],
      main: cacheInfo(this.main, this.mainBytes),
      hot: cacheInfo(this.hot, this.hotBytes),
    };
  }

  /**
   * The full stats of the group's two caches (ArenaCache stats with per-segment entries): `main`
   * (keys this node owns or was given) and `hot` (copies fetched from owners, and local fallback
   * loads). A cache is absent before `ready` resolves, and `hot` when the group has none
   * (`hotCacheFraction` 0, or a hot share under 1 KiB).
   */
  cacheStats(): GroupCacheStats {
    return {
      ...(this.main ? { main: this.main.stats() } : {}),
      ...(this.hot ? { hot: this.hot.stats() } : {}),
    };
  }

  // ================================================================= served to peers

  checkKey(key: string): void {
    checkKey(key, this.maxKeyBytes);
  }

  checkValue(value: Uint8Array): void {
    if (value.length > this.maxValueBytes) {
      throw new InvalidArgumentError(`value is ${value.length} bytes, the limit of group ${this.name} is ${this.maxValueBytes}`);
    }
  }

  /** A peer's Get: answered from this node's caches or loader — never forwarded. */
  async serveGet(key: string): Promise<Uint8Array | undefined> {
    if (this.closed) throw new ClosedError('node is shutting down');
    if (!this.isReady) await this.ready;
    const v = this.serveCached(key);
    if (v !== undefined) return v === NOT_FOUND ? undefined : v;
    return this.serveLoad(key);
  }

  /**
   * A peer's key answered from this node's caches, synchronously: the bytes, NOT_FOUND (a cached
   * not-found), or undefined when it must be loaded (then call serveLoad) or the group is not
   * serving yet (then call serveGet). Lets a GetMany answer cached keys without a promise each.
   */
  serveCached(key: string): Uint8Array | NotFound | undefined {
    if (this.closed || !this.isReady) return undefined;
    this.c.servedKeys++;
    const v = this.fromMain(key, false);
    return v !== undefined ? v : this.fromHot(key, false);
  }

  /**
   * serveCached without a copy: the bytes are a view of the cache's I/O area, valid only until the
   * next call on this group. The peer server copies them straight into its response.
   */
  serveCachedView(key: string): Uint8Array | NotFound | undefined {
    if (this.closed || !this.isReady) return undefined;
    this.c.servedKeys++;
    const v = this.fromMain(key, true);
    return v !== undefined ? v : this.fromHot(key, true);
  }

  /**
   * Loads a served key that serveCached did not have (singleflight over the loader). If this
   * node's ring gives the key to another node (the rings disagree for a moment), the result is
   * only kept in the hot cache for `fallbackTtl`.
   */
  async serveLoad(key: string): Promise<Uint8Array | undefined> {
    if (this.closed) throw new ClosedError('node is shutting down');
    const hash = ringHash(key);
    const v = (await this.loads.run(key, (f) => this.runLoad(key, hash, f, 'owner'))).value;
    return v === NOT_FOUND ? undefined : v;
  }

  /**
   * The new owner asks for this node's copy of a key it gained (handoff): the value if this node
   * held it as owner until it lost the key (within the handoff window), else undefined. Cache only;
   * never loads.
   */
  serveHandoff(key: string): Uint8Array | undefined {
    if (this.closed || !this.isReady) return undefined;
    const raw = this.main!.peek(key);
    if (raw === undefined || raw[0] !== TAG_VALUE) return undefined;
    const now = Date.now();
    if (!this.host.ownership.validForHandoff(ringHash(key), stampOf(raw), now, this.host.handoffWindowMs)) return undefined;
    this.c.handoffsOut++;
    return raw.subarray(PREFIX);
  }

  /** A peer's Set: this node must own the key by its own ring (else NotOwnerError, nothing changed). */
  async serveSet(key: string, value: Uint8Array, ttl: number | undefined): Promise<void> {
    if (this.closed) throw new ClosedError('node is shutting down');
    if (!this.isReady) await this.ready;
    this.checkOwner([key]);
    this.c.sets++;
    this.applySet(key, value, ttl);
    await this.broadcast([key]);
  }

  /** A peer's Remove: this node must own every key by its own ring (else NotOwnerError, nothing changed). */
  async serveRemove(keys: string[]): Promise<number> {
    if (this.closed) throw new ClosedError('node is shutting down');
    if (!this.isReady) await this.ready;
    this.checkOwner(keys);
    this.c.removes += keys.length;
    const n = this.applyRemove(keys);
    await this.broadcast(keys);
    return n;
  }

  serveInvalidate(keys: string[]): void {
    if (!this.isReady) return;
    for (const k of keys) {
      if (this.dropLocal(k)) this.c.hotInvalidations++;
    }
  }

  /**
   * Drop every entry of the group on this node: both caches, and in-flight loads and fetches are
   * detached (their callers get their results; nothing is cached from them). Returns how many
   * entries there were.
   */
  serveFlush(): number {
    if (!this.isReady) return 0;
    const n = (this.main?.size ?? 0) + (this.hot?.size ?? 0);
    this.loads.forgetAll();
    this.fetches.forgetAll();
    this.main?.clear();
    this.hot?.clear();
    this.c.flushes++;
    return n;
  }

  // ================================================================= cluster hooks

  /** A Get/GetMany for this group was sent to a peer with `size` keys. */
  recordBatch(size: number): void {
    this.c.batches++;
    this.c.batchedKeys += size;
    if (size > this.c.maxBatchSize) this.c.maxBatchSize = size;
    let i = 0;
    while (i < BATCH_SIZE_BUCKETS.length && size > BATCH_SIZE_BUCKETS[i]!) i++;
    this.batchSizes[i]!++;
  }

  /**
   * The ring changed. A write this node applied as owner moments ago may have raced the change:
   * the key's new owner may hold an older copy it loaded or was handed before the write. Every
   * node is told to drop such keys, so the new owner takes the written value over (or reloads).
   */
  ringChanged(next: Ring, selfId: string, now: number, keepMs: number): void {
    if (this.recentWrites.size === 0 || this.closed) return;
    const moved: string[] = [];
    for (const [key, at] of this.recentWrites) {
      if (now - at >= keepMs) {
        this.recentWrites.delete(key);
        continue;
      }
      if (next.ownerOfHash(ringHash(key))?.id !== selfId) moved.push(key);
    }
    if (moved.length > 0) void this.broadcast(moved);
  }

  /** Abort running loads; later calls fail with ClosedError. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.loads.abortAll(new ClosedError('cluster is closing'));
  }

  // ================================================================= internals

  private begin(key: string, count = true): void {
    if (this.closed || this.host.closed) throw new ClosedError('cluster is closed');
    checkKey(key, this.maxKeyBytes);
    if (count) this.c.gets++;
  }

  /**
   * A main-cache entry, if it may be served as owner data: stored in this ownership version (the
   * common case, no hashing), or since this node has owned the key without interruption.
   */
  private fromMain(key: string, view: boolean): Uint8Array | NotFound | undefined {
    const main = this.main!;
    const raw = view && main.getView !== undefined ? main.getView(key) : main.get(key);
    if (raw === undefined) return undefined;
    const own = this.host.ownership;
    const stamp = stampOf(raw);
    if (stamp !== own.version) {
      const hash = ringHash(key);
      if (!own.validAsOwner(hash, stamp)) {
        this.c.staleOwnerEntries++;
        // Keep it only while the key's new owner may still ask for it.
        if (!own.validForHandoff(hash, stamp, Date.now(), this.host.handoffWindowMs)) this.main!.delete(key);
        return undefined;
      }
    }
    this.c.hits++;
    return untag(raw);
  }

  /** A hot copy, unless stored before this node's last rejoin. */
  private fromHot(key: string, view: boolean): Uint8Array | NotFound | undefined {
    const hot = this.hot;
    if (hot === undefined) return undefined;
    const raw = view && hot.getView !== undefined ? hot.getView(key) : hot.get(key);
    if (raw === undefined) return undefined;
    if (stampOf(raw) < this.host.ownership.rejoinVersion) {
      hot.delete(key);
      return undefined;
    }
    this.c.hotHits++;
    return untag(raw);
  }

  private miss(key: string, options: GetOptions | undefined): Promise<Outcome> {
    this.c.misses++;
    const hash = ringHash(key);
    const peer = this.host.route(hash);
    const p =
      peer === null
        ? this.loads.run(key, (f) => this.runLoad(key, hash, f, 'owner'))
        : this.fetches.run(key, (f) => this.runFetch(key, hash, peer, f));
    return options?.signal ? withSignal(p, options.signal) : p;
  }

  private async runLoad(key: string, hash: number, flight: Flight<Outcome>, mode: LoadMode): Promise<Outcome> {
    const version = this.host.ownership.version;
    if (mode === 'owner') {
      const handed = await this.pullHandoff(key, hash, flight, version);
      if (handed !== undefined) return handed;
    }
    this.c.loads++;
    const controller = new AbortController();
    flight.controller = controller;
    const deadline = Date.now() + this.loadTimeout;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const guard = new Promise<never>((_, reject) => {
      onAbort = () => reject(controller.signal.reason);
      controller.signal.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(
        () => controller.abort(new DeadlineError(`loader of group ${this.name} passed its ${this.loadTimeout} ms deadline`)),
        this.loadTimeout,
      );
    });
    try {
      let raw: unknown;
      try {
        raw = await Promise.race([this.callLoader(key, controller.signal, deadline), guard]);
      } catch (err) {
        if (err instanceof DeadlineError) {
          this.c.loadTimeouts++;
          throw err;
        }
        if (err instanceof ClosedError) throw err;
        this.c.loadErrors++;
        if (err instanceof LoaderError) throw err;
        throw new LoaderError(`loader of group ${this.name} failed: ${messageOf(err)}`, { cause: err });
      }
      let entry: Uint8Array;
      try {
        entry = this.encodeLoaded(raw);
      } catch (err) {
        this.c.loadErrors++;
        throw err;
      }
      this.keepLoaded(key, hash, entry, flight, mode, version);
      return new Outcome(entry[0] === TAG_NOT_FOUND ? NOT_FOUND : entry.subarray(PREFIX), 'load');
    } finally {
      clearTimeout(timer);
      controller.signal.removeEventListener('abort', onAbort!);
    }
  }

  /**
   * Store a loaded (or handed-over) entry: in the main cache stamped with the version the load
   * started in, if this node has owned the key without interruption since then; otherwise (the
   * ring moved meanwhile, or a fallback) as a short-lived hot copy.
   */
  private keepLoaded(key: string, hash: number, entry: Uint8Array, flight: Flight<Outcome>, mode: LoadMode, version: number): void {
    if (flight.stale) {
      this.c.staleDrops++;
      return;
    }
    if (this.closed) return;
    if (mode === 'owner') {
      const since = this.host.ownership.ownedSince(hash);
      if (since >= 0 && since <= version) {
        this.store('main', key, entry, version);
        return;
      }
    }
    this.store('fallback', key, entry, this.host.ownership.version);
  }

  /**
   * This node gained the key recently: ask its previous owner for the copy it held (a value
   * written there before the ring changed). Undefined when there is none or it cannot answer in
   * time: the caller loads from the origin.
   */
  private async pullHandoff(key: string, hash: number, flight: Flight<Outcome>, version: number): Promise<Outcome | undefined> {
    const from = this.host.handoffSource(hash);
    if (from === null) return undefined;
    let value: Uint8Array | undefined | null;
    try {
      value = await from.handoff(this.name, key, this.ownerTimeout);
    } catch {
      return undefined;
    }
    if (value === null) this.host.holdsNothing(from.id);
    if (value === undefined || value === null) return undefined;
    this.c.handoffsIn++;
    this.keepLoaded(key, hash, entryOf(TAG_VALUE, value), flight, 'owner', version);
    return new Outcome(value, 'handoff');
  }

  private callLoader(key: string, signal: AbortSignal, deadline: number): Promise<unknown> {
    try {
      return Promise.resolve(this.load(key, { signal, group: this.name, deadline }));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Cache entry (prefix + value) for a loader result; throws LoaderError for anything else. */
  private encodeLoaded(raw: unknown): Uint8Array {
    if (raw === NOT_FOUND) return entryOf(TAG_NOT_FOUND);
    if (raw instanceof Uint8Array) {
      if (raw.length > this.maxValueBytes) {
        throw new LoaderError(`loader of group ${this.name} returned ${raw.length} bytes, the limit is ${this.maxValueBytes}`);
      }
      return entryOf(TAG_VALUE, raw);
    }
    if (typeof raw === 'string') {
      const n = utf8Length(raw);
      if (n > this.maxValueBytes) {
        throw new LoaderError(`loader of group ${this.name} returned ${n} bytes, the limit is ${this.maxValueBytes}`);
      }
      const entry = new Uint8Array(n + PREFIX);
      entry[0] = TAG_VALUE;
      encoder.encodeInto(raw, entry.subarray(PREFIX));
      return entry;
    }
    throw new LoaderError(
      `loader of group ${this.name} returned ${raw === null ? 'null' : typeof raw}; return bytes, a string or NOT_FOUND`,
    );
  }

  private async runFetch(key: string, hash: number, peer: GuardedPeer, flight: Flight<Outcome>): Promise<Outcome> {
    this.c.peerFetches++;
    let fetched: Uint8Array | undefined;
    try {
      fetched = await peer.fetch(this.name, key, this.peerTimeout, this.ownerTimeout);
    } catch (err) {
      if (err instanceof PeerUnavailableError || err instanceof GroupError) {
        this.c.peerErrors++;
        if (!this.fallbackToLocalLoad || this.closed) throw err;
        this.c.localFallbacks++;
        const o = await this.loads.run(key, (f) => this.runLoad(key, hash, f, 'fallback'));
        return new Outcome(o.value, 'fallback');
      }
      this.c.remoteErrors++;
      throw err;
    }
    if (flight.stale) this.c.staleDrops++;
    else this.maybeAdmit(key, hash, fetched);
    return new Outcome(fetched === undefined ? NOT_FOUND : fetched, 'peer');
  }

  /** Admit a fetched result to the hot cache once the key has been fetched `hotAfter` times. */
  private maybeAdmit(key: string, hash: number, fetched: Uint8Array | undefined): void {
    if (this.hot === undefined || this.closed) return;
    const slot = hash & (ADMISSION_SLOTS - 1);
    const count = this.admission[slot]!;
    if (count < 255) this.admission[slot] = count + 1;
    if (++this.admissionTicks >= ADMISSION_DECAY) {
      this.admissionTicks = 0;
      for (let i = 0; i < ADMISSION_SLOTS; i++) this.admission[i]! >>>= 1;
    }
    if (count + 1 < this.hotAfter) return;
    if (fetched !== undefined && fetched.length > this.maxValueBytes) return;
    const entry = fetched === undefined ? entryOf(TAG_NOT_FOUND) : entryOf(TAG_VALUE, fetched);
    if (this.store('hot', key, entry, this.host.ownership.version)) this.c.hotAdmissions++;
  }

  /**
   * Put an entry in a cache, stamped with `stamp`. `main`: owner data (ttl / notFoundTtl); `hot`:
   * a copy fetched from the owner (hotTtl); `fallback`: loaded here for a key this node does not
   * own (fallbackTtl, in the hot cache). Returns whether it was stored.
   */
  private store(where: 'main' | 'hot' | 'fallback', key: string, entry: Uint8Array, stamp: number): boolean {
    const notFound = entry[0] === TAG_NOT_FOUND;
    if (notFound && this.notFoundTtl === 0) return false;
    const cache = where === 'main' ? this.main : this.hot;
    if (cache === undefined || entry.length > cache.maxValueBytes) return false;
    let ttl: number;
    if (where === 'main') ttl = notFound ? this.notFoundTtl : this.ttl;
    else {
      const cap = where === 'hot' ? this.hotTtl : this.fallbackTtl;
      ttl = notFound ? Math.min(this.notFoundTtl, cap) : cap;
      if (ttl === 0) return false; // 0 here means "keep no copies", not "never expire"
    }
    setStamp(entry, stamp);
    try {
      cache.set(key, entry, { ttl });
      return true;
    } catch {
      return false;
    }
  }

  /** Owner side of a Set (this node owns the key by its ring). */
  private applySet(key: string, value: Uint8Array, ttl: number | undefined): void {
    this.loads.forget(key);
    this.fetches.forget(key);
    this.hot?.delete(key);
    const entry = entryOf(TAG_VALUE, value);
    setStamp(entry, this.host.ownership.version);
    try {
      this.main!.set(key, entry, { ttl: ttl ?? this.ttl });
    } catch (err) {
      if (err instanceof RangeError) throw new InvalidArgumentError(err.message);
      throw err;
    }
    this.noteWrite(key);
  }

  /** Owner side of a Remove. */
  private applyRemove(keys: readonly string[]): number {
    let n = 0;
    for (const k of keys) {
      this.loads.forget(k);
      this.fetches.forget(k);
      this.hot?.delete(k);
      if (this.main!.delete(k)) n++;
      this.noteWrite(k);
    }
    return n;
  }

  /** Remember a write applied here as owner, for `ringChanged`. */
  private noteWrite(key: string): void {
    const w = this.recentWrites;
    w.delete(key); // re-insert: the map stays in time order
    w.set(key, Date.now());
    if (w.size > CLUSTER_DEFAULTS.recentWritesMax) w.delete(w.keys().next().value!);
  }

  /** NotOwnerError unless this node owns every key by its own ring. Checked before anything changes. */
  private checkOwner(keys: readonly string[]): void {
    for (const k of keys) {
      const owner = this.host.route(ringHash(k));
      if (owner !== null) {
        throw new NotOwnerError(`key ${JSON.stringify(k.slice(0, 64))} of group ${this.name} belongs to ${owner.id} by this node's ring`);
      }
    }
  }

  /**
   * Run a write against the keys' owners; when an owner answers NotOwnerError (its ring and ours
   * disagree during a membership change), route again after a short backoff until `deadline`.
   */
  private async toOwner<T>(deadline: number, attempt: () => Promise<T>): Promise<T> {
    let last: unknown;
    let tries = 0;
    try {
      return await rerouteWrites.execute(() => {
        if (tries++ > 0) this.c.writeReroutes++;
        return attempt().catch((err: unknown) => {
          last = err;
          throw err;
        });
      }, AbortSignal.timeout(Math.max(1, deadline - Date.now())));
    } catch (err) {
      throw last instanceof NotOwnerError ? last : err;
    }
  }

  /** Remove `keys` once: locally for keys this node owns, one Remove per other owner. */
  private async removeRouted(keys: readonly string[], deadline: number): Promise<number> {
    const local: string[] = [];
    const remote = new Map<GuardedPeer, string[]>();
    for (const k of keys) {
      const peer = this.host.route(ringHash(k));
      if (peer === null) {
        local.push(k);
      } else {
        this.dropLocal(k);
        let list = remote.get(peer);
        if (!list) remote.set(peer, (list = []));
        list.push(k);
      }
    }
    const parts: Promise<number>[] = [];
    if (local.length > 0) {
      const n = this.applyRemove(local);
      parts.push(this.broadcast(local).then(() => n));
    }
    for (const [peer, list] of remote) parts.push(peer.remove(this.name, list, Math.max(1, deadline - Date.now())));
    const settled = await Promise.allSettled(parts);
    let removed = 0;
    let failure: unknown;
    for (const s of settled) {
      if (s.status === 'rejected') failure ??= s.reason;
      else removed += s.value;
    }
    if (failure !== undefined) throw failure;
    return removed;
  }

  /** Drop a key from both caches and detach in-flight loads/fetches. Returns whether anything was dropped. */
  private dropLocal(key: string): boolean {
    const a = this.loads.forget(key);
    const b = this.fetches.forget(key);
    const c = this.hot?.delete(key) ?? false;
    const d = this.main?.delete(key) ?? false;
    return a || b || c || d;
  }

  /**
   * Tell every other node to drop these keys; waits for the answers (each bounded by the owner
   * deadline), counts failures. A suspect peer is not called (a failure too); a peer whose
   * invalidation failed may keep its old copy (for at most hotTtl), so no handoff is taken from it.
   */
  private async broadcast(keys: readonly string[]): Promise<void> {
    const calls: Promise<void>[] = [];
    const peers: GuardedPeer[] = [];
    for (const peer of this.host.peers()) {
      if (keys.length === 1) {
        calls.push(peer.invalidate(this.name, keys[0]!, this.ownerTimeout));
        peers.push(peer);
      } else {
        for (let i = 0; i < keys.length; i += INVALIDATE_CHUNK) {
          calls.push(peer.invalidateMany(this.name, keys.slice(i, i + INVALIDATE_CHUNK), this.ownerTimeout));
          peers.push(peer);
        }
      }
      this.c.invalidationsSent += keys.length;
    }
    if (calls.length === 0) return;
    const settled = await Promise.allSettled(calls);
    for (let i = 0; i < settled.length; i++) {
      if (settled[i]!.status === 'rejected') {
        this.c.invalidationErrors++;
        this.host.invalidationFailed(peers[i]!.id);
      }
    }
  }
}

/** An entry: tag, a zero stamp (set when stored), the value. */
function entryOf(tag: number, value?: Uint8Array): Uint8Array {
  const entry = new Uint8Array(PREFIX + (value?.length ?? 0));
  entry[0] = tag;
  if (value) entry.set(value, PREFIX);
  return entry;
}

function setStamp(entry: Uint8Array, stamp: number): void {
  entry[1] = stamp & 0xff;
  entry[2] = (stamp >>> 8) & 0xff;
  entry[3] = (stamp >>> 16) & 0xff;
  entry[4] = (stamp >>> 24) & 0xff;
}

function stampOf(raw: Uint8Array): number {
  return (raw[1]! | (raw[2]! << 8) | (raw[3]! << 16) | (raw[4]! << 24)) >>> 0;
}

function untag(raw: Uint8Array): Uint8Array | NotFound {
  return raw[0] === TAG_VALUE ? raw.subarray(PREFIX) : NOT_FOUND;
}

/** Segments for a cache of `bytes`: up to 16, each at least 256 KiB (and ≥ 1 KiB, the core's minimum). */
function autoSegments(bytes: number): number {
  let s = 1;
  while (s < 16 && bytes / (s * 2) >= 256 << 10) s *= 2;
  return s;
}

/**
 * Segments of the hot cache: autoSegments, but fewer when needed so that one segment can hold the
 * group's largest entry (`entryBytes`). The hot cache is an eighth of the group by default and an
 * entry must fit one segment: with 16 segments a 64 MiB group's hot cache would refuse every value
 * over ~400 KB that the main cache accepts (~2.5 MB), so those values would never be kept as hot
 * copies or fallback results. A segment's region is at least 15/16 of its share (the rest is its
 * hash index). If even one segment is too small, larger values simply skip the hot cache.
 */
function hotSegments(bytes: number, entryBytes: number): number {
  let s = autoSegments(bytes);
  while (s > 1 && Math.floor(bytes / s / 16) * 15 < entryBytes) s /= 2;
  return s;
}

function closeCache(c: ByteCache | undefined): void {
  const close = (c as { close?: unknown } | undefined)?.close;
  if (typeof close === 'function') close.call(c);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function withSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
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

/**
 * Membership in etcd: registration with a lease (keepalive, re-register on loss, revoke on close)
 * and discovery by list-then-watch. See docs/discovery.md for the design.
 */
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  EtcdUserNotFoundError,
  GRPCUnauthenticatedError,
  type IOptions, type IWatchResponse, type Lease, type Watcher } from 'etcd3';
import type { Membership, MembershipListener, NodeInfo } from '../cluster/membership.js';
import { HostBreaker } from './host-breaker.js';
import {
  decodeRecord,
  diffMembers,
  encodeRecord,
  membershipKey,
  recordKey,
  serviceDir,
  sortById,
  validateNodeId,
} from './record.js';

/** Pino-compatible logger (`logger.info({ ...fields }, 'message')`). */
export interface MembershipLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface EtcdTlsOptions {
  /** CA certificate (PEM) that signed the etcd server certificates. */
  ca: Buffer | string;
  /** Client certificate (PEM), for etcd `--client-cert-auth`. */
  cert?: Buffer | string;
  /** Client private key (PEM). */
  key?: Buffer | string;
}

export interface EtcdMembershipOptions {
  /** This node. Its record is written under `<prefix>/<service>/<self.id>`. */
  self: NodeInfo;
  /** etcd client URLs, e.g. `['http://10.0.0.1:2379', 'http://10.0.0.2:2379']` (a bare `host:port` is accepted). */
  endpoints: string[];
  /** Key prefix. Default `/arenacache`. */
  prefix?: string;
  /** Service (cluster) name; nodes only see nodes of the same service. Default `default`. */
  service?: string;
  /** Lease TTL in seconds (integer ≥ 2, etcd 3.4's minimum). Default 5. A dead node disappears within TTL (+ debounce). */
  leaseTtlSeconds?: number;
  /** Deadline of a unary call while etcd is not known to be reachable (first call, after a failure). Default 3000. */
  dialTimeoutMs?: number;
  /** Deadline of every unary call (grant, put, range, revoke, authenticate). Default 2000. Streams have none. */
  callTimeoutMs?: number;
  tls?: EtcdTlsOptions;
  auth?: { username: string; password: string };
  logger?: MembershipLogger;
  /** A burst of changes within this window gives one onChange. Default 100. */
  debounceMs?: number;
  /** ...but a continuous stream of changes is still published at least this often. Default 1000. */
  debounceMaxMs?: number;
  /** Retry backoff (registration, list/watch) starts here and doubles. Default 200. */
  retryInitialMs?: number;
  /** ...up to this. Default 2000. */
  retryMaxMs?: number;
  /**
   * start() rejects if registration + first list have not succeeded within this time (0 = wait forever).
   * The instance keeps retrying in the background after the rejection; call close() to give up. Default 30000.
   */
  startTimeoutMs?: number;
}

export type LeaseState = 'none' | 'granted' | 'lost' | 'revoked';

export interface MembershipCounters {
  /** Successful registrations (puts of our record with a live lease), the first one included. */
  registrations: number;
  /** Registrations after the first (lease lost, record deleted behind our back). */
  reRegistrations: number;
  /** Leases lost (keepalive said expired/revoked, no keepalive for 2×TTL, put said lease not found). */
  keepaliveLosses: number;
  /** Times the watch was dropped and discovery restarted with list + watch. */
  watchRestarts: number;
  /** Failed etcd calls (each retried). */
  etcdErrors: number;
  /** onChange publications. */
  membershipChanges: number;
}

export type MembershipEvent =
  | { type: 'registered'; leaseId: string; reRegistration: boolean }
  | { type: 'lease-lost'; leaseId: string; reason: string }
  | { type: 'register-failed'; reason: string }
  | { type: 'watch-started'; revision: string }
  | { type: 'watch-restart'; reason: string }
  | { type: 'etcd-unreachable'; op: string; reason: string }
  | { type: 'etcd-reachable' }
  | { type: 'members-changed'; members: readonly NodeInfo[]; added: string[]; removed: string[]; changed: string[] }
  | { type: 'revoked'; leaseId: string }
  | { type: 'revoke-failed'; leaseId: string; reason: string }
  | { type: 'closed' };

export type MembershipEventListener = (event: MembershipEvent) => void;

export interface EtcdMembershipStats {
  leaseState: LeaseState;
  leaseId: string | null;
  /** Last successful keepalive (ms since the epoch), null before the first. */
  lastKeepaliveAt: number | null;
  etcdReachable: boolean;
  watching: boolean;
  members: number;
  counters: MembershipCounters;
}

const noopLogger: MembershipLogger = { debug() {}, info() {}, warn() {}, error() {} };

class ClosedError extends Error {
  constructor() {
    super('etcd membership closed');
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
  done: boolean;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // observed through start(); never an unhandled rejection
  const d: Deferred = {
    promise,
    done: false,
    resolve: () => {
      if (!d.done) ((d.done = true), resolve());
    },
    reject: (err) => {
      if (!d.done) ((d.done = true), reject(err));
    },
  };
  return d;
}

/** Errors that retrying will not fix (wrong credentials, missing permissions): start() fails on them. */
function isCredentialError(err: unknown): boolean {
  return (
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdUserNotFoundError ||
    err instanceof EtcdPermissionDeniedError ||
    err instanceof GRPCUnauthenticatedError ||
    (err instanceof Error && /etcdserver: user name is empty/.test(err.message))
  );
}

function errText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v;
}

export class EtcdMembership implements Membership {
  readonly self: NodeInfo;
  /** `<prefix>/<service>/` */
  readonly dir: string;
  readonly key: string;
  readonly leaseTtlSeconds: number;

  private readonly client: Etcd3;
  private readonly hosts: string[];
  private readonly log: MembershipLogger;
  private readonly callTimeoutMs: number;
  private readonly dialTimeoutMs: number;
  private readonly debounceMs: number;
  private readonly debounceMaxMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly startTimeoutMs: number;

  private readonly listeners = new Set<MembershipListener>();
  private readonly eventListeners = new Set<MembershipEventListener>();
  private readonly counters: MembershipCounters = {
    registrations: 0,
    reRegistrations: 0,
    keepaliveLosses: 0,
    watchRestarts: 0,
    etcdErrors: 0,
    membershipChanges: 0,
  };

  /** Peers as last seen in etcd (may include a record for self; self is always taken from `this.self`). */
  private readonly known = new Map<string, NodeInfo>();
  /** The published membership (what members() returns and listeners last saw). */
  private published: readonly NodeInfo[];
  private publishedKey: string;
  private debounceTimer: NodeJS.Timeout | null = null;
  private pendingSince = 0;

  private lease: Lease | null = null;
  private leaseId: string | null = null;
  private _leaseState: LeaseState = 'none';
  private lastKeepaliveAt: number | null = null;
  private reachable = false;

  private needRegister = false;
  private registering: Promise<void> | null = null;
  private needSync = false;
  private syncing: Promise<void> | null = null;
  private watcher: Watcher | null = null;
  private watching = false;
  /** Watches that ended before delivering anything (connected or data); backs off the re-list. */
  private watchFailuresInARow = 0;

  private readonly registered = deferred();
  private readonly synced = deferred();
  private startPromise: Promise<void> | null = null;
  private closed = false;
  private closePromise: Promise<void> | null = null;
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(opts: EtcdMembershipOptions) {
    validateNodeId(opts.self.id);
    if (!opts.self.grpcAddress) throw new RangeError('self.grpcAddress is required (bind gRPC first, then register)');
    if (!opts.endpoints || opts.endpoints.length === 0) throw new RangeError('at least one etcd endpoint is required');
    const ttl = opts.leaseTtlSeconds ?? 5;
    if (!Number.isInteger(ttl) || ttl < 2) {
      throw new RangeError(`leaseTtlSeconds must be an integer >= 2 (etcd 3.4's minimum lease TTL); got ${ttl}`);
    }
    this.self = { ...opts.self, startedAt: opts.self.startedAt ?? Date.now() };
    this.dir = serviceDir(opts.prefix ?? '/arenacache', opts.service ?? 'default');
    this.key = recordKey(this.dir, this.self.id);
    this.leaseTtlSeconds = ttl;
    this.callTimeoutMs = opts.callTimeoutMs ?? 2000;
    this.dialTimeoutMs = opts.dialTimeoutMs ?? 3000;
    this.debounceMs = opts.debounceMs ?? 100;
    this.debounceMaxMs = Math.max(this.debounceMs, opts.debounceMaxMs ?? 1000);
    this.retryInitialMs = opts.retryInitialMs ?? 200;
    this.retryMaxMs = Math.max(this.retryInitialMs, opts.retryMaxMs ?? 2000);
    this.startTimeoutMs = opts.startTimeoutMs ?? 30_000;
    this.log = opts.logger ?? noopLogger;

    this.published = Object.freeze([this.self]);
    this.publishedKey = membershipKey(this.published);

    const secure = opts.tls !== undefined;
    const hosts = opts.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `${secure ? 'https' : 'http'}://${e}`));
    this.hosts = hosts;
    const callTimeoutMs = this.callTimeoutMs;
    const clientOptions: IOptions = {
      hosts,
      dialTimeout: this.dialTimeoutMs, // not used by etcd3 1.1.2 (microsoft/etcd3#137); see deadline()
      // Safety net: every unary call made anywhere in etcd3 (including its internal ones such as the
      // auth token exchange) gets a deadline. Our own calls pass an explicit absolute deadline, which
      // also bounds etcd3's internal retries. Streams (watch, keepalive) get none.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      // Skip an endpoint for retryMaxMs after 3 consecutive failures (etcd3's default: 5 s).
      faultHandling: { host: (h) => new HostBreaker(h, this.retryMaxMs).asPolicy() },
      grpcOptions: {
        // Own connections per client: nodes in one process (tests) do not share a subchannel, and a
        // reconnect after an outage is not stuck behind another channel's backoff.
        'grpc.use_local_subchannel_pool': 1,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': this.retryMaxMs,
        // Detect a silently dead connection (no RST). etcd's default --grpc-keepalive-min-time is 5 s.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
    };
    if (opts.tls) {
      clientOptions.credentials = {
        rootCertificate: toBuffer(opts.tls.ca),
        ...(opts.tls.key !== undefined ? { privateKey: toBuffer(opts.tls.key) } : {}),
        ...(opts.tls.cert !== undefined ? { certChain: toBuffer(opts.tls.cert) } : {}),
      };
    }
    if (opts.auth) {
      clientOptions.auth = {
        username: opts.auth.username,
        password: opts.auth.password,
        callOptions: () => ({ deadline: this.deadline() }),
      };
    }
    this.client = new Etcd3(clientOptions);
  }

  // ---------------------------------------------------------------- Membership

  members(): readonly NodeInfo[] {
    return this.published;
  }

  onChange(listener: MembershipListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Registers (lease + put) and lists + watches; resolves when both have succeeded once. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError());
    if (this.startPromise) return this.startPromise;
    this.log.info(
      { key: this.key, endpoints: this.endpointsForLog(), leaseTtlSeconds: this.leaseTtlSeconds },
      'etcd membership starting',
    );
    this.kickRegister();
    this.kickSync();
    const both = Promise.all([this.registered.promise, this.synced.promise]).then(() => {
      this.log.info({ members: this.published.map((m) => m.id), leaseId: this.leaseId }, 'etcd membership started');
    });
    if (this.startTimeoutMs <= 0) return (this.startPromise = both);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const what = [!this.registered.done && 'registration', !this.synced.done && 'list/watch'].filter(Boolean);
        reject(
          new Error(
            `etcd membership: ${what.join(' and ')} not done within ${this.startTimeoutMs} ms ` +
              `(endpoints ${this.endpointsForLog().join(', ')}); still retrying in the background`,
          ),
        );
      }, this.startTimeoutMs);
    });
    this.startPromise = Promise.race([both, timeout]).finally(() => clearTimeout(timer));
    return this.startPromise;
  }

  /**
   * Graceful stop: revoke the lease first (peers drop this node at once), then stop watching and
   * close the client. If etcd is unreachable the revoke fails after its deadline and the record
   * expires after the TTL. Idempotent.
   */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closed = true;
    this.closePromise = (async () => {
      const err = new ClosedError();
      this.registered.reject(err);
      this.synced.reject(err);
      for (const s of this.sleeps) (clearTimeout(s.timer), s.resolve());
      this.sleeps.clear();
      if (this.debounceTimer) clearTimeout(this.debounceTimer);
      this.debounceTimer = null;

      const lease = this.lease;
      const leaseId = this.leaseId;
      this.lease = null;
      if (lease && leaseId) {
        try {
          await lease.revoke({ deadline: this.deadline() });
          this._leaseState = 'revoked';
          this.log.info({ leaseId }, 'lease revoked');
          this.emit({ type: 'revoked', leaseId });
        } catch (e) {
          lease.release();
          this._leaseState = 'lost';
          this.log.warn({ leaseId, err: errText(e) }, 'lease revoke failed; the record expires after the TTL');
          this.emit({ type: 'revoke-failed', leaseId, reason: errText(e) });
        }
      }
      // A registration in flight revokes whatever it granted once it sees `closed`.
      await this.registering?.catch(() => {});
      this.stopWatcher();
      await this.syncing?.catch(() => {});
      this.client.close();
      this.log.info({}, 'etcd membership closed');
      this.emit({ type: 'closed' });
    })();
    return this.closePromise;
  }

  // ---------------------------------------------------------------- state for metrics and logs

  get leaseState(): LeaseState {
    return this._leaseState;
  }

  get currentLeaseId(): string | null {
    return this.leaseId;
  }

  get etcdReachable(): boolean {
    return this.reachable;
  }

  get isWatching(): boolean {
    return this.watching;
  }

  getCounters(): Readonly<MembershipCounters> {
    return { ...this.counters };
  }

  stats(): EtcdMembershipStats {
    return {
      leaseState: this._leaseState,
      leaseId: this.leaseId,
      lastKeepaliveAt: this.lastKeepaliveAt,
      etcdReachable: this.reachable,
      watching: this.watching,
      members: this.published.length,
      counters: { ...this.counters },
    };
  }

  /** Subscribe to state transitions (registered, lease-lost, watch-restart, ...). Returns unsubscribe. */
  onEvent(listener: MembershipEventListener): () => void {
    this.eventListeners.add(listener);
    return () => {
      this.eventListeners.delete(listener);
    };
  }

  // ---------------------------------------------------------------- registration

  private kickRegister(): void {
    if (this.closed) return;
    this.needRegister = true;
    if (this.registering) return;
    this.registering = this.registerLoop().finally(() => {
      this.registering = null;
      if (this.needRegister && !this.closed) this.kickRegister();
    });
  }

  private async registerLoop(): Promise<void> {
    let delay = this.retryInitialMs;
    while (this.needRegister && !this.closed) {
      this.needRegister = false;
      try {
        await this.registerOnce();
        delay = this.retryInitialMs;
      } catch (err) {
        if (this.closed) return;
        this.needRegister = true;
        this.counters.etcdErrors++;
        if (err instanceof EtcdLeaseInvalidError) continue; // new lease right away
        if (isCredentialError(err)) {
          this.log.error({ err: errText(err), retryInMs: delay }, 'etcd refused our credentials or permissions; retrying');
          this.registered.reject(err as Error);
        } else {
          this.markUnreachable('register', err);
          this.log.warn({ err: errText(err), retryInMs: delay }, 'registration failed; retrying');
        }
        this.emit({ type: 'register-failed', reason: errText(err) });
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.retryMaxMs);
      }
    }
  }

  private async registerOnce(): Promise<void> {
    let lease = this.lease;
    let leaseId = this.leaseId;
    if (!lease || !leaseId) {
      const granted = this.client.lease(this.leaseTtlSeconds, { deadline: this.deadline() });
      granted.on('lost', (err) => this.loseLease(granted, errText(err)));
      granted.on('keepaliveSucceeded', () => {
        if (granted !== this.lease) return;
        this.lastKeepaliveAt = Date.now();
        this.markReachable();
      });
      granted.on('keepaliveFailed', (err) => {
        if (granted === this.lease) this.markUnreachable('keepalive', err);
      });
      const id = await granted.grant(); // rejects (and emits 'lost', ignored: not current) on failure
      if (this.closed) {
        await granted.revoke({ deadline: this.deadline() }).catch(() => granted.release());
        throw new ClosedError();
      }
      this.markReachable();
      lease = this.lease = granted;
      leaseId = this.leaseId = String(id);
    }
    try {
      await this.client.put(this.key).value(encodeRecord(this.self)).lease(leaseId).options({ deadline: this.deadline() }).exec();
    } catch (err) {
      if (err instanceof EtcdLeaseInvalidError) this.loseLease(lease, errText(err));
      throw err;
    }
    if (this.closed) return; // close() revokes this.lease (or already did); nothing else to do
    if (lease !== this.lease) {
      // Lost while the put was in flight: the record goes with the lease; register again.
      this.needRegister = true;
      return;
    }
    this.markReachable();
    const again = this.counters.registrations > 0;
    this.counters.registrations++;
    if (again) this.counters.reRegistrations++;
    this._leaseState = 'granted';
    this.log[again ? 'warn' : 'info'](
      { key: this.key, leaseId, ttl: this.leaseTtlSeconds, reRegistrations: this.counters.reRegistrations },
      again ? 're-registered in etcd' : 'registered in etcd',
    );
    this.emit({ type: 'registered', leaseId, reRegistration: again });
    this.registered.resolve();
  }

  /** The lease is gone (expired, revoked behind our back, or unreachable etcd for 2×TTL): register again. */
  private loseLease(lease: Lease, reason: string): void {
    if (lease !== this.lease || this.closed) return;
    const leaseId = this.leaseId ?? '';
    this.lease = null;
    this.leaseId = null;
    lease.release();
    this._leaseState = 'lost';
    this.counters.keepaliveLosses++;
    this.log.warn({ leaseId, reason }, 'lease lost; registering again with a new lease');
    this.emit({ type: 'lease-lost', leaseId, reason });
    this.kickRegister();
  }

  // ---------------------------------------------------------------- discovery

  private kickSync(): void {
    if (this.closed) return;
    this.needSync = true;
    if (this.syncing) return;
    this.syncing = this.syncLoop().finally(() => {
      this.syncing = null;
      if (this.needSync && !this.closed) this.kickSync();
    });
  }

  /** List the prefix, then watch from the list's revision + 1: no change between the two is lost. */
  private async syncLoop(): Promise<void> {
    let delay = this.retryInitialMs;
    while (this.needSync && !this.closed) {
      this.needSync = false;
      this.stopWatcher();
      if (this.watchFailuresInARow > 0) {
        // The list may succeed while the watch keeps failing: do not spin.
        await this.sleep(Math.min(this.retryInitialMs * 2 ** (this.watchFailuresInARow - 1), this.retryMaxMs));
        if (this.closed) return;
      }
      try {
        const res = await this.client.getAll().prefix(this.dir).options({ deadline: this.deadline() }).exec();
        if (this.closed) return;
        this.markReachable();
        this.known.clear();
        for (const kv of res.kvs) this.applyPut(kv.key.toString(), kv.value.toString());
        const revision = (BigInt(res.header.revision) + 1n).toString();
        this.startWatcher(revision);
        if (this.synced.done && !this.known.has(this.self.id) && this._leaseState === 'granted') {
          this.kickRegister(); // our record vanished (e.g. etcd lost its data): put it back
        }
        if (!this.synced.done) {
          this.flush(); // the first membership is published at once, not debounced
          this.synced.resolve();
        } else {
          this.scheduleChange();
        }
        delay = this.retryInitialMs;
      } catch (err) {
        if (this.closed) return;
        this.needSync = true;
        this.counters.etcdErrors++;
        if (isCredentialError(err)) {
          this.log.error({ err: errText(err), retryInMs: delay }, 'etcd refused our credentials or permissions; retrying');
          this.synced.reject(err as Error);
        } else {
          this.markUnreachable('list', err);
          this.log.warn({ err: errText(err), retryInMs: delay }, 'listing members failed; keeping the last membership');
        }
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.retryMaxMs);
      }
    }
  }

  private startWatcher(startRevision: string): void {
    const watcher = this.client.watch().prefix(this.dir).startRevision(startRevision).watcher();
    this.watcher = watcher;
    const restart = (reason: string) => {
      if (watcher !== this.watcher || this.closed) return;
      if (!this.watching) this.watchFailuresInARow++;
      this.watching = false;
      this.counters.watchRestarts++;
      this.log.warn({ reason }, 'watch interrupted; listing again and re-watching (last membership kept)');
      this.emit({ type: 'watch-restart', reason });
      this.kickSync();
    };
    watcher.on('connected', () => {
      if (watcher !== this.watcher) return;
      this.watching = true;
      this.watchFailuresInARow = 0;
      this.markReachable();
      this.log.debug({ startRevision }, 'watching');
      this.emit({ type: 'watch-started', revision: startRevision });
    });
    watcher.on('data', (res: IWatchResponse) => {
      if (watcher !== this.watcher || this.closed) return;
      let selfDeleted = false;
      for (const ev of res.events) {
        const key = ev.kv.key.toString();
        if (ev.type === 'Put') {
          this.applyPut(key, ev.kv.value.toString());
          if (key === this.key && this.leaseId !== null && ev.kv.lease !== this.leaseId) {
            this.log.error(
              { key, ourLease: this.leaseId, theirLease: ev.kv.lease },
              'another process wrote our record: duplicate node id?',
            );
          }
        } else if (key.startsWith(this.dir)) {
          const id = key.slice(this.dir.length);
          this.known.delete(id);
          if (id === this.self.id) selfDeleted = true;
        }
      }
      if (selfDeleted && this._leaseState === 'granted') {
        this.log.warn({ key: this.key }, 'our record was deleted behind our back; putting it back');
        this.kickRegister();
      }
      this.scheduleChange();
    });
    watcher.on('disconnected', (err: unknown) => restart(`disconnected: ${errText(err)}`));
    watcher.on('error', (err: unknown) => restart(`error: ${errText(err)}`)); // e.g. compacted revision
  }

  private stopWatcher(): void {
    const w = this.watcher;
    this.watcher = null;
    this.watching = false;
    if (w) void w.cancel().catch(() => {}); // fire and forget: must not wait on a dead stream
  }

  private applyPut(key: string, value: string): void {
    const node = decodeRecord(this.dir, key, value);
    if (node) this.known.set(node.id, node);
    else this.log.warn({ key }, 'ignoring an invalid membership record');
  }

  // ---------------------------------------------------------------- publication (debounced)

  private current(): NodeInfo[] {
    const byId = new Map(this.known);
    byId.set(this.self.id, this.self);
    return sortById(byId.values());
  }

  private scheduleChange(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.debounceTimer) {
      clearTimeout(this.debounceTimer);
      if (now - this.pendingSince >= this.debounceMaxMs) {
        this.debounceTimer = null;
        this.flush();
        return;
      }
    } else {
      this.pendingSince = now;
    }
    const wait = Math.min(this.debounceMs, this.debounceMaxMs - (now - this.pendingSince));
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      this.flush();
    }, Math.max(0, wait));
  }

  private flush(): void {
    const next = this.current();
    const key = membershipKey(next);
    if (key === this.publishedKey) return;
    const diff = diffMembers(this.published, next);
    this.published = Object.freeze(next);
    this.publishedKey = key;
    this.counters.membershipChanges++;
    const ids = (l: NodeInfo[]) => l.map((n) => n.id);
    this.log.info(
      { members: ids(next), added: ids(diff.added), removed: ids(diff.removed), changed: ids(diff.changed) },
      'membership changed',
    );
    this.emit({
      type: 'members-changed',
      members: next,
      added: ids(diff.added),
      removed: ids(diff.removed),
      changed: ids(diff.changed),
    });
    for (const l of [...this.listeners]) {
      try {
        l(next);
      } catch (err) {
        this.log.error({ err: errText(err) }, 'membership listener threw');
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Absolute deadline for one unary call (including etcd3's internal retries of it). */
  private deadline(): number {
    return Date.now() + (this.reachable ? this.callTimeoutMs : Math.max(this.callTimeoutMs, this.dialTimeoutMs));
  }

  private markReachable(): void {
    if (this.reachable) return;
    this.reachable = true;
    this.log.info({}, 'etcd reachable');
    this.emit({ type: 'etcd-reachable' });
  }

  private markUnreachable(op: string, err: unknown): void {
    if (err instanceof EtcdLeaseInvalidError || err instanceof ClosedError || !this.reachable) return;
    this.reachable = false;
    this.log.warn({ op, err: errText(err) }, 'etcd unreachable; serving with the last known membership');
    this.emit({ type: 'etcd-unreachable', op, reason: errText(err) });
  }

  private emit(event: MembershipEvent): void {
    for (const l of [...this.eventListeners]) {
      try {
        l(event);
      } catch (err) {
        this.log.error({ err: errText(err) }, 'membership event listener threw');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.sleeps.add(entry);
    });
  }

  private endpointsForLog(): string[] {
    return this.hosts;
  }
}

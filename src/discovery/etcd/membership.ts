/**
 * Membership in etcd: registration with a lease (lease.ts), discovery by list-then-watch
 * (watch.ts), debounced publication (publisher.ts), over one etcd client (client.ts). Implements
 * the cluster's Membership interface. See docs/discovery.md for the design.
 */
import { ClosedError } from '../../cluster/errors.js';
import type { Membership, MembershipListener, NodeInfo } from '../../cluster/membership.js';
import { checkNodeId } from '../../cluster/validate.js';
import { encodeRecord, recordKey, serviceDir } from '../record.js';
import { EtcdConnection } from './client.js';
import { Registration } from './lease.js';
import { Publisher } from './publisher.js';
import {
  checkLeaseTtl,
  ETCD_DEFAULTS,
  noopLogger,
  type EtcdMembershipOptions,
  type EtcdMembershipStats,
  type LeaseState,
  type MembershipCounters,
  type MembershipEvent,
  type MembershipEventListener,
  type MembershipLogger,
} from './options.js';
import { MemberWatch } from './watch.js';

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

export class EtcdMembership implements Membership {
  readonly self: NodeInfo;
  /** `<prefix>/<service>/` */
  readonly dir: string;
  readonly key: string;
  readonly leaseTtlSeconds: number;

  private readonly log: MembershipLogger;
  private readonly startTimeoutMs: number;
  private readonly conn: EtcdConnection;
  private readonly registration: Registration;
  private readonly watch: MemberWatch;
  private readonly publisher: Publisher;
  private readonly eventListeners = new Set<MembershipEventListener>();
  private readonly rejoinListeners = new Set<() => void>();
  private readonly counters: MembershipCounters = {
    registrations: 0,
    reRegistrations: 0,
    rejoins: 0,
    keepaliveLosses: 0,
    watchRestarts: 0,
    etcdErrors: 0,
    membershipChanges: 0,
  };
  private readonly abort = new AbortController();
  private readonly registered = deferred();
  private readonly synced = deferred();
  private startPromise: Promise<void> | null = null;
  private closePromise: Promise<void> | null = null;

  constructor(opts: EtcdMembershipOptions) {
    checkNodeId(opts.self.id);
    if (!opts.self.grpcAddress) throw new RangeError('self.grpcAddress is required (bind gRPC first, then register)');
    if (!opts.endpoints || opts.endpoints.length === 0) throw new RangeError('at least one etcd endpoint is required');
    const ttl = opts.leaseTtlSeconds ?? ETCD_DEFAULTS.leaseTtlSeconds;
    checkLeaseTtl(ttl);
    const d = ETCD_DEFAULTS;
    this.self = { ...opts.self, startedAt: opts.self.startedAt ?? Date.now() };
    this.dir = serviceDir(opts.prefix ?? d.prefix, opts.service ?? d.service);
    this.key = recordKey(this.dir, this.self.id);
    this.leaseTtlSeconds = ttl;
    this.startTimeoutMs = opts.startTimeoutMs ?? d.startTimeoutMs;
    this.log = opts.logger ?? noopLogger;
    const retryInitialMs = opts.retryInitialMs ?? d.retryInitialMs;
    const retryMaxMs = Math.max(retryInitialMs, opts.retryMaxMs ?? d.retryMaxMs);
    const debounceMs = opts.debounceMs ?? d.debounceMs;
    const common = {
      log: this.log,
      counters: this.counters,
      emit: (e: MembershipEvent) => this.emit(e),
      signal: this.abort.signal,
      retryInitialMs,
      retryMaxMs,
    };
    this.conn = new EtcdConnection({
      endpoints: opts.endpoints,
      ...(opts.tls ? { tls: opts.tls } : {}),
      ...(opts.auth ? { auth: opts.auth } : {}),
      dialTimeoutMs: opts.dialTimeoutMs ?? d.dialTimeoutMs,
      callTimeoutMs: opts.callTimeoutMs ?? d.callTimeoutMs,
      retryMaxMs,
      log: this.log,
      emit: common.emit,
    });
    this.publisher = new Publisher({
      self: this.self,
      debounceMs,
      debounceMaxMs: Math.max(debounceMs, opts.debounceMaxMs ?? d.debounceMaxMs),
      log: this.log,
      counters: this.counters,
      emit: common.emit,
      current: () => {
        const byId = new Map(this.watch.known);
        byId.set(this.self.id, this.self);
        return byId.values();
      },
    });
    this.registration = new Registration({
      ...common,
      conn: this.conn,
      key: this.key,
      value: encodeRecord(this.self),
      ttlSeconds: ttl,
      onRegistered: () => this.registered.resolve(),
      onCredentialError: (err) => this.registered.reject(err),
      onRejoin: () => {
        for (const l of [...this.rejoinListeners]) l();
      },
    });
    this.watch = new MemberWatch({
      ...common,
      conn: this.conn,
      dir: this.dir,
      selfId: this.self.id,
      onChange: (first) => {
        if (first) {
          this.publisher.flush(); // the first membership is published at once, not debounced
          this.synced.resolve();
        } else {
          this.publisher.schedule();
        }
      },
      onSelfMissing: () => {
        if (this.registration.leaseState !== 'granted') return;
        this.log.warn({ key: this.key }, 'our record was deleted behind our back; putting it back');
        this.registration.register();
      },
      isOurLease: (lease) => this.registration.isOurLease(lease),
      onCredentialError: (err) => this.synced.reject(err),
    });
  }

  // ---------------------------------------------------------------- Membership

  members(): readonly NodeInfo[] {
    return this.publisher.members;
  }

  onChange(listener: MembershipListener): () => void {
    this.publisher.listeners.add(listener);
    return () => {
      this.publisher.listeners.delete(listener);
    };
  }

  /** Called when a registration found our record gone: the other nodes had dropped this node. */
  onRejoin(listener: () => void): () => void {
    this.rejoinListeners.add(listener);
    return () => {
      this.rejoinListeners.delete(listener);
    };
  }

  /** Registers (lease + put) and lists + watches; resolves when both have succeeded once. */
  start(): Promise<void> {
    if (this.abort.signal.aborted) return Promise.reject(new ClosedError('etcd membership closed'));
    if (this.startPromise) return this.startPromise;
    this.log.info(
      { key: this.key, endpoints: this.conn.hosts, leaseTtlSeconds: this.leaseTtlSeconds },
      'etcd membership starting',
    );
    this.registration.register();
    this.watch.sync();
    const both = Promise.all([this.registered.promise, this.synced.promise]).then(() => {
      this.log.info({ members: this.members().map((m) => m.id), leaseId: this.currentLeaseId }, 'etcd membership started');
    });
    if (this.startTimeoutMs <= 0) return (this.startPromise = both);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const what = [!this.registered.done && 'registration', !this.synced.done && 'list/watch'].filter(Boolean);
        reject(
          new Error(
            `etcd membership: ${what.join(' and ')} not done within ${this.startTimeoutMs} ms ` +
              `(endpoints ${this.conn.hosts.join(', ')}); still retrying in the background`,
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
    this.abort.abort();
    this.closePromise = (async () => {
      const err = new ClosedError('etcd membership closed');
      this.registered.reject(err);
      this.synced.reject(err);
      this.publisher.stop();
      await this.registration.revoke();
      await this.watch.close();
      this.conn.close();
      this.log.info({}, 'etcd membership closed');
      this.emit({ type: 'closed' });
    })();
    return this.closePromise;
  }

  // ---------------------------------------------------------------- state for metrics and logs

  get leaseState(): LeaseState {
    return this.registration.leaseState;
  }

  get currentLeaseId(): string | null {
    return this.registration.currentLeaseId;
  }

  get etcdReachable(): boolean {
    return this.conn.isReachable;
  }

  get isWatching(): boolean {
    return this.watch.isWatching;
  }

  getCounters(): Readonly<MembershipCounters> {
    return { ...this.counters };
  }

  stats(): EtcdMembershipStats {
    return {
      leaseState: this.leaseState,
      leaseId: this.currentLeaseId,
      lastKeepaliveAt: this.registration.lastKeepaliveAt,
      etcdReachable: this.etcdReachable,
      watching: this.isWatching,
      members: this.members().length,
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

  private emit(event: MembershipEvent): void {
    for (const l of [...this.eventListeners]) {
      try {
        l(event);
      } catch (err) {
        this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'membership event listener threw');
      }
    }
  }
}

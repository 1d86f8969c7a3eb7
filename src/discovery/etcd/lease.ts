/**
 * Registration of this node in etcd: a lease (TTL `leaseTtlSeconds`, kept alive by etcd3) and the
 * node's record put with it. A lost lease is replaced and the record put again; close() revokes.
 *
 *             start()                      put ok
 *   none ──► grant lease ──► put record ───────────► granted ◄──────────────┐
 *               ▲   │ fails        │ fails                             │      │ put ok
 *               │   └── backoff ◄──┘                                   │      │
 *               │   keepalive says TTL=0 / no keepalive for 2 × TTL    ▼      │
 *               └───────────── put says "lease not found" ──────── lost ─────┘
 *   close(): revoke (with a deadline) ──► revoked
 *
 * A re-registration first reads the record: if it is gone (it expired with its lease, or was
 * deleted), the other nodes have dropped this node — a *rejoin*, reported through `onRejoin`
 * before the record reappears, so the cluster stops trusting what it held as owner before
 * (docs/cluster.md, "Writes and membership changes"). Every put also asks etcd for the previous
 * record, as a second check (and for the first registration).
 */
import { EtcdLeaseInvalidError, type Lease } from 'etcd3';
import { ClosedError } from '../../cluster/errors.js';
import { errText, reportEtcdFailure, type EtcdConnection } from './client.js';
import { RetryingTask } from './retrying-task.js';
import { type LeaseState, type MembershipCounters, type MembershipEvent, type MembershipLogger } from './options.js';

export interface RegistrationOptions {
  conn: EtcdConnection;
  /** The record's key and value. */
  key: string;
  value: string;
  ttlSeconds: number;
  retryInitialMs: number;
  retryMaxMs: number;
  signal: AbortSignal;
  log: MembershipLogger;
  counters: MembershipCounters;
  emit(event: MembershipEvent): void;
  /** Registered (the first time, and after every re-registration). */
  onRegistered(): void;
  /** etcd refused our credentials or permissions (retrying goes on). */
  onCredentialError(err: Error): void;
  /** Our record had vanished before this registration: the others had dropped this node. */
  onRejoin(): void;
}

export class Registration {
  private lease: Lease | null = null;
  private leaseId: string | null = null;
  private state: LeaseState = 'none';
  private lastKeepalive: number | null = null;
  private readonly task: RetryingTask;

  constructor(private readonly o: RegistrationOptions) {
    this.task = new RetryingTask(() => this.attempt(), {
      initialMs: o.retryInitialMs,
      maxMs: o.retryMaxMs,
      signal: o.signal,
      onFailure: (err, delayMs) => {
        reportEtcdFailure(o, 'register', 'registration failed; retrying', err, delayMs);
        o.emit({ type: 'register-failed', reason: errText(err) });
      },
    });
  }

  get leaseState(): LeaseState {
    return this.state;
  }

  get currentLeaseId(): string | null {
    return this.leaseId;
  }

  get lastKeepaliveAt(): number | null {
    return this.lastKeepalive;
  }

  /** (Re-)register: grant a lease if there is none, put the record. Retries until it succeeds. */
  register(): void {
    this.task.kick();
  }

  /** Revoke the lease (peers drop this node at once) and wait for a registration in flight. */
  async revoke(): Promise<void> {
    const lease = this.lease;
    const leaseId = this.leaseId;
    this.lease = null;
    if (lease && leaseId) {
      try {
        await lease.revoke({ deadline: this.o.conn.deadline() });
        this.state = 'revoked';
        this.o.log.info({ leaseId }, 'lease revoked');
        this.o.emit({ type: 'revoked', leaseId });
      } catch (e) {
        lease.release();
        this.state = 'lost';
        this.o.log.warn({ leaseId, err: errText(e) }, 'lease revoke failed; the record expires after the TTL');
        this.o.emit({ type: 'revoke-failed', leaseId, reason: errText(e) });
      }
    }
    // A registration in flight revokes whatever it granted once it sees the abort.
    await this.task.settled();
  }

  /** Is `lease` (of a watched put of our key) ours? */
  isOurLease(lease: string): boolean {
    return this.leaseId === null || this.leaseId === lease;
  }

  private async attempt(): Promise<void> {
    try {
      await this.registerOnce();
    } catch (err) {
      if (!(err instanceof EtcdLeaseInvalidError) || this.o.signal.aborted) throw err;
      await this.registerOnce(); // the lease vanished under the put: a new one right away
    }
  }

  private async registerOnce(): Promise<void> {
    const o = this.o;
    let lease = this.lease;
    let leaseId = this.leaseId;
    if (!lease || !leaseId) {
      const granted = o.conn.client.lease(o.ttlSeconds, { deadline: o.conn.deadline() });
      granted.on('lost', (err) => this.lose(granted, errText(err)));
      granted.on('keepaliveSucceeded', () => {
        if (granted !== this.lease) return;
        this.lastKeepalive = Date.now();
        o.conn.markReachable();
      });
      granted.on('keepaliveFailed', (err) => {
        if (granted === this.lease) o.conn.markUnreachable('keepalive', err);
      });
      const id = await granted.grant(); // rejects (and emits 'lost', ignored: not current) on failure
      if (o.signal.aborted) {
        await granted.revoke({ deadline: o.conn.deadline() }).catch(() => granted.release());
        throw new ClosedError('etcd membership closed');
      }
      o.conn.markReachable();
      lease = this.lease = granted;
      leaseId = this.leaseId = String(id);
    }
    // Coming back (not the first registration): if our record is gone, the others have dropped this
    // node; say so before the record reappears, so nothing held from before is served to them.
    let rejoinSignaled = false;
    if (o.counters.registrations > 0) {
      const existing = await o.conn.client.get(o.key).options({ deadline: o.conn.deadline() }).string();
      if (o.signal.aborted) throw new ClosedError('etcd membership closed');
      if (existing === null) {
        rejoinSignaled = true;
        o.onRejoin();
      }
    }
    let previous: { key?: unknown } | undefined;
    try {
      previous = await o.conn.client
        .put(o.key)
        .value(o.value)
        .lease(leaseId)
        .options({ deadline: o.conn.deadline() })
        .getPrevious();
    } catch (err) {
      if (err instanceof EtcdLeaseInvalidError) this.lose(lease, errText(err));
      throw err;
    }
    if (o.signal.aborted) return; // close() revokes this.lease (or already did); nothing else to do
    if (lease !== this.lease) {
      // Lost while the put was in flight: the record goes with the lease; register again.
      this.task.kick();
      return;
    }
    o.conn.markReachable();
    const again = o.counters.registrations > 0;
    const rejoin = previous?.key === undefined || previous.key === null;
    o.counters.registrations++;
    if (again) o.counters.reRegistrations++;
    if (again && rejoin) o.counters.rejoins++;
    this.state = 'granted';
    o.log[again ? 'warn' : 'info'](
      { key: o.key, leaseId, ttl: o.ttlSeconds, reRegistrations: o.counters.reRegistrations, rejoin: again && rejoin },
      again ? 're-registered in etcd' : 'registered in etcd',
    );
    if (rejoin && !rejoinSignaled) o.onRejoin();
    o.emit({ type: 'registered', leaseId, reRegistration: again, rejoin: again && rejoin });
    o.onRegistered();
  }

  /** The lease is gone (expired, revoked behind our back, or unreachable etcd for 2×TTL): register again. */
  private lose(lease: Lease, reason: string): void {
    if (lease !== this.lease || this.o.signal.aborted) return;
    const leaseId = this.leaseId ?? '';
    this.lease = null;
    this.leaseId = null;
    lease.release();
    this.state = 'lost';
    this.o.counters.keepaliveLosses++;
    this.o.log.warn({ leaseId, reason }, 'lease lost; registering again with a new lease');
    this.o.emit({ type: 'lease-lost', leaseId, reason });
    this.register();
  }
}

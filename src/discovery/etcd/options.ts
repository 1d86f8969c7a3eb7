/**
 * Options of membership in etcd with their defaults and rules, its events and counters (see
 * docs/discovery.md). Light on purpose (no etcd3 import): the node's configuration reads it.
 */
import { z } from 'zod';
import type { NodeInfo } from '../../cluster/membership.js';

/** Pino-compatible logger (`logger.info({ ...fields }, 'message')`). */
export interface MembershipLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const noopLogger: MembershipLogger = { debug() {}, info() {}, warn() {}, error() {} };

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
  /** Retry backoff (registration, list/watch) starts here and grows exponentially (with jitter). Default 200. */
  retryInitialMs?: number;
  /** ...up to this; also how long an endpoint that failed 3 times in a row is skipped. Default 2000. */
  retryMaxMs?: number;
  /**
   * start() rejects if registration + first list have not succeeded within this time (0 = wait forever).
   * The instance keeps retrying in the background after the rejection; call close() to give up. Default 30000.
   */
  startTimeoutMs?: number;
}

/** Defaults of EtcdMembershipOptions (the one place they are written). */
export const ETCD_DEFAULTS = {
  prefix: '/arenacache',
  service: 'default',
  leaseTtlSeconds: 5,
  /** etcd 3.4 raises any smaller lease TTL to 2 s. */
  minLeaseTtlSeconds: 2,
  dialTimeoutMs: 3000,
  callTimeoutMs: 2000,
  debounceMs: 100,
  debounceMaxMs: 1000,
  retryInitialMs: 200,
  retryMaxMs: 2000,
  startTimeoutMs: 30_000,
} as const;

const leaseTtlRule = `must be an integer >= ${ETCD_DEFAULTS.minLeaseTtlSeconds} (etcd 3.4's minimum lease TTL)`;

/** Rules of EtcdMembershipOptions (the one place they are written; the node's config reuses them). */
export const ETCD_OPTION_RULES = {
  /** Lease TTLs: integer seconds ≥ 2 (etcd 3.4's minimum; it raises anything smaller). */
  leaseTtlSeconds: z.number({ error: leaseTtlRule }).int(leaseTtlRule).min(ETCD_DEFAULTS.minLeaseTtlSeconds, leaseTtlRule),
} as const;

export function checkLeaseTtl(ttl: unknown): asserts ttl is number {
  if (!ETCD_OPTION_RULES.leaseTtlSeconds.safeParse(ttl).success) throw new RangeError(`leaseTtlSeconds ${leaseTtlRule}; got ${String(ttl)}`);
}

export type LeaseState = 'none' | 'granted' | 'lost' | 'revoked';

export interface MembershipCounters {
  /** Successful registrations (puts of our record with a live lease), the first one included. */
  registrations: number;
  /** Registrations after the first (lease lost, record deleted behind our back). */
  reRegistrations: number;
  /** Registrations that found our record gone: the other nodes had dropped this one (a "rejoin"). */
  rejoins: number;
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
  | { type: 'registered'; leaseId: string; reRegistration: boolean; rejoin: boolean }
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

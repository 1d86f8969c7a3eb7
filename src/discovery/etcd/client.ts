/**
 * The etcd client of one membership: an etcd3 `Etcd3` with deadlines on every unary call, a
 * per-endpoint circuit breaker (endpoint-breaker.ts), its own gRPC connections, and what this node
 * knows about whether etcd is reachable (which sets the next call's deadline).
 */
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  EtcdUserNotFoundError,
  GRPCUnauthenticatedError,
  type IOptions,
} from 'etcd3';
import { ClosedError } from '../../cluster/errors.js';
import { EndpointBreaker } from './endpoint-breaker.js';
import type { EtcdTlsOptions, MembershipCounters, MembershipEvent, MembershipLogger } from './options.js';

/** Consecutive transient failures after which an endpoint is skipped (for `retryMaxMs`). */
const ENDPOINT_FAILURES_TO_SKIP = 3;

export interface EtcdConnectionOptions {
  endpoints: string[];
  tls?: EtcdTlsOptions;
  auth?: { username: string; password: string };
  dialTimeoutMs: number;
  callTimeoutMs: number;
  /** How long an endpoint that failed repeatedly is skipped; also the reconnect backoff cap. */
  retryMaxMs: number;
  log: MembershipLogger;
  emit(event: MembershipEvent): void;
}

/** `host:port` gets `http://` (`https://` with TLS); URLs are kept. */
export function endpointUrls(endpoints: readonly string[], secure: boolean): string[] {
  return endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `${secure ? 'https' : 'http'}://${e}`));
}

/** Errors that retrying will not fix (wrong credentials, missing permissions): start() fails on them. */
export function isCredentialError(err: unknown): boolean {
  return (
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdUserNotFoundError ||
    err instanceof EtcdPermissionDeniedError ||
    err instanceof GRPCUnauthenticatedError ||
    (err instanceof Error && /etcdserver: user name is empty/.test(err.message))
  );
}

/** What a retried etcd task (registration, listing) reports its failures to. */
export interface EtcdTaskReporting {
  conn: EtcdConnection;
  log: MembershipLogger;
  counters: MembershipCounters;
  onCredentialError(err: Error): void;
}

/**
 * A retried etcd task's failed attempt: counted; refused credentials or permissions reported as
 * such, anything else marks the connection unreachable (for `op`) and is logged with `message`.
 */
export function reportEtcdFailure(o: EtcdTaskReporting, op: string, message: string, err: unknown, delayMs: number): void {
  o.counters.etcdErrors++;
  if (isCredentialError(err)) {
    o.log.error({ err: errText(err), retryInMs: delayMs }, 'etcd refused our credentials or permissions; retrying');
    o.onCredentialError(err as Error);
  } else {
    o.conn.markUnreachable(op, err);
    o.log.warn({ err: errText(err), retryInMs: delayMs }, message);
  }
}

export function errText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v;
}

export class EtcdConnection {
  readonly client: Etcd3;
  /** The endpoint URLs (for logs and errors). */
  readonly hosts: string[];
  private reachable = false;

  constructor(private readonly o: EtcdConnectionOptions) {
    this.hosts = endpointUrls(o.endpoints, o.tls !== undefined);
    const callTimeoutMs = o.callTimeoutMs;
    const options: IOptions = {
      hosts: this.hosts,
      dialTimeout: o.dialTimeoutMs, // not used by etcd3 1.1.2 (microsoft/etcd3#137); see deadline()
      // Safety net: every unary call made anywhere in etcd3 (including its internal ones such as the
      // auth token exchange) gets a deadline. Our own calls pass an explicit absolute deadline, which
      // also bounds etcd3's internal retries. Streams (watch, keepalive) get none.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      // Skip an endpoint for retryMaxMs after 3 consecutive transient failures, then let one call
      // probe it (etcd3's default breaker skips it for a fixed 5 s, which delays recovery after an
      // etcd restart). etcd3 tries the next endpoint while one is skipped. The breaker's error
      // names the last failure, so the cause survives it (endpoint-breaker.ts).
      faultHandling: { host: (h) => new EndpointBreaker(h, o.retryMaxMs, ENDPOINT_FAILURES_TO_SKIP) },
      grpcOptions: {
        // Own connections per client: nodes in one process (tests) do not share a subchannel, and a
        // reconnect after an outage is not stuck behind another channel's backoff.
        'grpc.use_local_subchannel_pool': 1,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': o.retryMaxMs,
        // Detect a silently dead connection (no RST). etcd's default --grpc-keepalive-min-time is 5 s.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
    };
    if (o.tls) {
      options.credentials = {
        rootCertificate: toBuffer(o.tls.ca),
        ...(o.tls.key !== undefined ? { privateKey: toBuffer(o.tls.key) } : {}),
        ...(o.tls.cert !== undefined ? { certChain: toBuffer(o.tls.cert) } : {}),
      };
    }
    if (o.auth) {
      options.auth = {
        username: o.auth.username,
        password: o.auth.password,
        callOptions: () => ({ deadline: this.deadline() }),
      };
    }
    this.client = new Etcd3(options);
  }

  get isReachable(): boolean {
    return this.reachable;
  }

  /**
   * Absolute deadline for one unary call (including etcd3's internal retries of it): the call
   * timeout while etcd answers, the longer dial timeout when the call may have to connect first.
   */
  deadline(): number {
    return Date.now() + (this.reachable ? this.o.callTimeoutMs : Math.max(this.o.callTimeoutMs, this.o.dialTimeoutMs));
  }

  markReachable(): void {
    if (this.reachable) return;
    this.reachable = true;
    this.o.log.info({}, 'etcd reachable');
    this.o.emit({ type: 'etcd-reachable' });
  }

  markUnreachable(op: string, err: unknown): void {
    if (err instanceof EtcdLeaseInvalidError || err instanceof ClosedError || !this.reachable) return;
    this.reachable = false;
    this.o.log.warn({ op, err: errText(err) }, 'etcd unreachable; serving with the last known membership');
    this.o.emit({ type: 'etcd-unreachable', op, reason: errText(err) });
  }

  close(): void {
    this.client.close();
  }
}

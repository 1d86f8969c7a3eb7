/**
 * A node as people run it: the HTTP API, the cluster (gRPC peer server, ring, groups) and its
 * membership (static or etcd), with readiness and a bounded graceful shutdown.
 *
 * Start: bind HTTP (healthz answers, readyz 503) → create groups and their origins → bind gRPC →
 * join the membership (etcd: register + list/watch) → ring built → ready.
 * Stop: readyz 503 → leave the membership (etcd lease revoked: peers drop this node at once) →
 * optional drain delay → stop accepting HTTP connections → finish in-flight requests within the bound → close loads,
 * peer channels and the gRPC server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Cluster } from '../cluster/cluster.js';
import { StaticMembership, type Membership, type NodeInfo } from '../cluster/membership.js';
import { checkNodeId } from '../cluster/validate.js';
import { ClosedError } from '../cluster/errors.js';
import type { CacheStats } from '../core/types.js';
import { EtcdMembership } from '../discovery/etcd/membership.js';
import { etcdMembershipOptions } from '../discovery/config.js';
import { advertiseHostOf, ConfigError, formatHostPort, redactedConfig, type NodeConfig } from './config.js';
import { createHandler } from './http-api.js';
import type { Logger } from './logger.js';
import { NodeMetrics, type GroupSnapshot } from './metrics.js';
import { createLoader } from './origins.js';
import { grpcTransport } from '../transport/grpc-transport.js';
import { readClusterSecret } from '../transport/auth.js';
import { publicConfig } from './cluster-options.js';
import type { Loader } from '../cluster/types.js';

export type NodeState = 'created' | 'starting' | 'ready' | 'draining' | 'stopped';

export interface NodeServerOptions {
  config: NodeConfig;
  logger: Logger;
  version: string;
}

/** `id=host:port` or `host:port` (id = the address). */
export function parsePeers(list: readonly string[]): NodeInfo[] {
  return list.map((entry) => {
    const eq = entry.indexOf('=');
    const id = eq < 0 ? entry : entry.slice(0, eq).trim();
    const addr = eq < 0 ? entry : entry.slice(eq + 1).trim();
    if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/.test(addr) || Number(addr.slice(addr.lastIndexOf(':') + 1)) > 65535) {
      throw new ConfigError(`peer ${JSON.stringify(entry)}: expected id=host:port or host:port`);
    }
    try {
      checkNodeId(id);
    } catch (err) {
      throw new ConfigError(`peer ${JSON.stringify(entry)}: ${(err as Error).message}`);
    }
    return { id, grpcAddress: addr };
  });
}

export class NodeServer {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly version: string;
  readonly metrics: NodeMetrics;
  private readonly http: Server;
  private cluster: Cluster | undefined;
  private membership: Membership | undefined;
  private etcd: EtcdMembership | undefined;
  private nodeState: NodeState = 'created';
  private readonly startedAt = Date.now();
  private httpAddr = '';
  private inFlight = 0;
  private membershipChanges = -1;
  private stopping: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private stopRequested = false;
  private readonly staticPeers: NodeInfo[];

  constructor(options: NodeServerOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.version = options.version;
    this.staticPeers = this.config.etcd ? [] : parsePeers(this.config.peers);
    this.metrics = new NodeMetrics({
      groups: () => this.groupSnapshots(),
      members: () => this.cluster?.members().length ?? 0,
      ringSize: () => this.cluster?.ring.size ?? 0,
      membershipChanges: () => Math.max(0, this.membershipChanges),
      ready: () => this.readiness().ready,
      grpcServer: () => (this.cluster ? this.cluster.stats().server : undefined),
      etcd: () => this.etcd?.stats(),
    });
    const handler = createHandler({
      cluster: () => (this.nodeState === 'ready' || this.nodeState === 'draining' ? this.cluster : undefined),
      readiness: () => this.readiness(),
      stats: (authenticated) => this.stats(authenticated),
      members: () => this.members(),
      metrics: this.metrics,
      authToken: this.config.http.authToken,
      readToken: this.config.http.readToken,
      logger: this.logger,
      draining: () => this.nodeState === 'draining' || this.nodeState === 'stopped',
    });
    this.http = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
      this.inFlight++;
      res.once('close', () => this.inFlight--);
      handler(req, res);
    });
  }

  get state(): NodeState {
    return this.nodeState;
  }

  get httpAddress(): string {
    return this.httpAddr;
  }

  get self(): NodeInfo | undefined {
    return this.cluster?.self;
  }

  readiness(): { ready: boolean; state: NodeState; reason?: string; lease?: string } {
    const state = this.nodeState;
    if (state !== 'ready') return { ready: false, state, reason: state === 'draining' || state === 'stopped' ? 'shutting down' : 'starting' };
    // 'ready' is reached only after the first registration and ring build. A later etcd outage does
    // not make the node unready: it keeps serving with its last membership and re-registers by
    // itself (see docs/discovery.md), so a load balancer must not pull every node at once.
    const lease = this.etcd?.leaseState;
    return lease === undefined ? { ready: true, state } : { ready: true, state, lease };
  }

  /**
   * Bind HTTP, build groups, bind gRPC, join the membership. Rejects (after cleaning up) on
   * failure, and with ClosedError when stop() is called meanwhile (stop() then waits for it).
   */
  start(): Promise<void> {
    if (this.nodeState !== 'created') return Promise.reject(new Error('start() called twice'));
    this.nodeState = 'starting';
    this.starting = this.startSteps();
    return this.starting;
  }

  private async startSteps(): Promise<void> {
    const cfg = this.config;
    const stopped = (): void => {
      if (this.stopRequested) throw new ClosedError('stopped while starting');
    };
    const adv = advertiseHostOf(cfg);

    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(cfg.http.port, cfg.http.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.http.on('error', (err) => this.logger.error({ err: err.message }, 'http server error'));
    if (this.stopRequested) {
      await this.abortStart();
      stopped();
    }
    const httpPort = (this.http.address() as AddressInfo).port;
    this.httpAddr = formatHostPort(cfg.advertiseHost ?? (isWildcard(cfg.http.host) ? adv : cfg.http.host), httpPort);
    this.logger.info({ httpAddress: this.httpAddr }, 'http listening');

    const id = cfg.id ?? (cfg.grpc.port !== 0 ? formatHostPort(adv, cfg.grpc.port) : `${hostname()}-${process.pid}`);
    const cluster = new Cluster({
      self: { id, httpAddress: this.httpAddr, version: this.version, startedAt: this.startedAt },
      transport: grpcTransport({
        host: cfg.grpc.host,
        port: cfg.grpc.port,
        advertiseHost: adv,
        ...(cfg.grpc.tls ? { tls: cfg.grpc.tls } : {}),
        // Issue 13 options (cluster-options.ts): peer authentication.
        ...(cfg.cluster.secretFile !== undefined ? { secret: readClusterSecret(cfg.cluster.secretFile) } : {}),
        insecure: cfg.cluster.insecurePeers,
        shutdownGraceMs: Math.min(2000, cfg.shutdownTimeout),
      }),
      ownerTimeout: cfg.cluster.ownerTimeout,
      breakerFailures: cfg.cluster.breakerFailures,
      breakerHalfOpenMs: cfg.cluster.breakerHalfOpenMs,
      maxValueBytes: cfg.maxValueBytes,
      membership: (self) => this.createMembership(self),
    });
    this.cluster = cluster;
    cluster.on('membership', (members: readonly NodeInfo[]) => {
      this.membershipChanges++;
      this.logger.debug({ members: members.map((m) => m.id) }, 'ring rebuilt');
    });
    cluster.on('peer-suspect', (peer: NodeInfo) =>
      this.logger.warn({ peer: peer.id, grpcAddress: peer.grpcAddress }, 'peer suspect: it missed its deadlines; loading its keys locally'),
    );
    cluster.on('peer-recovered', (peer: NodeInfo) => this.logger.info({ peer: peer.id }, 'peer answering again'));
    cluster.on('rejoined', () => {
      if (this.nodeState === 'ready') {
        this.logger.warn({}, 'rejoined: the other nodes had dropped this one; not serving what it held as owner before');
      }
    });

    try {
      for (const g of cfg.groups) {
        // The group caps values by what one segment of its cache holds (a 64 MiB group: ~3.5 MB),
        // so the origin is built after the group, with the group's effective limit.
        let load: Loader | undefined;
        const group = await cluster.addGroup(g.name, {
          maxBytes: g.maxBytes,
          load: (key, ctx) => load!(key, ctx),
          ttl: g.ttl,
          notFoundTtl: g.notFoundTtl,
          loadTimeout: g.loadTimeout,
          maxKeyBytes: g.maxKeyBytes,
          maxValueBytes: g.maxValueBytes ?? cfg.maxValueBytes,
          ...(g.hotCacheFraction !== undefined ? { hotCacheFraction: g.hotCacheFraction } : {}),
          ...(g.fallbackToLocalLoad !== undefined ? { fallbackToLocalLoad: g.fallbackToLocalLoad } : {}),
        });
        load = await createLoader({ group: g, maxValueBytes: group.maxValueBytes, baseDir: cfg.baseDir, logger: this.logger });
        stopped();
      }
      await cluster.start(); // stop() closes the cluster: this rejects with ClosedError, nothing left registered
    } catch (err) {
      await this.abortStart();
      throw err;
    }
    if (this.nodeState !== 'starting') return; // a signal arrived while starting
    this.nodeState = 'ready';
    this.logger.info(
      {
        id: cluster.self.id,
        grpcAddress: cluster.self.grpcAddress,
        httpAddress: this.httpAddr,
        membership: this.etcd ? 'etcd' : 'static',
        members: cluster.members().map((m) => m.id),
        groups: cluster.groups().map((g) => ({
          name: g.name,
          maxBytes: g.mainBytes + g.hotBytes,
          maxValueBytes: g.maxValueBytes,
          origin: this.config.groups.find((x) => x.name === g.name)?.origin.type ?? 'none',
        })),
        version: this.version,
      },
      'ready',
    );
  }

  private async abortStart(): Promise<void> {
    if (this.nodeState === 'starting') this.nodeState = 'stopped';
    await this.cluster?.close().catch(() => {});
    this.http.close();
    this.http.closeAllConnections();
  }

  private createMembership(self: NodeInfo): Membership {
    const cfg = this.config;
    if (cfg.etcd) {
      const log = this.logger.child({ component: 'etcd' });
      const m = new EtcdMembership(etcdMembershipOptions(self, cfg.etcd, log));
      this.etcd = m;
      this.membership = m;
      return m;
    }
    const peers = this.staticPeers.filter((p) => p.id !== self.id && p.grpcAddress !== self.grpcAddress);
    if (peers.length > 0) {
      this.logger.info({ members: [self.id, ...peers.map((p) => p.id)].sort() }, 'static membership');
    }
    const m = new StaticMembership([self, ...peers]);
    this.membership = m;
    return m;
  }

  /**
   * Graceful stop, bounded by `shutdownTimeout`. Idempotent (a second call returns the first's
   * promise; the CLI exits at once on a second signal instead).
   */
  stop(reason = 'stop'): Promise<void> {
    this.stopping ??= this.drain(reason);
    return this.stopping;
  }

  private async drain(reason: string): Promise<void> {
    const t0 = Date.now();
    const deadline = t0 + this.config.shutdownTimeout;
    const wasStarting = this.nodeState === 'starting';
    this.nodeState = 'draining';
    this.logger.info({ reason, inFlight: this.inFlight, timeoutMs: this.config.shutdownTimeout }, 'draining');

    // 0. Stopped while starting: let start() stop at its next step (closing the cluster makes a
    // start blocked on the membership give up, revoking whatever it registered), then drain.
    if (wasStarting) {
      this.stopRequested = true;
      void this.cluster?.close();
      await bounded(this.starting?.catch(() => {}) ?? Promise.resolve(), deadline - Date.now());
    }

    // 1. Leave the membership first: with etcd, revoking the lease makes peers drop us at once.
    if (this.membership) {
      await bounded(this.membership.close(), deadline - Date.now()).catch((err: unknown) =>
        this.logger.warn({ err: String(err) }, 'leaving the membership failed'),
      );
    }
    // Load balancers watching readyz get `drainDelay` to stop sending before the listener closes.
    if (this.config.drainDelay > 0) await sleep(Math.min(this.config.drainDelay, deadline - Date.now()));
    // 2. Stop accepting; let in-flight requests finish within the bound.
    this.http.close();
    this.http.closeIdleConnections();
    while (this.inFlight > 0 && Date.now() < deadline) await sleep(10);
    if (this.inFlight > 0) {
      this.logger.warn({ inFlight: this.inFlight }, 'shutdown bound reached; closing connections with requests in flight');
    }
    this.http.closeAllConnections();
    // 3. Loads aborted, peer channels closed, gRPC server shut down (peers' calls get the grace).
    if (this.cluster) {
      await bounded(this.cluster.close(), Math.max(deadline - Date.now(), 0) + 500).catch((err: unknown) =>
        this.logger.warn({ err: String(err) }, 'closing the cluster failed'),
      );
    }
    this.nodeState = 'stopped';
    this.logger.info({ ms: Date.now() - t0 }, 'stopped');
  }

  // ------------------------------------------------------------------------- views

  private groupSnapshots(): GroupSnapshot[] {
    if (!this.cluster) return [];
    return this.cluster.groups().map((g) => ({ stats: g.stats(), ...g.cacheStats() }));
  }

  members(): unknown {
    const c = this.cluster;
    const selfId = c?.self.id;
    return {
      self: selfId ?? null,
      mode: this.config.etcd ? 'etcd' : 'static',
      ready: this.readiness().ready,
      members: (c?.members() ?? []).map((m) => ({
        id: m.id,
        grpcAddress: m.grpcAddress,
        httpAddress: m.httpAddress ?? null,
        ...(m.weight !== undefined ? { weight: m.weight } : {}),
        version: m.version ?? null,
        startedAt: m.startedAt ?? null,
        self: m.id === selfId,
      })),
      ringSize: c?.ring.size ?? 0,
    };
  }

  /** /v1/stats. Without a token (`authenticated` false) the config omits endpoints, origin URLs and paths. */
  stats(authenticated = false): unknown {
    const c = this.cluster;
    const cs = c?.stats();
    const groups: Record<string, unknown> = {};
    for (const s of this.groupSnapshots()) {
      const g = c!.groups().find((x) => x.name === s.stats.name)!;
      const { main: mainCounts, hot: hotCounts, ...counters } = s.stats;
      groups[s.stats.name] = {
        config: {
          maxBytes: g.mainBytes + g.hotBytes,
          ttl: g.ttl,
          notFoundTtl: g.notFoundTtl,
          loadTimeout: g.loadTimeout,
          maxKeyBytes: g.maxKeyBytes,
          maxValueBytes: g.maxValueBytes,
          origin: this.config.groups.find((x) => x.name === g.name)?.origin.type ?? 'none',
        },
        ...counters,
        main: s.main ? cacheView(s.main) : mainCounts,
        hot: s.hot ? cacheView(s.hot) : hotCounts,
      };
    }
    return {
      node: {
        id: c?.self.id ?? null,
        grpcAddress: c?.self.grpcAddress ?? null,
        httpAddress: this.httpAddr,
        version: this.version,
        startedAt: this.startedAt,
        uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
        ...this.readiness(),
      },
      membership: {
        mode: this.config.etcd ? 'etcd' : 'static',
        members: cs?.members ?? 0,
        ringSize: cs?.ringSize ?? 0,
        ...(this.etcd ? { etcd: this.etcd.stats() } : {}),
      },
      groups,
      grpc: cs?.server ?? null,
      peers: cs?.peers ?? [],
      config: authenticated ? redactedConfig(this.config) : publicConfig(redactedConfig(this.config)),
    };
  }
}

function cacheView(s: CacheStats): unknown {
  return {
    entries: s.entries,
    bytes: s.bytesUsed,
    budget: s.budget,
    memoryBytes: s.memoryBytes,
    hits: s.hits,
    misses: s.misses,
    sets: s.sets,
    deletes: s.deletes,
    evictions: s.evictions,
    expirations: s.expirations,
    rejected: s.rejected,
    hitRatio: s.hitRatio,
    fragmentation: s.fragmentation,
    segments: s.segments.map((g) => ({
      entries: g.entries,
      bytes: g.bytesUsed,
      budget: g.budget,
      freeBytes: g.freeBytes,
      hits: g.hits,
      misses: g.misses,
      sets: g.sets,
      deletes: g.deletes,
      evictions: g.evictions,
      expirations: g.expirations,
      rejected: g.rejected,
      compactions: g.compactions,
    })),
  };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Wait for `p` at most `ms` (the operation goes on in the background past it). */
function bounded<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, ms));
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * A node as people run it: the HTTP API, the cluster (gRPC peer server, ring, groups) and its
 * membership (static or etcd), with readiness and a bounded graceful shutdown.
 *
 * Start: bind HTTP (healthz answers, readyz 503) → create groups and their origins → bind gRPC →
 * join the membership (etcd: register + list/watch) → ring built → ready.
 * Stop: readyz 503 → leave the membership (etcd lease revoked: peers drop this node at once) →
 * optional drain delay → stop accepting HTTP connections → finish in-flight requests within the bound → close loads,
 * peer channels and the gRPC server → with --data-dir, write the groups' snapshots (warm-restart.ts).
 * With --data-dir, the snapshots are restored after the groups are created, before joining.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Cluster } from '../cluster/cluster.js';
import { StaticMembership, type Membership, type NodeInfo } from '../cluster/membership.js';
import { ClosedError } from '../cluster/errors.js';
import type { CacheStats } from '../core/types.js';
import { EtcdMembership } from '../discovery/etcd/membership.js';
import { etcdMembershipOptions } from '../discovery/config.js';
import { DnsMembership } from '../discovery/dns.js';
import { advertiseHostOf, formatHostPort, isWildcard, parsePeers, publicConfig, redactedConfig, type NodeConfig } from './config/index.js';
import { etcdCause } from './etcd-cause.js';
import { EtcdOutageLog } from './etcd-outage-log.js';
import { createHandler } from './http-api.js';
import type { Logger } from './logger.js';
import { NodeMetrics, type GroupSnapshot } from './metrics.js';
import { prepareOrigin } from './origins.js';
import { grpcTransport } from '../transport/grpc-transport.js';
import { readClusterSecret } from '../transport/auth.js';
import type { Loader } from '../cluster/types.js';
import { WarmRestart } from './warm-restart.js';

export type NodeState = 'created' | 'starting' | 'ready' | 'draining' | 'stopped';

export interface NodeServerOptions {
  config: NodeConfig;
  logger: Logger;
  version: string;
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
  private etcdLog: EtcdOutageLog | undefined;
  private dns: DnsMembership | undefined;
  private nodeState: NodeState = 'created';
  private readonly startedAt = Date.now();
  private httpAddr = '';
  private inFlight = 0;
  private membershipChanges = -1;
  private stopping: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private stopRequested = false;
  private readonly staticPeers: NodeInfo[];
  private readonly warm: WarmRestart | undefined;

  constructor(options: NodeServerOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.version = options.version;
    this.warm =
      this.config.dataDir === undefined
        ? undefined
        : new WarmRestart({ dir: this.config.dataDir, logger: this.logger, version: this.version, groups: this.config.groups });
    this.staticPeers = this.config.etcd || this.config.dns ? [] : parsePeers(this.config.peers);
    this.metrics = new NodeMetrics({
      groups: () => this.groupSnapshots(),
      members: () => this.cluster?.members().length ?? 0,
      ringSize: () => this.cluster?.ring.size ?? 0,
      membershipChanges: () => Math.max(0, this.membershipChanges),
      ready: () => this.readiness().ready,
      grpcServer: () => (this.cluster ? this.cluster.stats().server : undefined),
      etcd: () => this.etcd?.stats(),
      restores: () => this.warm?.reports() ?? [],
    }, { version: this.version });
    const handler = createHandler({
      cluster: () => (this.nodeState === 'ready' || this.nodeState === 'draining' ? this.cluster : undefined),
      readiness: () => this.readiness(),
      stats: (authenticated) => this.stats(authenticated),
      members: () => this.members(),
      metrics: this.metrics,
      authToken: this.config.http.authToken,
      readToken: this.config.http.readToken,
      adminToken: this.config.http.adminToken,
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

  /** While snapshots are being written at shutdown: the bytes written so far; else undefined. */
  get snapshotProgress(): number | undefined {
    return this.warm?.writeProgress;
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

    // Origins first: a missing or broken module origin is reported before anything listens.
    let origins;
    try {
      origins = await Promise.all(cfg.groups.map((g) => prepareOrigin(g, cfg.baseDir)));
    } catch (err) {
      if (this.nodeState === 'starting') this.nodeState = 'stopped';
      throw err;
    }

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
        ...(cfg.cluster.secretFile !== undefined ? { secret: readClusterSecret(cfg.cluster.secretFile) } : {}),
        insecure: cfg.cluster.insecurePeers,
        batch: cfg.grpc.batch,
        stream: cfg.grpc.stream,
        shutdownGraceMs: Math.min(2000, cfg.shutdownTimeout),
      }),
      ownerTimeout: cfg.cluster.ownerTimeout,
      breakerFailures: cfg.cluster.breakerFailures,
      breakerHalfOpenMs: cfg.cluster.breakerHalfOpen,
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
    cluster.on('restore-dropped', (reason: string) => this.warm?.dropped(reason));
    cluster.on('rejoined', () => {
      if (this.nodeState === 'ready') {
        this.logger.warn({}, 'rejoined: the other nodes had dropped this one; not serving what it held as owner before');
      }
    });

    try {
      for (const [i, g] of cfg.groups.entries()) {
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
        load = origins[i]!.loader({ group: g, maxValueBytes: group.maxValueBytes, baseDir: cfg.baseDir, logger: this.logger });
        stopped();
      }
      // Warm restart: the snapshots go in before the node joins (and before it is ready).
      await this.warm?.restore(cluster, () => this.stopRequested);
      stopped();
      await this.joinCluster(cluster); // stop() closes the cluster: this rejects with ClosedError, nothing left registered
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
        membership: this.membershipMode(),
        members: cluster.members().map((m) => m.id),
        groups: cluster.groups().map((g) => ({
          name: g.name,
          maxBytes: g.mainBytes + g.hotBytes,
          maxValueBytes: g.maxValueBytes,
          origin: this.config.groups.find((x) => x.name === g.name)?.origin.type ?? 'none',
          ...(this.warm ? { restored: this.warm.reports().find((r) => r.group === g.name)?.entries ?? 0 } : {}),
        })),
        version: this.version,
      },
      'ready',
    );
  }

  /**
   * Bind gRPC and join the membership. With etcd, bounded by --etcd-start-timeout: past it the start
   * fails with the cause named (the membership stops retrying: the node is exiting).
   */
  private async joinCluster(cluster: Cluster): Promise<void> {
    const etcd = this.config.etcd;
    const bound = etcd?.startTimeoutMs ?? 0;
    if (!etcd || bound <= 0) {
      await cluster.start();
      if (this.etcdLog) this.etcdLog.starting = false;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const cause = this.etcdLog?.cause ?? 'no answer';
        reject(new Error(`etcd not reachable within ${bound} ms (${etcd.endpoints.join(', ')}): ${cause}`));
      }, bound);
    });
    try {
      await Promise.race([cluster.start(), timeout]);
    } catch (err) {
      if (err instanceof Error && /credential|authenticat|permission/i.test(err.message)) {
        throw new Error(`etcd refused the node's credentials: ${etcdCause(err)}: ${err.message}`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (this.etcdLog) this.etcdLog.starting = false;
  }

  private async abortStart(): Promise<void> {
    if (this.nodeState === 'starting') this.nodeState = 'stopped';
    this.etcdLog?.close();
    await this.cluster?.close().catch(() => {});
    this.http.close();
    this.http.closeAllConnections();
  }

  private createMembership(self: NodeInfo): Membership {
    const cfg = this.config;
    if (cfg.etcd) {
      const log = new EtcdOutageLog(this.logger.child({ component: 'etcd' }), cfg.etcd.outageSummaryMs);
      // The node bounds the start itself (joinCluster), so the membership waits as long as it is open.
      const m = new EtcdMembership(etcdMembershipOptions(self, { ...cfg.etcd, startTimeoutMs: 0 }, log));
      m.onEvent((e) => {
        if (e.type === 'etcd-reachable') log.recovered();
      });
      this.etcd = m;
      this.etcdLog = log;
      this.membership = m;
      return m;
    }
    if (cfg.dns) {
      const m = new DnsMembership({
        self,
        name: cfg.dns.name,
        port: cfg.dns.port,
        intervalMs: cfg.dns.intervalMs,
        servers: cfg.dns.servers,
        logger: this.logger.child({ component: 'dns' }),
      });
      this.dns = m;
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
      const cluster = this.cluster;
      await bounded(cluster.stop(), Math.max(deadline - Date.now(), 0) + 500).catch((err: unknown) =>
        this.logger.warn({ err: String(err) }, 'closing the cluster failed'),
      );
      // 4. Warm restart: nothing can write any more; the snapshots are written before the caches go.
      // Not bounded by shutdownTimeout (it runs near disk speed; the CLI stops waiting only if it stalls).
      if (this.warm && cluster.closed) await this.warm.write(cluster);
      await cluster.close().catch(() => {});
    }
    this.etcdLog?.close();
    this.nodeState = 'stopped';
    this.logger.info({ ms: Date.now() - t0 }, 'stopped');
  }

  // ------------------------------------------------------------------------- views

  private membershipMode(): 'etcd' | 'dns' | 'static' {
    return this.config.etcd ? 'etcd' : this.config.dns ? 'dns' : 'static';
  }

  private groupSnapshots(): GroupSnapshot[] {
    if (!this.cluster) return [];
    return this.cluster.groups().map((g) => ({ stats: g.stats(), ...g.cacheStats() }));
  }

  members(): unknown {
    const c = this.cluster;
    const selfId = c?.self.id;
    return {
      self: selfId ?? null,
      mode: this.membershipMode(),
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
        mode: this.membershipMode(),
        members: cs?.members ?? 0,
        ringSize: cs?.ringSize ?? 0,
        ...(this.etcd ? { etcd: this.etcd.stats() } : {}),
        ...(this.dns ? { dns: this.dns.stats() } : {}),
      },
      groups,
      grpc: cs?.server ?? null,
      peers: cs?.peers ?? [],
      config: authenticated ? redactedConfig(this.config) : publicConfig(this.config),
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
      logBytes: g.logBytes,
      hits: g.hits,
      misses: g.misses,
      sets: g.sets,
      deletes: g.deletes,
      evictions: g.evictions,
      expirations: g.expirations,
      rejected: g.rejected,
      moves: g.moves,
    })),
  };
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

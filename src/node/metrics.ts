/**
 * Prometheus metrics (prom-client) of a node, on its own registry.
 *
 * Most values live in the cluster, groups, caches and membership as plain counters; they are read
 * when /metrics is scraped (pulled metrics below), so the hot path pays nothing. HTTP request
 * latency is a real prom-client histogram observed per request.
 */
import { collectDefaultMetrics, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { GroupCacheStats } from '../cluster/group.js';
import { BATCH_SIZE_BUCKETS, type GroupStats } from '../cluster/types.js';
import { ABI_VERSION } from '../core/abi.js';
import type { CacheStats } from '../core/types.js';
import type { ServerStats } from '../cluster/peer.js';
import type { EtcdMembershipStats } from '../discovery/etcd/options.js';
import { RESTORE_OUTCOMES, type RestoreReport } from './warm-restart.js';

/** One group at scrape time: its counters and its caches' own stats (`Group.cacheStats()`). */
export interface GroupSnapshot extends GroupCacheStats {
  stats: GroupStats;
}

/** What the metrics read at scrape time. */
export interface MetricsSource {
  groups(): GroupSnapshot[];
  members(): number;
  ringSize(): number;
  membershipChanges(): number;
  ready(): boolean;
  grpcServer(): ServerStats | undefined;
  /** undefined in static mode. */
  etcd(): EtcdMembershipStats | undefined;
  /** What happened to each group's snapshot at start (empty without --data-dir). */
  restores(): RestoreReport[];
}

type Labels = Record<string, string | number>;
interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** A metric whose samples are computed at scrape time. */
class Pulled {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly samples: () => Sample[],
  ) {}
  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: string } {
    return { name: this.name, help: this.help, type: this.type, values: this.samples(), aggregator: this.aggregator };
  }
  reset(): void {}
}

export const HTTP_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LEASE_STATES = ['none', 'granted', 'lost', 'revoked'] as const;

export class NodeMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'code'>;
  readonly httpInFlight: Gauge;

  constructor(
    private readonly source: MetricsSource,
    build: { version: string },
  ) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    new Gauge({
      name: 'arenacache_build_info',
      help: 'Always 1: the arenacache version, the Node.js version and the wasm core ABI version as labels',
      labelNames: ['version', 'node', 'abi'],
      registers: [r],
    }).set({ version: build.version, node: process.version, abi: String(ABI_VERSION) }, 1);
    this.httpDuration = new Histogram({
      name: 'arenacache_http_request_duration_seconds',
      help: 'HTTP API request latency by method, route and status code',
      labelNames: ['method', 'route', 'code'],
      buckets: HTTP_BUCKETS,
      registers: [r],
    });
    this.httpInFlight = new Gauge({
      name: 'arenacache_http_requests_in_flight',
      help: 'HTTP API requests being served',
      registers: [r],
    });

    const perGroup = (name: string, help: string, type: 'counter' | 'gauge', pick: (s: GroupStats) => number) =>
      this.add(name, help, type, () => this.groups().map((g) => ({ value: pick(g.stats), labels: { group: g.stats.name } })));

    perGroup('arenacache_gets_total', 'Gets (per key) made through this node (HTTP API)', 'counter', (s) => s.gets);
    this.add('arenacache_hits_total', 'Gets answered from this node\'s main or hot cache', 'counter', () =>
      this.groups().flatMap((g) => [
        { value: g.stats.hits, labels: { group: g.stats.name, cache: 'main' } },
        { value: g.stats.hotHits, labels: { group: g.stats.name, cache: 'hot' } },
      ]),
    );
    perGroup('arenacache_misses_total', 'Gets that neither cache of this node had', 'counter', (s) => s.misses);
    perGroup('arenacache_coalesced_total', 'Gets that joined an in-flight load or fetch of the same key (singleflight)', 'counter', (s) => s.coalesced);
    perGroup('arenacache_loads_total', 'Origin loads run on this node', 'counter', (s) => s.loads);
    this.add('arenacache_load_errors_total', 'Origin loads that failed (reason=error) or passed the load timeout (reason=timeout)', 'counter', () =>
      this.groups().flatMap((g) => [
        { value: g.stats.loadErrors, labels: { group: g.stats.name, reason: 'error' } },
        { value: g.stats.loadTimeouts, labels: { group: g.stats.name, reason: 'timeout' } },
      ]),
    );
    perGroup('arenacache_not_found_total', 'Gets answered "not found"', 'counter', (s) => s.notFound);
    perGroup('arenacache_peer_fetches_total', 'Keys fetched from their owner node', 'counter', (s) => s.peerFetches);
    this.add('arenacache_peer_fetch_errors_total', 'Fetches from owners that failed: owner unreachable (kind=unavailable) or its load failed (kind=remote)', 'counter', () =>
      this.groups().flatMap((g) => [
        { value: g.stats.peerErrors, labels: { group: g.stats.name, kind: 'unavailable' } },
        { value: g.stats.remoteErrors, labels: { group: g.stats.name, kind: 'remote' } },
      ]),
    );
    perGroup('arenacache_local_fallbacks_total', 'Owner unreachable: the key was loaded on this node instead', 'counter', (s) => s.localFallbacks);
    perGroup('arenacache_sets_total', 'Sets applied or forwarded by this node', 'counter', (s) => s.sets);
    perGroup('arenacache_removes_total', 'Keys removed through this node', 'counter', (s) => s.removes);
    perGroup('arenacache_served_keys_total', 'Keys served to peer nodes', 'counter', (s) => s.servedKeys);
    perGroup('arenacache_hot_admissions_total', 'Fetched values admitted to the hot cache', 'counter', (s) => s.hotAdmissions);
    perGroup('arenacache_flushes_total', 'Flushes of the group applied on this node (each flush runs two rounds)', 'counter', (s) => s.flushes);
    this.add('arenacache_snapshot_restored_entries', 'Warm restart: entries restored from the group\'s snapshot at start (0 when none, or dropped)', 'gauge', () =>
      source.restores().map((r) => ({ value: r.entries, labels: { group: r.group } })),
    );
    this.add('arenacache_snapshot_restore_seconds', 'Warm restart: time spent on the group\'s snapshot at start', 'gauge', () =>
      source.restores().map((r) => ({ value: r.seconds, labels: { group: r.group } })),
    );
    this.add('arenacache_snapshot_restore_outcome', 'Warm restart: 1 for what happened to the group\'s snapshot at start (restored, none, incompatible, corrupt, failed, dropped)', 'gauge', () =>
      source.restores().flatMap((r) => RESTORE_OUTCOMES.map((o) => ({ value: r.outcome === o ? 1 : 0, labels: { group: r.group, outcome: o } }))),
    );
    perGroup('arenacache_invalidations_received_total', 'Keys dropped because their owner changed them', 'counter', (s) => s.hotInvalidations);
    perGroup('arenacache_invalidations_sent_total', 'Invalidations sent to peers as owner', 'counter', (s) => s.invalidationsSent);
    perGroup('arenacache_invalidation_errors_total', 'Invalidations that failed', 'counter', (s) => s.invalidationErrors);
    this.add('arenacache_handoffs_total', 'Keys taken over from their previous owner (direction=in) or handed to their new owner (direction=out) after a membership change', 'counter', () =>
      this.groups().flatMap((g) => [
        { value: g.stats.handoffsIn, labels: { group: g.stats.name, direction: 'in' } },
        { value: g.stats.handoffsOut, labels: { group: g.stats.name, direction: 'out' } },
      ]),
    );
    perGroup('arenacache_stale_owner_entries_total', 'Cached entries not served because this node had not owned their key continuously since storing them', 'counter', (s) => s.staleOwnerEntries);
    perGroup('arenacache_write_reroutes_total', 'Writes routed again because the owner\'s ring and this node\'s disagreed for a moment', 'counter', (s) => s.writeReroutes);

    this.add('arenacache_batch_size', 'Keys per coalesced Get/GetMany call sent to a peer', 'histogram', () =>
      this.groups().flatMap((g) => batchHistogram('arenacache_batch_size', g.stats)),
    );

    const perCache = (name: string, help: string, type: 'counter' | 'gauge', pick: (c: CacheStats) => number) =>
      this.add(name, help, type, () =>
        this.groups().flatMap((g) =>
          (['main', 'hot'] as const)
            .filter((k) => g[k] !== undefined)
            .map((k) => ({ value: pick(g[k]!), labels: { group: g.stats.name, cache: k } })),
        ),
      );
    perCache('arenacache_evictions_total', 'Entries evicted to make room (LRU)', 'counter', (c) => c.evictions);
    perCache('arenacache_expirations_total', 'Entries dropped because their TTL passed', 'counter', (c) => c.expirations);
    perCache('arenacache_entries', 'Entries in the cache', 'gauge', (c) => c.entries);
    perCache('arenacache_bytes', 'Bytes in use by live entries', 'gauge', (c) => c.bytesUsed);
    perCache('arenacache_budget_bytes', 'Byte budget of the cache', 'gauge', (c) => c.budget);

    this.add('arenacache_members', 'Nodes in this node\'s ring (self included)', 'gauge', () => [{ value: source.members(), labels: {} }]);
    this.add('arenacache_ring_vnodes', 'Virtual nodes on this node\'s ring', 'gauge', () => [{ value: source.ringSize(), labels: {} }]);
    this.add('arenacache_membership_changes_total', 'Ring rebuilds after a membership change', 'counter', () => [
      { value: source.membershipChanges(), labels: {} },
    ]);
    this.add('arenacache_ready', '1 when the node is ready (registered, ring built, not draining)', 'gauge', () => [
      { value: source.ready() ? 1 : 0, labels: {} },
    ]);

    this.add('arenacache_grpc_served_calls_total', 'Peer gRPC calls served, by method (stream: fetch batches received on GetStream)', 'counter', () => {
      const s = source.grpcServer();
      if (!s) return [];
      return (['get', 'getMany', 'stream', 'set', 'remove', 'invalidate', 'handoff', 'flush'] as const).map((m) => ({ value: s[m].calls, labels: { method: m } }));
    });
    this.add('arenacache_grpc_served_errors_total', 'Peer gRPC calls that failed, by status code', 'counter', () =>
      Object.entries(source.grpcServer()?.errors ?? {}).map(([code, value]) => ({ value, labels: { code } })),
    );

    // etcd (only in etcd mode; absent otherwise).
    this.add('arenacache_etcd_lease_state', 'etcd lease state: 1 for the current state (none, granted, lost, revoked)', 'gauge', () => {
      const e = source.etcd();
      return e ? LEASE_STATES.map((s) => ({ value: e.leaseState === s ? 1 : 0, labels: { state: s } })) : [];
    });
    this.add('arenacache_etcd_reachable', '1 while etcd answers', 'gauge', () => {
      const e = source.etcd();
      return e ? [{ value: e.etcdReachable ? 1 : 0, labels: {} }] : [];
    });
    const etcdCounter = (name: string, help: string, pick: (e: EtcdMembershipStats) => number) =>
      this.add(name, help, 'counter', () => {
        const e = source.etcd();
        return e ? [{ value: pick(e), labels: {} }] : [];
      });
    etcdCounter('arenacache_etcd_registrations_total', 'Registrations in etcd (the first one included)', (e) => e.counters.registrations);
    etcdCounter('arenacache_etcd_lease_losses_total', 'etcd leases lost (then registered again)', (e) => e.counters.keepaliveLosses);
    etcdCounter('arenacache_etcd_watch_restarts_total', 'etcd watch restarts', (e) => e.counters.watchRestarts);
    etcdCounter('arenacache_etcd_errors_total', 'Failed etcd calls (retried)', (e) => e.counters.etcdErrors);
  }

  private groups(): GroupSnapshot[] {
    return this.source.groups();
  }

  private add(name: string, help: string, type: 'counter' | 'gauge' | 'histogram', samples: () => Sample[]): void {
    this.registry.registerMetric(new Pulled(name, help, type, samples) as unknown as Metric);
  }

  /** Observe one HTTP request. */
  observe(method: string, route: string, code: number, seconds: number): void {
    this.httpDuration.observe({ method, route, code: String(code) }, seconds);
  }

  async text(): Promise<string> {
    // prom-client prints NaN as "Nan" (not valid exposition text), e.g. the event-loop lag before
    // its first sample; Prometheus spells it NaN.
    return (await this.registry.metrics()).replace(/ Nan$/gm, ' NaN');
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Prometheus histogram samples from the group's batch-size buckets (cumulative, + sum and count). */
function batchHistogram(name: string, s: GroupStats): Sample[] {
  const out: Sample[] = [];
  let cum = 0;
  BATCH_SIZE_BUCKETS.forEach((bound, i) => {
    cum += s.batchSizes[i] ?? 0;
    out.push({ metricName: `${name}_bucket`, value: cum, labels: { group: s.name, le: bound } });
  });
  cum += s.batchSizes[BATCH_SIZE_BUCKETS.length] ?? 0;
  out.push({ metricName: `${name}_bucket`, value: cum, labels: { group: s.name, le: '+Inf' } });
  out.push({ metricName: `${name}_sum`, value: s.batchedKeys, labels: { group: s.name } });
  out.push({ metricName: `${name}_count`, value: s.batches, labels: { group: s.name } });
  return out;
}

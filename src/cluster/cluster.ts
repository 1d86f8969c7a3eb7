/**
 * A node of an arenacache cluster: its transport (a server for peers, one client per peer), the
 * membership it follows, the ring built from that membership, and its groups.
 *
 * Start-up order (see docs/cluster.md): bind the transport (port 0 → the real port is known) →
 * fill in self.grpcAddress → create/start the membership (it can now register the real address) →
 * build the ring and peer clients → health SERVING.
 */
import { EventEmitter } from 'node:events';
import { ArenaCache } from '../core/index.js';
import type { ArenaCacheOptions, ByteCache } from '../core/types.js';
import { BREAKER_DEFAULTS, checkClusterOptions, CLUSTER_DEFAULTS, DEFAULT_MAX_VALUE_BYTES } from './cluster-options.js';
import { ClosedError, GroupError, InvalidArgumentError } from './errors.js';
import { Group, type GroupHost } from './group.js';
import { ringHash } from './hash.js';
import { StaticMembership, type Membership, type NodeInfo } from './membership.js';
import { LocalOnlyTransport } from './local-transport.js';
import { Ownership, type OwnershipMark } from './ownership.js';
import type { PeerClientStats, PeerTransport, ServedGroup, ServerStats } from './peer.js';
import { GuardedPeer, type BreakerState, type PeerGuardOptions } from './peer-guard.js';
import { DEFAULT_REPLICAS, Ring } from './ring.js';
import type { CacheFactory, GroupOptions, GroupStats } from './types.js';
import { checkGroupName, checkKey, checkNodeId } from './validate.js';

export interface ClusterOptions {
  /**
   * This node. `grpcAddress` (the address peers dial) may be omitted: it is then the address the
   * transport bound, known after `listen()`/`start()`.
   */
  self: Omit<NodeInfo, 'grpcAddress'> & { grpcAddress?: string };
  /**
   * The membership to follow, or a factory called with the final self NodeInfo once the gRPC
   * port is bound (so an etcd registration can carry the real address). Default: self only.
   */
  membership?: Membership | ((self: NodeInfo) => Membership | Promise<Membership>);
  /**
   * How nodes talk to each other, e.g. `grpcTransport({ host, port, tls })` from
   * src/transport. Default: none — a node alone (its membership must be itself only).
   */
  transport?: PeerTransport;
  /** Virtual nodes per node of weight 1. Default 160. */
  replicas?: number;
  /** Largest value any group may hold; sizes transport messages. Default 8 MiB. */
  maxValueBytes?: number;
  /** Creates the groups' caches. Default `ArenaCache.create`. */
  cacheFactory?: CacheFactory;
  /**
   * Longest a get waits for the key's owner before loading the key itself (ms); groups may set
   * their own. Default 1000.
   */
  ownerTimeout?: number;
  /** A peer that missed this many calls in a row is suspect (its keys are loaded locally). Default 3. */
  breakerFailures?: number;
  /** How long a suspect peer is left alone before one probe call (ms). Default 1000. */
  breakerHalfOpenMs?: number;
  /**
   * For this long (ms) after a membership change, a node that gained keys asks their previous
   * owner for its copy on a miss (so writes survive joins and rejoins), and a node that lost keys
   * hands its copies over. 0 disables handoff. Default 60000.
   */
  handoffWindowMs?: number;
}


export interface PeerStats {
  id: string;
  grpcAddress: string;
  /** Connection state (transport-defined). */
  state: string;
  /** `open`/`half-open`: the peer is suspect (missed its recent deadlines); its keys are loaded locally. */
  breaker: BreakerState;
  suspectSince: number | null;
  /** How often the breaker opened. */
  timesSuspect: number;
  /** The transport's call counters for this peer. */
  calls: PeerClientStats;
}

export interface ClusterStats {
  self: NodeInfo;
  members: number;
  ringSize: number;
  server: ServerStats;
  peers: PeerStats[];
  groups: GroupStats[];
}

/**
 * Events: 'membership' (members: NodeInfo[]) after the ring was rebuilt; 'peer-added' and
 * 'peer-removed' (node: NodeInfo) when a peer channel is opened or closed; 'peer-suspect' and
 * 'peer-recovered' (node: NodeInfo) when a peer's breaker opens / closes; 'rejoined' when the
 * membership reported that the other nodes had dropped this one (everything it owned is then
 * treated as newly gained).
 */
export class Cluster extends EventEmitter {
  private selfInfo: NodeInfo;
  private readonly options: ClusterOptions;
  private readonly replicas: number;
  private readonly maxValueBytes: number;
  private readonly cacheFactory: CacheFactory;
  private readonly transport: PeerTransport;
  private readonly groupMap = new Map<string, Group>();
  private readonly peerMap = new Map<string, GuardedPeer>();
  private readonly breaker: PeerGuardOptions;
  private readonly ownerTimeout: number;
  private readonly handoffWindowMs: number;
  private readonly ownership: Ownership;
  /** Peers whose last failed invalidation was at (ms): they may hold old copies. */
  private readonly invalidationFailures = new Map<string, number>();
  /** Peers that said they hold nothing to hand over, at (ms). */
  private readonly emptyHandoffs = new Map<string, number>();
  private unsubscribeRejoin: (() => void) | undefined;
  private currentRing: Ring;
  private membership: Membership | undefined;
  /** The membership (factory) start() is waiting for, so close() can close what it creates. */
  private creatingMembership: Promise<Membership> | undefined;
  private unsubscribe: (() => void) | undefined;
  private listening: Promise<NodeInfo> | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** The mark of the snapshots the groups restored (resume()), until start() decides on it. */
  private resumeMark: OwnershipMark | undefined;
  private isClosed = false;
  private readonly host: GroupHost;

  constructor(options: ClusterOptions) {
    super();
    checkNodeId(options?.self?.id);
    this.options = options;
    this.replicas = options.replicas ?? DEFAULT_REPLICAS;
    this.maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.transport = options.transport ?? new LocalOnlyTransport();
    this.cacheFactory = options.cacheFactory ?? defaultCacheFactory;
    this.selfInfo = Object.freeze({
      startedAt: Date.now(),
      ...options.self,
      grpcAddress: options.self.grpcAddress ?? '',
    });
    this.ownerTimeout = options.ownerTimeout ?? CLUSTER_DEFAULTS.ownerTimeout;
    this.handoffWindowMs = options.handoffWindowMs ?? CLUSTER_DEFAULTS.handoffWindowMs;
    this.breaker = {
      failures: options.breakerFailures ?? BREAKER_DEFAULTS.failures,
      halfOpenAfterMs: options.breakerHalfOpenMs ?? BREAKER_DEFAULTS.halfOpenAfterMs,
    };
    checkClusterOptions({
      ownerTimeout: this.ownerTimeout,
      breakerFailures: this.breaker.failures,
      breakerHalfOpenMs: this.breaker.halfOpenAfterMs,
      handoffWindowMs: this.handoffWindowMs,
      maxValueBytes: this.maxValueBytes,
    });
    this.currentRing = new Ring([this.selfInfo], { replicas: this.replicas });
    this.ownership = new Ownership(this.selfInfo.id, this.currentRing);
    const cluster = this;
    this.host = {
      route: (hash) => this.route(hash),
      peers: () => this.peerMap.values(),
      get closed() {
        return cluster.isClosed;
      },
      ownership: this.ownership,
      handoffSource: (hash) => this.handoffSource(hash),
      invalidationFailed: (peerId) => this.invalidationFailures.set(peerId, Date.now()),
      holdsNothing: (peerId) => this.emptyHandoffs.set(peerId, Date.now()),
      handoffWindowMs: this.handoffWindowMs,
      ownerTimeout: this.ownerTimeout,
      get selfId() {
        return cluster.selfInfo.id;
      },
    };
  }

  // ================================================================= lifecycle

  /** Bind the transport's server. Resolves with self, whose grpcAddress now has the real port. */
  listen(): Promise<NodeInfo> {
    if (this.isClosed) return Promise.reject(new ClosedError('cluster is closed'));
    this.listening ??= (async () => {
      const address = await this.transport.listen(
        { group: (name) => this.servedGroup(name), mayHandOver: (keys) => this.mayHandOver(keys) },
        { maxValueBytes: this.maxValueBytes },
      );
      if (!this.options.self.grpcAddress) {
        this.selfInfo = Object.freeze({ ...this.selfInfo, grpcAddress: address });
        this.currentRing = new Ring([this.selfInfo], { replicas: this.replicas });
      }
      return this.selfInfo;
    })();
    return this.listening;
  }

  /** listen() → membership start → ring and peers → health SERVING. Idempotent. */
  start(): Promise<void> {
    if (this.isClosed) return Promise.reject(new ClosedError('cluster is closed'));
    this.starting ??= (async () => {
      const self = await this.listen();
      // close() ran while we were binding: do not even create the membership.
      if (this.isClosed) throw new ClosedError('cluster closed during start');
      const m = this.options.membership;
      this.creatingMembership = Promise.resolve(
        m === undefined ? new StaticMembership([self]) : typeof m === 'function' ? m(self) : m,
      );
      const membership = await this.creatingMembership;
      if (this.isClosed) {
        // close() ran while the factory was running: never start this membership (an etcd one
        // would register a lease for a node that is going away). close() closes it too.
        await membership.close().catch(() => {});
        throw new ClosedError('cluster closed during start');
      }
      this.membership = membership;
      this.unsubscribe = membership.onChange((members) => this.applyMembership(members));
      this.unsubscribeRejoin = membership.onRejoin?.(() => this.rejoin());
      await membership.start();
      if (this.isClosed) {
        await membership.close(); // idempotent; close() may have called it before start() finished
        throw new ClosedError('cluster closed during start');
      }
      this.applyMembership(membership.members());
      const mark = this.resumeMark;
      this.resumeMark = undefined;
      const refusal = mark === undefined ? undefined : this.resumeRefusal(membership, mark);
      if (mark !== undefined && refusal === undefined) {
        // Restored snapshots: this node owned its keys until it stopped, and nobody else owned them
        // since (fixed membership, same ring), so its ownership simply continues.
        this.ownership.continueFrom(this.currentRing, mark.since);
        this.emit('resumed');
      } else {
        if (refusal !== undefined) {
          for (const g of this.groupMap.values()) g.dropRestored();
          this.emit('restore-dropped', refusal);
        }
        // A node that starts owns nothing it could vouch for: everything it owns is gained now, from
        // whoever owns it without this node (who may hand over what was written there).
        this.rejoin();
      }
      this.transport.setServing(true);
    })();
    return this.starting;
  }

  /**
   * Before start(), once groups restored snapshots (`Group.restore`) taken under `mark` (from
   * `snapshotMark()` when they were taken): this node's versions continue above the snapshot's.
   * At start, if the membership is fixed and the ring is the snapshot's, this node's ownership
   * continues from the snapshot's and the restored entries are served as owner data (event
   * 'resumed'); otherwise it starts as any node does and the groups drop what they restored
   * (event 'restore-dropped', with the reason). See docs/cluster.md, "Warm restart".
   */
  resume(mark: OwnershipMark): void {
    if (this.starting !== undefined) throw new Error('resume() must be called before start()');
    this.ownership.resume(mark);
    this.resumeMark = mark;
  }

  /**
   * The mark snapshots of the groups taken now must carry (see resume()), or undefined when a
   * snapshot could not be trusted after a restart: the membership is not fixed (etcd, DNS: a
   * stopped node's keys move to other nodes), or this node gained keys since it started.
   */
  snapshotMark(): OwnershipMark | undefined {
    if (this.membership?.fixed !== true) return undefined;
    return this.ownership.mark(this.currentRing);
  }

  /** Why restored entries cannot be trusted, or undefined when they can. */
  private resumeRefusal(membership: Membership, mark: OwnershipMark): string | undefined {
    if (membership.fixed !== true) {
      return 'the membership is not fixed: other nodes may have owned this node\'s keys while it was down';
    }
    // A node alone before and after owned every key all along, whatever its id (a port-0 node's
    // id changes with every start).
    if (mark.members.length === 1 && this.currentRing.nodes.length === 1) return undefined;
    if (mark.self !== this.selfInfo.id) return `the snapshot was taken by node ${JSON.stringify(mark.self)}`;
    const then = new Ring(mark.members.map((m) => ({ ...m, grpcAddress: '' })), { replicas: mark.replicas });
    if (!then.sameAs(this.currentRing)) {
      return `the ring differs from the snapshot's (members then: ${mark.members.map((m) => m.id).join(', ')}; now: ${this.currentRing.nodes.map((n) => n.id).join(', ')})`;
    }
    return undefined;
  }

  /**
   * Leave and stop serving, keeping the groups' caches: health NOT_SERVING, membership closed
   * (deregistered), loads aborted, peer channels closed, server shut down (in-flight calls get the
   * transport's grace period). Nothing can write to the caches any more: snapshots may be taken.
   * close() then releases the caches. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.isClosed = true;
      this.transport.setServing(false);
      this.unsubscribe?.();
      this.unsubscribeRejoin?.();
      await this.listening?.catch(() => {}); // never shut the server down in the middle of a bind
      // A membership still being created by start() is closed here too (start() never starts it).
      const membership = this.membership ?? (await this.creatingMembership?.catch(() => undefined));
      try {
        await membership?.close();
      } catch {
        // deregistration is best effort; the lease/TTL expires anyway
      }
      for (const g of this.groupMap.values()) g.close();
      for (const p of this.peerMap.values()) p.close();
      this.peerMap.clear();
      await this.transport.close();
    })();
    return this.stopping;
  }

  /** stop(), then release the groups' caches. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.stop().then(() => {
      for (const g of this.groupMap.values()) g.dispose();
    });
    return this.closing;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  // ================================================================= groups

  /** The existing group `name` (throws GroupError if there is none). */
  group(name: string): Group;
  /** Create group `name` (throws GroupError if it exists). Operations wait for its caches. */
  group(name: string, options: GroupOptions): Group;
  group(name: string, options?: GroupOptions): Group {
    checkGroupName(name);
    const existing = this.groupMap.get(name);
    if (options === undefined) {
      if (!existing) throw new GroupError(`no group named ${JSON.stringify(name)}`);
      return existing;
    }
    if (this.isClosed) throw new ClosedError('cluster is closed');
    if (existing) throw new GroupError(`group ${JSON.stringify(name)} already exists`);
    const g = new Group({
      name,
      options,
      host: this.host,
      cacheFactory: this.cacheFactory,
      maxValueBytes: this.maxValueBytes,
    });
    this.groupMap.set(name, g);
    return g;
  }

  /** Create a group and wait until its caches exist. */
  async addGroup(name: string, options: GroupOptions): Promise<Group> {
    const g = this.group(name, options);
    try {
      await g.ready;
    } catch (err) {
      this.groupMap.delete(name);
      throw err;
    }
    return g;
  }

  groups(): Group[] {
    return [...this.groupMap.values()];
  }

  // ================================================================= ring and members

  get self(): NodeInfo {
    return this.selfInfo;
  }

  /** The current ring (immutable; replaced on every membership change). */
  get ring(): Ring {
    return this.currentRing;
  }

  members(): readonly NodeInfo[] {
    return this.currentRing.nodes;
  }

  /** The node owning `key` on this node's ring. */
  owner(key: string): NodeInfo {
    checkKey(key, Number.MAX_SAFE_INTEGER);
    return this.currentRing.ownerOfHash(ringHash(key)) ?? this.selfInfo;
  }

  isOwner(key: string): boolean {
    return this.owner(key).id === this.selfInfo.id;
  }

  /** The other members, as this node calls them (read-only view). */
  peers(): GuardedPeer[] {
    return [...this.peerMap.values()];
  }

  stats(): ClusterStats {
    return {
      self: this.selfInfo,
      members: this.currentRing.nodes.length,
      ringSize: this.currentRing.size,
      server: this.transport.stats(),
      peers: [...this.peerMap.values()].map((p) => ({
        id: p.id,
        grpcAddress: p.peer.grpcAddress,
        state: p.client.state(),
        ...p.stats(),
      })),
      groups: [...this.groupMap.values()].map((g) => g.stats()),
    };
  }

  // ================================================================= internals

  private route(hash: number): GuardedPeer | null {
    const owner = this.currentRing.ownerOfHash(hash);
    if (owner === undefined || owner.id === this.selfInfo.id) return null;
    // A member without a client (should not happen) is treated as unreachable: load locally.
    return this.peerMap.get(owner.id) ?? null;
  }

  /**
   * For a key this node gained within the handoff window: the member that owned it before, if it
   * is still a member, is not suspect, and took every invalidation this node sent it since the
   * gain (else it may hold an older copy than the one written here).
   */
  private handoffSource(hash: number): GuardedPeer | null {
    if (this.handoffWindowMs === 0) return null;
    const gain = this.ownership.gained(hash, Date.now(), this.handoffWindowMs);
    if (gain === undefined) return null;
    const prev = gain.prev.ownerOfHash(hash);
    if (prev === undefined || prev.id === this.selfInfo.id) return null;
    const peer = this.peerMap.get(prev.id);
    if (peer === undefined || peer.suspect) return null;
    const failedAt = this.invalidationFailures.get(prev.id);
    if (failedAt !== undefined && failedAt >= gain.at) return null;
    const emptyAt = this.emptyHandoffs.get(prev.id);
    if (emptyAt !== undefined && emptyAt >= gain.at) return null;
    return peer;
  }

  /**
   * Whether this node may hold copies to hand over: it owns some of `keys` (its ring has not moved
   * on yet), or it gave up keys recently and holds entries. After giving keys up it stores none
   * for them, so an empty cache then means nothing to hand over, ever, for those keys.
   */
  private mayHandOver(keys: readonly string[]): boolean {
    if (keys.some((k) => this.ownership.ownedSince(ringHash(k)) >= 0)) return true;
    if (!this.ownership.hasLost(Date.now(), this.handoffWindowMs)) return false;
    for (const g of this.groupMap.values()) if (g.stats().main.entries > 0) return true;
    return false;
  }

  /** The other nodes had dropped this one (or it is starting): trust nothing held as owner before. */
  private rejoin(): void {
    if (this.isClosed) return;
    const without = new Ring(
      this.currentRing.nodes.filter((n) => n.id !== this.selfInfo.id),
      { replicas: this.replicas },
    );
    this.ownership.rejoin(this.currentRing, without, Date.now());
    this.emit('rejoined');
  }

  private servedGroup(name: string): ServedGroup | undefined {
    if (this.isClosed) throw new ClosedError('node is shutting down');
    const g = this.groupMap.get(name);
    return g?.started ? g : undefined;
  }

  /** Rebuild the ring and open/close peer channels. Synchronous: callers never see a partial state. */
  private applyMembership(members: readonly NodeInfo[]): void {
    if (this.isClosed) return;
    const list = members.length > 0 ? members : [this.selfInfo];
    const ring = new Ring(list, { replicas: this.replicas });
    const previous = this.currentRing;
    const wanted = new Map<string, NodeInfo>();
    for (const n of ring.nodes) if (n.id !== this.selfInfo.id) wanted.set(n.id, n);

    for (const [id, client] of this.peerMap) {
      const n = wanted.get(id);
      if (n === undefined || n.grpcAddress !== client.peer.grpcAddress) {
        this.peerMap.delete(id);
        client.close();
        this.emit('peer-removed', client.peer);
      }
    }
    for (const [id, n] of wanted) {
      if (this.peerMap.has(id)) continue;
      const client = this.transport.connect(n, {
        onBatch: (group, size) => this.groupMap.get(group)?.recordBatch(size),
      });
      const guarded = new GuardedPeer(client, this.breaker, (state, p) => {
        if (this.peerMap.get(p.id) === p) this.emit(state === 'open' ? 'peer-suspect' : 'peer-recovered', p.peer);
      });
      this.peerMap.set(id, guarded);
      this.emit('peer-added', n);
    }
    this.currentRing = ring;
    const now = Date.now();
    this.ownership.update(previous, ring, now, this.handoffWindowMs);
    for (const g of this.groupMap.values()) g.ringChanged(ring, this.selfInfo.id, now, CLUSTER_DEFAULTS.recentWritesMs);
    this.emit('membership', ring.nodes);
  }
}

/** Default CacheFactory: a private ArenaCache. */
export const defaultCacheFactory: CacheFactory = (options: ArenaCacheOptions): Promise<ByteCache> =>
  ArenaCache.create(options);

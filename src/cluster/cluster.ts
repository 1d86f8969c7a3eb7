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
import { DEFAULT_MAX_VALUE_BYTES } from './defaults.js';
import { ClosedError, GroupError } from './errors.js';
import { Group, type GroupHost } from './group.js';
import { ringHash } from './hash.js';
import { StaticMembership, type Membership, type NodeInfo } from './membership.js';
import { LocalOnlyTransport } from './local-transport.js';
import type { PeerClient, PeerClientStats, PeerTransport, ServedGroup, ServerStats } from './peer.js';
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
}

export interface PeerStats {
  id: string;
  grpcAddress: string;
  state: string;
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
 * 'peer-removed' (node: NodeInfo) when a peer channel is opened or closed.
 */
export class Cluster extends EventEmitter {
  private selfInfo: NodeInfo;
  private readonly options: ClusterOptions;
  private readonly replicas: number;
  private readonly maxValueBytes: number;
  private readonly cacheFactory: CacheFactory;
  private readonly transport: PeerTransport;
  private readonly groupMap = new Map<string, Group>();
  private readonly peerMap = new Map<string, PeerClient>();
  private currentRing: Ring;
  private membership: Membership | undefined;
  /** The membership (factory) start() is waiting for, so close() can close what it creates. */
  private creatingMembership: Promise<Membership> | undefined;
  private unsubscribe: (() => void) | undefined;
  private listening: Promise<NodeInfo> | undefined;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
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
    this.currentRing = new Ring([this.selfInfo], { replicas: this.replicas });
    const cluster = this;
    this.host = {
      route: (hash) => this.route(hash),
      peers: () => this.peerMap.values(),
      get closed() {
        return cluster.isClosed;
      },
    };
  }

  // ================================================================= lifecycle

  /** Bind the transport's server. Resolves with self, whose grpcAddress now has the real port. */
  listen(): Promise<NodeInfo> {
    if (this.isClosed) return Promise.reject(new ClosedError('cluster is closed'));
    this.listening ??= (async () => {
      const address = await this.transport.listen(
        { group: (name) => this.servedGroup(name) },
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
      await membership.start();
      if (this.isClosed) {
        await membership.close(); // idempotent; close() may have called it before start() finished
        throw new ClosedError('cluster closed during start');
      }
      this.applyMembership(membership.members());
      this.transport.setServing(true);
    })();
    return this.starting;
  }

  /**
   * Leave: health NOT_SERVING, membership closed (deregistered), loads aborted, peer channels
   * closed, server shut down (in-flight calls get the transport's grace period). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.isClosed = true;
      this.transport.setServing(false);
      this.unsubscribe?.();
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
      for (const g of this.groupMap.values()) g.dispose();
    })();
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

  /** Clients of the other members (read-only view). */
  peers(): PeerClient[] {
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
        state: p.state(),
        calls: p.stats(),
      })),
      groups: [...this.groupMap.values()].map((g) => g.stats()),
    };
  }

  // ================================================================= internals

  private route(hash: number): PeerClient | null {
    const owner = this.currentRing.ownerOfHash(hash);
    if (owner === undefined || owner.id === this.selfInfo.id) return null;
    // A member without a client (should not happen) is treated as unreachable: load locally.
    return this.peerMap.get(owner.id) ?? null;
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
      this.peerMap.set(id, client);
      this.emit('peer-added', n);
    }
    this.currentRing = ring;
    this.emit('membership', ring.nodes);
  }
}

/** Default CacheFactory: a private ArenaCache. */
export const defaultCacheFactory: CacheFactory = (options: ArenaCacheOptions): Promise<ByteCache> =>
  ArenaCache.create(options);

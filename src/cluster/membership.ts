/**
 * Membership: the set of nodes the ring is built from. Static lists and etcd discovery both
 * implement `Membership`; the cluster listens and rebuilds its ring on every change.
 */

/** One node as other nodes see it. `id` is unique and stable for the node's lifetime. */
export interface NodeInfo {
  id: string;
  /** gRPC address `host:port` peers dial. */
  grpcAddress: string;
  /** HTTP address `host:port`, if the node serves HTTP. */
  httpAddress?: string;
  /** Relative ring weight; 1 = the default number of virtual nodes. */
  weight?: number;
  version?: string;
  /** Start time, ms since the epoch. */
  startedAt?: number;
}

export type MembershipListener = (members: readonly NodeInfo[]) => void;

export interface Membership {
  /** The current full membership (self included), sorted by id. */
  members(): readonly NodeInfo[];
  /** Subscribe to changes; called with the full new membership. Returns an unsubscribe function. */
  onChange(listener: MembershipListener): () => void;
  /** Start (register/watch). Resolves once the first membership is known. */
  start(): Promise<void>;
  /** Stop (deregister first where applicable). Idempotent. */
  close(): Promise<void>;
  /**
   * Optional: subscribe to "this node is back after the others had dropped it" (etcd: its lease
   * had expired, or its record was deleted, before it registered again). The cluster then stops
   * serving as owner anything it stored before (see docs/cluster.md). Returns an unsubscribe function.
   */
  onRejoin?(listener: () => void): () => void;
  /**
   * True when the member list is configuration, not discovery: every node keeps listing a member
   * that stopped, so while it is down nobody else owns its keys (writes for them fail instead of
   * going elsewhere). Only then may a restarted node trust the snapshot it wrote when it stopped
   * (docs/cluster.md, "Warm restart"). Etcd and DNS memberships drop a stopped node: not fixed.
   */
  readonly fixed?: boolean;
}

/** Node order everywhere (rings, memberships, records): ids compared as plain strings. */
export function compareById(a: NodeInfo, b: NodeInfo): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The nodes sorted by id. */
export function sortById(nodes: Iterable<NodeInfo>): NodeInfo[] {
  return [...nodes].sort(compareById);
}

/** One node per id (the last one given wins), sorted by id, frozen: a membership as every node builds it. */
export function normalizeMembers(nodes: Iterable<NodeInfo>): readonly NodeInfo[] {
  const byId = new Map<string, NodeInfo>();
  for (const n of nodes) byId.set(n.id, n);
  return Object.freeze(sortById(byId.values()));
}

/** `host:port`, with an IPv6 host in brackets (`[::1]:7070`). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A fixed membership: the given nodes, never changing. */
export class StaticMembership implements Membership {
  readonly fixed = true;
  private readonly list: readonly NodeInfo[];

  constructor(nodes: readonly NodeInfo[]) {
    this.list = normalizeMembers(nodes);
  }

  members(): readonly NodeInfo[] {
    return this.list;
  }

  onChange(_listener: MembershipListener): () => void {
    return () => {};
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}

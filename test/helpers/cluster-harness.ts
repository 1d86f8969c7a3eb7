/**
 * Starts several real cluster nodes in this process, on 127.0.0.1 with ephemeral ports, each with
 * its own ManualMembership; once every node is bound, all memberships are set to the full list.
 */
import { Cluster, ManualMembership, type ClusterOptions, type NodeInfo } from '../../src/cluster/index.js';
import { grpcTransport, type BatchOptions, type GrpcTransportOptions } from '../../src/transport/index.js';

export interface TestNode {
  id: string;
  cluster: Cluster;
  membership: ManualMembership;
}

/** Cluster options, with the gRPC transport's options given as `grpc` (and its `batch`). */
export interface NodeOptions extends Partial<Omit<ClusterOptions, 'self' | 'membership' | 'transport'>> {
  grpc?: GrpcTransportOptions;
  batch?: BatchOptions;
}

export interface HarnessOptions extends NodeOptions {
  /** Per-node extra options (by index). */
  perNode?: (i: number) => NodeOptions;
}

export class ClusterHarness {
  readonly nodes: TestNode[] = [];

  /** Start `n` nodes named node-1..node-n and give them the same full membership. */
  static async start(n: number, options: HarnessOptions = {}): Promise<ClusterHarness> {
    const h = new ClusterHarness();
    try {
      for (let i = 0; i < n; i++) await h.add(`node-${i + 1}`, options, i);
      h.syncMembership();
    } catch (err) {
      await h.close();
      throw err;
    }
    return h;
  }

  /** Start one more node (not yet in anyone's membership; call syncMembership). */
  async add(id: string, options: HarnessOptions = {}, index = this.nodes.length): Promise<TestNode> {
    const membership = new ManualMembership();
    const { perNode, grpc: restGrpc, batch: restBatch, ...rest } = options;
    const { grpc: extraGrpc, batch: extraBatch, ...extra } = perNode?.(index) ?? {};
    const batch = extraBatch ?? restBatch;
    const cluster = new Cluster({
      // Nodes in one process share one event loop: a long turn (loading thousands of keys on a
      // busy machine) silences every peer at once, which the 1 s default owner deadline would take
      // for hung peers. Tests of the owner deadline and the breaker set their own.
      ownerTimeout: 5000,
      ...rest,
      ...extra,
      transport: grpcTransport({
        host: '127.0.0.1',
        port: 0,
        shutdownGraceMs: 200,
        ...restGrpc,
        ...extraGrpc,
        ...(batch ? { batch } : {}),
      }),
      self: { id },
      membership: (self) => {
        membership.set([self]);
        return membership;
      },
    });
    const node = { id, cluster, membership };
    this.nodes.push(node);
    await cluster.start();
    return node;
  }

  /** Every live node's info. */
  infos(): NodeInfo[] {
    return this.nodes.filter((n) => !n.cluster.closed).map((n) => n.cluster.self);
  }

  /** Set every live node's membership to the given list (default: all live nodes). */
  syncMembership(list: NodeInfo[] = this.infos()): void {
    for (const n of this.nodes) if (!n.cluster.closed) n.membership.set(list);
  }

  node(id: string): TestNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** The node that owns `key` (by node-1's ring; all rings agree after syncMembership). */
  ownerOf(key: string): TestNode {
    const live = this.nodes.find((n) => !n.cluster.closed)!;
    return this.node(live.cluster.owner(key).id);
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.cluster.close()));
  }
}

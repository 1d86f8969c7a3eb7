/**
 * Consistent-hash ring with virtual nodes. Immutable: a membership change builds a new ring and
 * the cluster swaps one reference, so a lookup always sees one complete ring (never a
 * half-rebuilt one) and no lock exists to be mishandled.
 */
import { normalizeMembers, type NodeInfo } from './membership.js';
import { ringHash } from './hash.js';

export const DEFAULT_REPLICAS = 160;

export interface RingOptions {
  /** Virtual nodes per node of weight 1. Default 160. */
  replicas?: number;
}

export class Ring {
  /** The nodes, sorted by id. */
  readonly nodes: readonly NodeInfo[];
  readonly replicas: number;
  /** Sorted ring positions. */
  private readonly points: Uint32Array;
  /** owners[i] is the index in `nodes` of the node at points[i]. */
  private readonly owners: Uint32Array;

  constructor(nodes: readonly NodeInfo[], options: RingOptions = {}) {
    const replicas = options.replicas ?? DEFAULT_REPLICAS;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 10_000) {
      throw new RangeError(`replicas must be an integer in 1..10000, got ${replicas}`);
    }
    this.replicas = replicas;
    const sorted = normalizeMembers(nodes);
    this.nodes = sorted;

    const hashes: number[] = [];
    const idx: number[] = [];
    for (let n = 0; n < sorted.length; n++) {
      const node = sorted[n]!;
      const count = virtualNodes(replicas, node.weight);
      for (let i = 0; i < count; i++) {
        hashes.push(ringHash(`${node.id}#${i}`));
        idx.push(n);
      }
    }
    // Sort by position; equal positions (32-bit collisions) are broken by node id so every node
    // builds the identical ring from the identical membership.
    const order = hashes.map((_, i) => i);
    order.sort((a, b) => hashes[a]! - hashes[b]! || idx[a]! - idx[b]!);
    this.points = new Uint32Array(order.length);
    this.owners = new Uint32Array(order.length);
    for (let i = 0; i < order.length; i++) {
      this.points[i] = hashes[order[i]!]!;
      this.owners[i] = idx[order[i]!]!;
    }
  }

  /** Number of virtual nodes on the ring. */
  get size(): number {
    return this.points.length;
  }

  /** The owner of `key` (a string hashed as UTF-8), or undefined for an empty ring. */
  owner(key: string): NodeInfo | undefined {
    return this.ownerOfHash(ringHash(key));
  }

  /** The owner of a ring position: the first virtual node at or after `hash`, wrapping. O(log n). */
  ownerOfHash(hash: number): NodeInfo | undefined {
    const points = this.points;
    const n = points.length;
    if (n === 0) return undefined;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    if (lo === n) lo = 0;
    return this.nodes[this.owners[lo]!];
  }

  /**
   * The hash ranges `id` owns, as inclusive `[lo, hi]` pairs in ascending order, adjacent ranges
   * merged. A node owns (previous point, its point]; the arc past the last point wraps to the
   * first point's owner. A ring without points (every weight 0) leaves every key with the node
   * asking (the cluster routes it locally), so each member owns everything.
   */
  ranges(id: string): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const n = this.points.length;
    const x = this.nodes.findIndex((node) => node.id === id);
    if (x < 0) return out;
    if (n === 0) return [[0, 0xffffffff]]; // route() sends every key to the node asking
    const push = (lo: number, hi: number): void => {
      if (lo > hi) return; // a point equal to the previous one owns nothing
      const last = out[out.length - 1];
      if (last && last[1] + 1 === lo) last[1] = hi;
      else out.push([lo, hi]);
    };
    if (this.owners[0] === x) push(0, this.points[0]!);
    for (let i = 1; i < n; i++) if (this.owners[i] === x) push(this.points[i - 1]! + 1, this.points[i]!);
    // Past the last point the ring wraps to the first point's owner.
    if (this.owners[0] === x && this.points[n - 1]! < 0xffffffff) {
      const lo = this.points[n - 1]! + 1;
      const last = out[out.length - 1]!;
      if (last[1] + 1 === lo) last[1] = 0xffffffff;
      else out.push([lo, 0xffffffff]);
    }
    return out;
  }

  /** True when both rings contain the same node ids with the same weights and replicas. */
  sameAs(other: Ring): boolean {
    if (other.replicas !== this.replicas || other.nodes.length !== this.nodes.length) return false;
    for (let i = 0; i < this.nodes.length; i++) {
      const a = this.nodes[i]!;
      const b = other.nodes[i]!;
      if (a.id !== b.id || virtualNodes(this.replicas, a.weight) !== virtualNodes(this.replicas, b.weight)) {
        return false;
      }
    }
    return true;
  }
}

/** Virtual nodes for a node: replicas × weight, rounded; weight ≤ 0 means no share of the keys. */
function virtualNodes(replicas: number, weight: number | undefined): number {
  if (weight === undefined || !Number.isFinite(weight)) return replicas;
  if (weight <= 0) return 0;
  return Math.max(1, Math.min(Math.round(replicas * weight), 1_000_000));
}

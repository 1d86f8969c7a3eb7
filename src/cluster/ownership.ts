/**
 * Ownership: since when this node has owned each part of the hash ring *continuously*, and what
 * it recently gave up. Entries a node stores as owner carry the ownership version they were
 * stored in; an entry is served as owner data only if the node has owned its key continuously
 * since then. So a node that loses keys and later regains them (a node joined, then left), or
 * that was dropped by the others and came back (a paused node whose lease expired), never serves
 * what it stored before: someone else may have accepted writes for those keys meanwhile.
 *
 *     hash space 0 ─────────────────────────────────────────────── 2^32-1
 *     owned      [lo,hi] since v3      [lo,hi] since v7 (gained at v7 from `prev`)
 *     lost       [lo,hi] held since v3, lost at v7 (kept for the handoff window)
 *
 * The version is local to this node: it grows by one on every ring applied and every rejoin.
 * Lookups are a binary search over this node's ranges (a few hundred for 160 virtual nodes);
 * the common case — an entry stored in the current version — needs none.
 *
 * Warm restarts (docs/cluster.md, "Warm restart"): a snapshot carries its process's `mark()` —
 * the versions its entries were stamped in and the ring. A new process `resume()`s above those
 * versions, so its own stamps never collide with restored ones; if its ring is the snapshot's
 * and its membership is fixed (nobody else ever owned its keys meanwhile), `continueFrom()`
 * carries the old process's continuous ownership over, else it rejoins as any node that starts.
 */
import { Ring } from './ring.js';

interface Owned {
  lo: number;
  hi: number;
  /** Version since which the range has been owned without interruption. */
  since: number;
  /** When (ms) it was gained. */
  at: number;
  /** The ring before it was gained (whose owner may hand entries over), null if none. */
  prev: Ring | null;
}

interface Lost {
  lo: number;
  hi: number;
  /** The range had been owned since this version. */
  since: number;
  /** When (ms) it was lost. */
  at: number;
}

export interface Gain {
  /** The ring before the gain: its owner of the key is where handed-over entries come from. */
  prev: Ring;
  /** When (ms) the key's range was gained. */
  at: number;
}

/**
 * What a snapshot of this node's entries must carry to be trusted after a restart: entries stamped
 * in [`since`, `version`] were valid as owner data when it was taken (every range this node owned
 * had been owned continuously since `since`), under a ring of these members.
 */
export interface OwnershipMark {
  version: number;
  since: number;
  self: string;
  replicas: number;
  members: Array<{ id: string; weight?: number }>;
}

export class Ownership {
  private ver = 0;
  private rejoinVer = 0;
  private owned: Owned[] = [];
  private lost: Lost[] = [];

  constructor(
    readonly selfId: string,
    ring: Ring,
  ) {
    this.owned = ring.ranges(selfId).map(([lo, hi]) => ({ lo, hi, since: 0, at: 0, prev: null }));
  }

  /** The current version: entries stored now carry it. */
  get version(): number {
    return this.ver;
  }

  /** The version of the last rejoin: hot copies stored before it are not trusted either. */
  get rejoinVersion(): number {
    return this.rejoinVer;
  }

  /**
   * A new ring. Ranges owned before and after keep their `since`; newly owned ranges are gained
   * now (from `prev`, the ring before); ranges no longer owned are remembered as lost for
   * `keepLostMs`.
   */
  update(prev: Ring, next: Ring, now: number, keepLostMs: number): void {
    this.ver++;
    const ranges = next.ranges(this.selfId);
    const out: Owned[] = [];
    const old = this.owned;
    // A node that was alone (starting, or the others not listed yet) owned everything by its own
    // ring only: once others are listed, whoever owns a key without this node may hold what was
    // written there, so its ranges count as gained now from them (its own entries stay valid).
    const wasAlone = prev.nodes.length === 1 && prev.nodes[0]!.id === this.selfId && next.nodes.length > 1;
    const others = wasAlone ? new Ring(next.nodes.filter((n) => n.id !== this.selfId), { replicas: next.replicas }) : null;
    let j = 0;
    for (const [lo, hi] of ranges) {
      let cur = lo;
      while (j < old.length && old[j]!.hi < lo) j++;
      for (let k = j; k < old.length && old[k]!.lo <= hi; k++) {
        const o = old[k]!;
        const a = Math.max(o.lo, lo);
        const b = Math.min(o.hi, hi);
        if (a > b) continue;
        if (cur < a) out.push({ lo: cur, hi: a - 1, since: this.ver, at: now, prev });
        if (others) out.push({ lo: a, hi: b, since: o.since, at: now, prev: others });
        else out.push({ lo: a, hi: b, since: o.since, at: o.at, prev: o.prev });
        cur = b + 1;
      }
      if (cur <= hi) out.push({ lo: cur, hi, since: this.ver, at: now, prev });
    }
    // What was owned and is not any more.
    const lost = this.lost.filter((l) => now - l.at < keepLostMs);
    for (const o of old) {
      let cur = o.lo;
      for (const [lo, hi] of ranges) {
        if (hi < cur || lo > o.hi) continue;
        if (cur < lo) lost.push({ lo: cur, hi: lo - 1, since: o.since, at: now });
        cur = Math.max(cur, hi + 1);
        if (cur > o.hi) break;
      }
      if (cur <= o.hi) lost.push({ lo: cur, hi: o.hi, since: o.since, at: now });
    }
    this.owned = coalesce(out);
    this.lost = lost;
  }

  /**
   * This node is back after the others had dropped it (or it is starting): every range it owns is
   * gained now, from the ring without this node; nothing it held before is trusted.
   */
  rejoin(current: Ring, without: Ring, now: number): void {
    this.ver++;
    this.rejoinVer = this.ver;
    this.owned = current.ranges(this.selfId).map(([lo, hi]) => ({ lo, hi, since: this.ver, at: now, prev: without }));
    this.lost = [];
  }

  /**
   * The mark a snapshot taken now carries, or undefined when no single version covers what this
   * node owns (its ranges were gained at different times: a ring change since it started), or it
   * owns nothing.
   */
  mark(ring: Ring): OwnershipMark | undefined {
    const since = this.owned[0]?.since;
    if (since === undefined || this.owned.some((o) => o.since !== since)) return undefined;
    return {
      version: this.ver,
      since,
      self: this.selfId,
      replicas: ring.replicas,
      members: ring.nodes.map((n) => (n.weight === undefined ? { id: n.id } : { id: n.id, weight: n.weight })),
    };
  }

  /** Before restoring a snapshot taken under `mark`: later versions (and stamps) are above its own. */
  resume(mark: OwnershipMark): void {
    this.ver = Math.max(this.ver, mark.version + 1);
  }

  /**
   * Instead of the rejoin of a starting node: the ranges of `current` are owned continuously since
   * `since`, the version the restored snapshot's ownership began in (its process owned them until
   * it stopped, and nobody else owned them meanwhile — the caller checked). Nothing is gained, so
   * nothing is asked of a previous owner.
   */
  continueFrom(current: Ring, since: number): void {
    this.ver++;
    this.rejoinVer = this.ver; // hot copies are not restored; any kept before this are not trusted
    this.owned = current.ranges(this.selfId).map(([lo, hi]) => ({ lo, hi, since, at: 0, prev: null }));
    this.lost = [];
  }

  /** The version since which `hash` has been owned without interruption, or -1 if it is not owned. */
  ownedSince(hash: number): number {
    const o = this.find(hash);
    return o === undefined ? -1 : o.since;
  }

  /** May an entry stored in version `stamp` be served as owner data for `hash`? */
  validAsOwner(hash: number, stamp: number): boolean {
    if (stamp === this.ver) return true; // stored as owner in this very version
    const since = this.ownedSince(hash);
    return since >= 0 && stamp >= since;
  }

  /**
   * May an entry stored in version `stamp` be handed to the key's new owner? Yes if it is valid
   * as owner data now (the rings disagree for a moment), or if it was valid when this node lost
   * the key, within `keepLostMs` of that.
   */
  validForHandoff(hash: number, stamp: number, now: number, keepLostMs: number): boolean {
    if (this.validAsOwner(hash, stamp)) return true;
    for (const l of this.lost) {
      if (hash >= l.lo && hash <= l.hi && now - l.at < keepLostMs && stamp >= l.since) return true;
    }
    return false;
  }

  /** Whether this node gave up any range within `keepLostMs` (it may hold entries to hand over). */
  hasLost(now: number, keepLostMs: number): boolean {
    return this.lost.some((l) => now - l.at < keepLostMs);
  }

  /** If `hash` is owned and was gained within `windowMs`: the ring before and when. */
  gained(hash: number, now: number, windowMs: number): Gain | undefined {
    const o = this.find(hash);
    if (o === undefined || o.prev === null || now - o.at >= windowMs) return undefined;
    return { prev: o.prev, at: o.at };
  }

  private find(hash: number): Owned | undefined {
    const a = this.owned;
    let lo = 0;
    let hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = a[mid]!;
      if (hash < r.lo) hi = mid - 1;
      else if (hash > r.hi) lo = mid + 1;
      else return r;
    }
    return undefined;
  }
}

/** Merge adjacent ranges with the same history. */
function coalesce(list: Owned[]): Owned[] {
  const out: Owned[] = [];
  for (const r of list) {
    const last = out[out.length - 1];
    if (last && last.hi + 1 === r.lo && last.since === r.since && last.at === r.at && last.prev === r.prev) last.hi = r.hi;
    else out.push(r);
  }
  return out;
}

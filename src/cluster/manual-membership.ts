/**
 * A membership set by hand: `set(nodes)` replaces it and notifies listeners. For tests, for
 * embedding, and for static configurations whose addresses are only known after binding.
 */
import { normalizeMembers, type Membership, type MembershipListener, type NodeInfo } from './membership.js';

export class ManualMembership implements Membership {
  /** See Membership.fixed: true when whoever calls set() keeps listing nodes that stop. */
  readonly fixed: boolean;
  private list: readonly NodeInfo[];
  private readonly listeners = new Set<MembershipListener>();
  private closed = false;

  constructor(nodes: readonly NodeInfo[] = [], options: { fixed?: boolean } = {}) {
    this.list = normalizeMembers(nodes);
    this.fixed = options.fixed === true;
  }

  members(): readonly NodeInfo[] {
    return this.list;
  }

  onChange(listener: MembershipListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Replace the membership and notify every listener (synchronously). */
  set(nodes: readonly NodeInfo[]): void {
    if (this.closed) return;
    this.list = normalizeMembers(nodes);
    for (const l of [...this.listeners]) l(this.list);
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
  }
}

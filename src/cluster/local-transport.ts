/**
 * The transport of a cluster built without one: a node alone. It serves nobody, and a client for a
 * peer fails every call (a get then loads locally, a write to a peer fails), so a membership that
 * lists other nodes is usable but never reaches them.
 */
import { PeerUnavailableError } from './errors.js';
import type { NodeInfo } from './membership.js';
import type { PeerClient, PeerTransport, ServerStats } from './peer.js';

export class LocalOnlyTransport implements PeerTransport {
  async listen(): Promise<string> {
    return '';
  }

  connect(node: NodeInfo): PeerClient {
    const fail = (): Promise<never> =>
      Promise.reject(new PeerUnavailableError(`peer ${node.id}: this node has no transport`, node.id, 'unreachable'));
    return {
      peer: node,
      id: node.id,
      fetch: fail,
      handoff: fail,
      set: fail,
      remove: fail,
      invalidate: fail,
      invalidateMany: fail,
      flush: fail,
      state: () => 'NONE',
      stats: () => ({}),
      close: () => {},
    };
  }

  setServing(): void {}

  stats(): ServerStats {
    const m = () => ({ calls: 0, keys: 0 });
    return { get: m(), getMany: m(), stream: m(), set: m(), remove: m(), invalidate: m(), handoff: m(), flush: m(), errors: {} };
  }

  async close(): Promise<void> {}
}

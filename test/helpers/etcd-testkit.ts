/**
 * Shared bits for the discovery tests: bounded waiting, in-process nodes (nodes as processes are the
 * real CLI: test/node/helpers.ts).
 */
import type { NodeInfo } from '../../src/cluster/membership.js';
import { EtcdMembership, type EtcdMembershipOptions, type MembershipEvent } from '../../src/discovery/index.js';
import { sleep, waitFor } from './wait.js';
export { sleep, waitFor };


export const ids = (ms: readonly NodeInfo[]) => ms.map((m) => m.id);

export function nodeInfo(id: string, port = 7000): NodeInfo {
  return { id, grpcAddress: `127.0.0.1:${port}`, httpAddress: `127.0.0.1:${port + 1000}`, weight: 1, version: '0.1.0-test' };
}

/** An in-process node: the membership plus everything it published. */
export interface TestNode {
  id: string;
  m: EtcdMembership;
  /** Every onChange call, in order (ids). */
  changes: string[][];
  events: MembershipEvent[];
}

export function makeNode(
  id: string,
  endpoints: string[],
  extra: Partial<EtcdMembershipOptions> = {},
  port = 7000,
): TestNode {
  const m = new EtcdMembership({
    self: nodeInfo(id, port),
    endpoints,
    service: 'test',
    leaseTtlSeconds: 2,
    callTimeoutMs: 1000,
    dialTimeoutMs: 1500,
    retryInitialMs: 100,
    retryMaxMs: 500,
    startTimeoutMs: 20_000,
    ...extra,
  });
  const node: TestNode = { id, m, changes: [], events: [] };
  m.onChange((members) => node.changes.push(ids(members)));
  m.onEvent((e) => node.events.push(e));
  return node;
}

export async function closeAll(nodes: Iterable<TestNode>): Promise<void> {
  await Promise.all([...nodes].map((n) => n.m.close()));
}

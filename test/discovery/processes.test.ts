/**
 * Nodes as separate processes (until the node CLI exists: a tiny .mjs child running the compiled
 * EtcdMembership). Three join and agree; a fourth joins; one stops gracefully (SIGTERM) and is gone
 * from the others within 1 s; one is SIGKILLed and is gone within TTL + 1 s.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { buildDiscovery, type DiscoveryBuild } from '../helpers/etcd-node-build.js';
import { ChildNode, nodeInfo, waitFor } from '../helpers/etcd-testkit.js';

const TTL = 2;

let etcd: EtcdServer;
let build: DiscoveryBuild;
const children: ChildNode[] = [];

function spawnNode(id: string, port: number): ChildNode {
  const c = new ChildNode(id, build.modulePath, {
    self: nodeInfo(id, port),
    endpoints: etcd.endpoints,
    service: 'procs',
    leaseTtlSeconds: TTL,
    callTimeoutMs: 1000,
    debounceMs: 100,
  });
  children.push(c);
  return c;
}

beforeAll(async () => {
  [etcd, build] = await Promise.all([startEtcd(), Promise.resolve().then(buildDiscovery)]);
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.signal('SIGKILL')));
  await etcd?.destroy();
  build?.cleanup();
});

describe('nodes as child processes', () => {
  it('join, agree, see a fourth; a SIGTERMed node is gone within 1 s, a SIGKILLed one within TTL + 1 s', async () => {
    const [a, b, c] = [spawnNode('a', 7100), spawnNode('b', 7200), spawnNode('c', 7300)];
    const state = () => children.map((x) => ({ id: x.id, members: x.members, error: x.error }));
    await waitFor('a, b, c started', () => [a, b, c].every((x) => x.started), 20_000, state);
    await waitFor('a, b, c agree', () => [a, b, c].every((x) => x.members.join() === 'a,b,c'), 5000, state);

    const d = spawnNode('d', 7400);
    await waitFor('every node includes d', () => [a, b, c, d].every((x) => x.members.join() === 'a,b,c,d'), 10_000, state);

    // Graceful stop: the child revokes its lease in close() before exiting.
    const tTerm = Date.now();
    const exitCode = c.signal('SIGTERM');
    await waitFor('c gone from a, b, d within 1 s', () => [a, b, d].every((x) => x.members.join() === 'a,b,d'), 1000, state);
    expect(await exitCode).toBe(0);
    expect(c.closed).toBe(true);
    expect(c.lines.some((l) => (l as { event?: { type: string } }).event?.type === 'revoked')).toBe(true);
    expect(Date.now() - tTerm).toBeLessThan(2000);

    // Crash: no revoke; the lease expires after the TTL.
    const tKill = Date.now();
    await b.signal('SIGKILL');
    const bound = TTL * 1000 + 1000;
    const took = await waitFor(`b gone from a and d within TTL + 1 s (${bound} ms)`, () => [a, d].every((x) => x.members.join() === 'a,d'), bound, state);
    // It was not dropped early either: a lease is only gone after at least its TTL minus keepalive slack.
    expect(Date.now() - tKill).toBeGreaterThan(TTL * 1000 / 3);
    expect(took).toBeLessThanOrEqual(bound);
  });
});

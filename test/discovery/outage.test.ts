/**
 * etcd failures: the whole (single-node) etcd stopped and restarted; a hung etcd (SIGSTOP: no RST,
 * calls only end by their deadline); the leader of a 3-member cluster killed.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Etcd3 } from 'etcd3';
import { startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { makeNode, closeAll, waitFor, ids, sleep, type TestNode } from '../helpers/etcd-testkit.js';
import { within } from '../helpers/wait.js';

const TTL = 2;
const nodes: TestNode[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  await closeAll(nodes.splice(0));
  for (const c of cleanups.splice(0).reverse()) await c();
});

function node(id: string, endpoints: string[], extra: Parameters<typeof makeNode>[2] = {}): TestNode {
  const n = makeNode(id, endpoints, extra);
  nodes.push(n);
  return n;
}

async function registeredIds(endpoints: string[]): Promise<string[]> {
  const c = new Etcd3({ hosts: endpoints });
  try {
    const keys = await c.getAll().prefix('/arenacache/test/').keys().then((k) => k.sort());
    return keys.map((k) => k.slice('/arenacache/test/'.length));
  } finally {
    c.close();
  }
}

describe('etcd outages', () => {
  it('etcd stopped: nodes keep their last membership; etcd restarted: they re-register and watch again', async () => {
    const etcd: EtcdServer = await startEtcd();
    cleanups.push(() => etcd.destroy());
    const [a, b, c] = ['a', 'b', 'c'].map((id) => node(id, etcd.endpoints));
    await Promise.all([a, b, c].map((n) => n.m.start()));
    await waitFor('agree', () => [a, b, c].every((n) => ids(n.m.members()).join() === 'a,b,c'), 5000);
    const changesBefore = [a, b, c].map((n) => n.changes.length);

    await etcd.stop();
    // Longer than 2 × TTL: every lease is given up client-side.
    const outageMs = 2 * TTL * 1000 + 1500;
    const t0 = Date.now();
    while (Date.now() - t0 < outageMs) {
      for (const n of [a, b, c]) expect(ids(n.m.members())).toEqual(['a', 'b', 'c']);
      await sleep(250);
    }
    for (const n of [a, b, c]) {
      expect(n.m.etcdReachable).toBe(false);
      expect(n.m.leaseState).toBe('lost');
      expect(n.m.getCounters().keepaliveLosses).toBeGreaterThanOrEqual(1);
      expect(n.changes.length).toBe(changesBefore[[a, b, c].indexOf(n)]);
    }

    await etcd.restart();
    await waitFor(
      'all three re-registered',
      () => [a, b, c].every((n) => n.m.leaseState === 'granted' && n.m.getCounters().reRegistrations >= 1),
      15_000,
      () => [a, b, c].map((n) => [n.m.leaseState, n.m.getCounters()]),
    );
    expect(await registeredIds(etcd.endpoints)).toEqual(['a', 'b', 'c']);
    // The old leases (renewed by etcd on restart) expire; the records live on under the new ones.
    await sleep(TTL * 1000 + 1000);
    expect(await registeredIds(etcd.endpoints)).toEqual(['a', 'b', 'c']);
    // Watching again: a newcomer is seen by everyone.
    await waitFor('watching again', () => [a, b, c].every((n) => n.m.isWatching), 10_000);
    const d = node('d', etcd.endpoints);
    await d.m.start();
    await waitFor('everyone sees d', () => [a, b, c, d].every((n) => ids(n.m.members()).join() === 'a,b,c,d'), 3000, () =>
      [a, b, c, d].map((n) => ids(n.m.members())),
    );
    for (const n of [a, b, c]) expect(n.m.getCounters().watchRestarts).toBeGreaterThanOrEqual(1);
    for (const n of [a, b, c]) expect(n.events.map((e) => e.type)).toEqual(expect.arrayContaining(['etcd-unreachable', 'lease-lost', 'etcd-reachable']));
  });

  it('every unary call has a deadline: with etcd hung (SIGSTOP) close() still returns promptly', async () => {
    const etcd: EtcdServer = await startEtcd();
    cleanups.push(() => etcd.destroy());
    const a = node('a', etcd.endpoints, { callTimeoutMs: 800, dialTimeoutMs: 800 });
    await a.m.start();
    const pid = etcd.proc.pid!;
    process.kill(pid, 'SIGSTOP');
    cleanups.push(() => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    });
    // The revoke cannot succeed: it ends by its deadline (or at once, if the endpoint is already
    // known to be failing). Either way close() returns: bounded here, never hung.
    await within('close() with etcd hung', a.m.close(), 10_000);
    expect(a.events.map((e) => e.type)).toContain('revoke-failed');
    expect(ids(a.m.members())).toEqual(['a']);
    process.kill(pid, 'SIGCONT');
  });

  it('3-member etcd: killing the leader does not stop registration or discovery', async () => {
    const cluster: EtcdCluster = await startEtcdCluster(3);
    cleanups.push(() => cluster.destroy());
    const [a, b, c] = ['a', 'b', 'c'].map((id) => node(id, cluster.endpoints));
    await Promise.all([a, b, c].map((n) => n.m.start()));
    await waitFor('agree', () => [a, b, c].every((n) => ids(n.m.members()).join() === 'a,b,c'), 5000);

    const leader = await cluster.leader();
    await leader.kill();

    // Registration and discovery still work through the two survivors.
    const d = node('d', cluster.endpoints);
    await d.m.start();
    await waitFor('everyone sees d', () => [a, b, c, d].every((n) => ids(n.m.members()).join() === 'a,b,c,d'), 10_000, () =>
      [a, b, c, d].map((n) => ids(n.m.members())),
    );
    await c.m.close();
    await waitFor('c gone within 1 s', () => [a, b, d].every((n) => ids(n.m.members()).join() === 'a,b,d'), 1000);
    // Leases keep being renewed: after more than 2 × TTL everyone is still registered and nobody re-registered.
    await sleep(2 * TTL * 1000 + 500);
    const survivors = cluster.endpoints.filter((e) => e !== leader.clientUrl);
    expect(await registeredIds(survivors)).toEqual(['a', 'b', 'd']);
    for (const n of [a, b, d]) {
      expect(n.m.leaseState).toBe('granted');
      expect(n.m.getCounters().keepaliveLosses).toBe(0);
      expect(ids(n.m.members())).toEqual(['a', 'b', 'd']);
    }
  });
});

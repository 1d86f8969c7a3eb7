import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import { startEtcd, freePort, type EtcdServer } from '../helpers/etcd.js';
import { makeNode, closeAll, waitFor, ids, nodeInfo, sleep, type TestNode } from '../helpers/etcd-testkit.js';
import { startEtcdMembership, EtcdMembership } from '../../src/discovery/index.js';

const TTL = 2;

let etcd: EtcdServer;
let admin: Etcd3;
const nodes: TestNode[] = [];

function node(id: string, extra: Parameters<typeof makeNode>[2] = {}): TestNode {
  const n = makeNode(id, etcd.endpoints, extra);
  nodes.push(n);
  return n;
}

beforeAll(async () => {
  etcd = await startEtcd();
  admin = new Etcd3({ hosts: etcd.endpoints });
});

afterEach(async () => {
  await closeAll(nodes.splice(0));
  await admin.delete().prefix('/arenacache/').exec();
});

afterAll(async () => {
  admin?.close();
  await etcd?.destroy();
});

describe('EtcdMembership against a real etcd', () => {
  it('registers <prefix>/<service>/<id> with the NodeInfo JSON under a lease of the configured TTL', async () => {
    const a = node('a');
    expect(ids(a.m.members())).toEqual(['a']); // self, before etcd answered
    expect(a.m.leaseState).toBe('none');
    await a.m.start();
    expect(a.m.leaseState).toBe('granted');

    const raw = etcd.etcdctl('get', '/arenacache/test/a', '-w', 'json');
    const out = JSON.parse(raw) as { kvs: { key: string; value: string }[] };
    expect(out.kvs).toHaveLength(1);
    const rec = JSON.parse(Buffer.from(out.kvs[0]!.value, 'base64').toString());
    expect(rec).toMatchObject({ id: 'a', grpcAddress: '127.0.0.1:7000', httpAddress: '127.0.0.1:8000', weight: 1, version: '0.1.0-test' });
    expect(typeof rec.startedAt).toBe('number');

    // The lease id is an int64: read it from the raw text (JSON.parse would round it).
    const leaseHex = BigInt(/"lease":(\d+)/.exec(raw)![1]!).toString(16);
    expect(BigInt(a.m.currentLeaseId!).toString(16)).toBe(leaseHex);
    const ttl = etcd.etcdctl('lease', 'timetolive', leaseHex, '--keys');
    expect(ttl).toMatch(new RegExp(`granted with TTL\\(${TTL}s\\)`));
    expect(ttl).toContain('/arenacache/test/a');
    // Kept alive: still there after more than a TTL.
    await sleep(TTL * 1000 + 500);
    expect(etcd.etcdctl('get', '/arenacache/test/a', '--print-value-only')).toContain('"grpcAddress"');
    expect(a.m.getCounters()).toMatchObject({ registrations: 1, reRegistrations: 0, keepaliveLosses: 0 });
  });

  it('three nodes agree; a fourth joins and every node sees it, with one onChange each', async () => {
    const [a, b, c] = [node('a'), node('b'), node('c')];
    await Promise.all([a, b, c].map((n) => n.m.start()));
    await waitFor('a, b, c agree', () => [a, b, c].every((n) => ids(n.m.members()).join() === 'a,b,c'), 5000, () =>
      [a, b, c].map((n) => ids(n.m.members())),
    );
    const before = [a, b, c].map((n) => n.changes.length);
    const d = node('d');
    await d.m.start();
    expect(ids(d.m.members())).toEqual(['a', 'b', 'c', 'd']); // the first list is complete at start()
    await waitFor('everyone sees d', () => [a, b, c].every((n) => ids(n.m.members()).join() === 'a,b,c,d'), 3000);
    await sleep(300); // any extra publication would show up here
    [a, b, c].forEach((n, i) => {
      expect(n.changes.slice(before[i])).toEqual([['a', 'b', 'c', 'd']]);
    });
    // Each member carries the peer's record, not just its id.
    expect(a.m.members().find((m) => m.id === 'd')).toMatchObject(nodeInfo('d'));
  });

  it('debounces a burst of changes into one onChange with the full membership', async () => {
    const a = node('a', { debounceMs: 150 });
    await a.m.start();
    const before = a.changes.length;
    for (let i = 0; i < 5; i++) {
      await admin.put(`/arenacache/test/x${i}`).value(JSON.stringify({ grpcAddress: `127.0.0.1:${9100 + i}` }));
    }
    await waitFor('a sees x0..x4', () => a.m.members().length === 6, 3000);
    await sleep(400);
    expect(a.changes.slice(before)).toEqual([['a', 'x0', 'x1', 'x2', 'x3', 'x4']]);
    await admin.delete().prefix('/arenacache/test/x').exec();
    await waitFor('x* gone', () => a.m.members().length === 1, 3000);
    await sleep(400);
    expect(a.changes.slice(before)).toEqual([['a', 'x0', 'x1', 'x2', 'x3', 'x4'], ['a']]);
  });

  it('loses no change between the list and the watch: nodes starting during a stream of writes see all of them', async () => {
    const N = 40;
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < N; i++) {
        await admin.put(`/arenacache/test/w${String(i).padStart(2, '0')}`).value(JSON.stringify({ grpcAddress: `127.0.0.1:${9000 + i}` }));
      }
      writing = false;
    })();
    const [a, b, c] = [node('a'), node('b'), node('c')];
    await Promise.all([a, b, c].map((n) => n.m.start()));
    expect(writing).toBe(true); // the nodes listed while writes were still going on
    await writer;
    const want = ['a', 'b', 'c', ...Array.from({ length: N }, (_, i) => `w${String(i).padStart(2, '0')}`)].sort();
    await waitFor('every node has every record', () => [a, b, c].every((n) => ids(n.m.members()).join() === want.join()), 3000, () =>
      [a, b, c].map((n) => n.m.members().length),
    );
  });

  it('ignores invalid records, nested keys and other services', async () => {
    const a = node('a');
    await admin.put('/arenacache/test/bad').value('not json');
    await admin.put('/arenacache/test/noaddr').value('{"weight":1}');
    await admin.put('/arenacache/test/nested/x').value('{"grpcAddress":"127.0.0.1:1"}');
    await admin.put('/arenacache/other/z').value('{"grpcAddress":"127.0.0.1:1"}');
    await admin.put('/arenacache/test/ok').value('{"grpcAddress":"127.0.0.1:2"}');
    await a.m.start();
    expect(ids(a.m.members())).toEqual(['a', 'ok']);
  });

  it('graceful close revokes the lease first: peers drop the node within 1 s', async () => {
    const [a, b, c] = [node('a'), node('b'), node('c')];
    await Promise.all([a, b, c].map((n) => n.m.start()));
    await waitFor('agree', () => [a, b, c].every((n) => n.m.members().length === 3), 5000);
    const t0 = Date.now();
    const closing = c.m.close();
    await waitFor('c gone from a and b', () => [a, b].every((n) => ids(n.m.members()).join() === 'a,b'), 1000);
    await closing;
    expect(Date.now() - t0).toBeLessThan(1000 + 200);
    expect(c.m.leaseState).toBe('revoked');
    expect(c.events.map((e) => e.type)).toContain('revoked');
    expect((await admin.getAll().prefix('/arenacache/test/').keys()).sort()).toEqual([
      '/arenacache/test/a',
      '/arenacache/test/b',
    ]);
    await c.m.close(); // idempotent
  });

  it('re-registers by itself when its lease is revoked behind its back (etcdctl lease revoke), and logs it', async () => {
    const logs: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const [a, b] = [node('a', { logger }), node('b')];
    await Promise.all([a.m.start(), b.m.start()]);
    const oldLease = BigInt(a.m.currentLeaseId!).toString(16);
    etcd.etcdctl('lease', 'revoke', oldLease);
    await waitFor('a registered again with a new lease', () => a.m.getCounters().reRegistrations >= 1, 3000);
    expect(a.m.leaseState).toBe('granted');
    expect(a.m.currentLeaseId).not.toBe(null);
    expect(BigInt(a.m.currentLeaseId!).toString(16)).not.toBe(oldLease);
    expect(a.m.getCounters().keepaliveLosses).toBeGreaterThanOrEqual(1);
    const types = a.events.map((e) => e.type);
    expect(types).toContain('lease-lost');
    expect(a.events.filter((e) => e.type === 'registered' && e.reRegistration)).not.toHaveLength(0);
    // The record is back under the new lease and b sees a again.
    const ttl = etcd.etcdctl('lease', 'timetolive', BigInt(a.m.currentLeaseId!).toString(16), '--keys');
    expect(ttl).toContain('/arenacache/test/a');
    await waitFor('b sees a again', () => ids(b.m.members()).join() === 'a,b', 3000);
    const msgs = logs.map((l) => l.msg);
    expect(msgs).toContain('registered in etcd');
    expect(msgs).toContain('re-registered in etcd');
    expect(logs.find((l) => l.msg.startsWith('lease lost'))?.level).toBe(40); // warn
    // And it stays: more than a TTL later it is still registered.
    await sleep(TTL * 1000 + 500);
    expect(ids(b.m.members())).toEqual(['a', 'b']);
  });

  it('puts its record back when it is deleted behind its back', async () => {
    const a = node('a');
    await a.m.start();
    const lease = a.m.currentLeaseId;
    etcd.etcdctl('del', '/arenacache/test/a');
    // The record is visible in etcd a moment before the node's put resolves and it counts the
    // re-registration: wait for both.
    await waitFor(
      'record back and counted',
      async () => (await admin.get('/arenacache/test/a').string()) !== null && a.m.getCounters().reRegistrations > 0,
      3000,
    );
    expect(a.m.currentLeaseId).toBe(lease); // same lease, just put again
    expect(a.m.getCounters().reRegistrations).toBe(1);
  });

  it('starts from a node config (comma-separated endpoints, prefix, service)', async () => {
    const m = await startEtcdMembership(nodeInfo('cfg'), {
      endpoints: `${etcd.endpoints[0]}, ${etcd.endpoints[0]}`,
      prefix: '/arenacache',
      service: 'cfgsvc',
      leaseTtlSeconds: TTL,
    });
    try {
      expect(ids(m.members())).toEqual(['cfg']);
      expect(await admin.get('/arenacache/cfgsvc/cfg').json()).toMatchObject({ id: 'cfg', grpcAddress: '127.0.0.1:7000' });
    } finally {
      await m.close();
    }
    expect(await admin.get('/arenacache/cfgsvc/cfg').string()).toBe(null);
  });

  it('rejects bad options early', () => {
    const base = { self: nodeInfo('a'), endpoints: etcd.endpoints };
    expect(() => new EtcdMembership({ ...base, leaseTtlSeconds: 1 })).toThrow(/>= 2/);
    expect(() => new EtcdMembership({ ...base, self: nodeInfo('a/b') })).toThrow(/node id/);
    expect(() => new EtcdMembership({ ...base, endpoints: [] })).toThrow(/endpoint/);
    expect(() => new EtcdMembership({ ...base, self: { id: 'a', grpcAddress: '' } })).toThrow(/grpcAddress/);
  });

  it('with etcd unreachable, start() rejects after startTimeoutMs, members() is still self, close() is prompt', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const a = makeNode('a', [dead], { startTimeoutMs: 1000 });
    nodes.push(a);
    const t0 = Date.now();
    await expect(a.m.start()).rejects.toThrow(/not done within 1000 ms/);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(ids(a.m.members())).toEqual(['a']);
    expect(a.m.etcdReachable).toBe(false);
    const t1 = Date.now();
    await a.m.close();
    expect(Date.now() - t1).toBeLessThan(2500);
  });
});

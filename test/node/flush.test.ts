/**
 * `POST /v1/groups/{group}/flush` against a static three-node cluster of real processes: the
 * write token, bad input, every node's entries dropped (main and hot caches) with one result per
 * node, and a node that is down reported as a partial flush (502) while the others are flushed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/etcd.js';
import { metric, NodeProc, requireBuild, runCli, scrape, startNode, stopAll, waitFor } from './helpers.js';

const nodes: NodeProc[] = [];
afterAll(() => stopAll(nodes));

async function entries(n: NodeProc): Promise<number> {
  const s = await scrape(n);
  return (metric(s, 'arenacache_entries', { group: 'default', cache: 'main' }) ?? 0) + (metric(s, 'arenacache_entries', { group: 'default', cache: 'hot' }) ?? 0);
}

async function flush(n: NodeProc, token?: string): Promise<{ status: number; body: any }> {
  const res = await n.fetch('/v1/groups/default/flush', { method: 'POST', ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
  return { status: res.status, body: await res.json() };
}

describe('flush', () => {
  it('drops the group on every node, one result per node; a node that is down makes it a 502 partial flush', async () => {
    requireBuild();
    const ports = [await freePort(), await freePort(), await freePort()];
    const ids = ['n1', 'n2', 'n3'];
    const peers = ids.map((id, i) => `${id}=127.0.0.1:${ports[i]}`).join(',');
    const [n1, n2, n3] = await Promise.all(
      ids.map((id, i) => startNode(['--id', id, '--grpc-port', String(ports[i]), '--peers', peers, '--auth-token', 'wr', '--load-timeout', '1s'])),
    );
    nodes.push(n1!, n2!, n3!);
    // Started together, each may have dialed the others before they listened: wait until every
    // peer channel is connected (gRPC reconnects with a backoff of at most 2 s). Until then the
    // fail-fast calls below (reads from owners, invalidations, the flush) may be refused.
    const connected = async (n: NodeProc) => ((await (await n.fetch('/v1/stats')).json()) as { peers: { state: string }[] }).peers.every((p) => p.state === 'READY');
    await waitFor('peer channels connected', async () => (await Promise.all([n1!, n2!, n3!].map(connected))).every(Boolean), 15_000);
    const auth = { authorization: 'Bearer wr' };
    const keys = Array.from({ length: 60 }, (_, i) => `f${i}`);
    const items = keys.map((key) => ({ key, value: `v:${key}` }));
    const written = await n1!.fetch('/v1/groups/default/set-many', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ items, encoding: 'utf8' }) });
    expect([written.status, (await written.json()).stored]).toEqual([200, 60]);
    // Read everything through every node twice: hot copies on the non-owners (admitted on the 2nd fetch).
    for (let round = 0; round < 2; round++) for (const n of [n1!, n2!, n3!]) for (const k of keys) await (await n.fetch(`/v1/groups/default/keys/${k}`)).text();
    const before = await Promise.all([n1!, n2!, n3!].map(entries));
    expect(before.every((e) => e > 20)).toBe(true); // owned keys + hot copies of the others

    const denied = await flush(n2!);
    expect([denied.status, denied.body.error]).toEqual([401, 'unauthorized']);
    expect((await n2!.fetch('/v1/groups/nosuch/flush', { method: 'POST', headers: auth })).status).toBe(404);
    expect((await n2!.fetch('/v1/groups/default/flush', { headers: auth })).status).toBe(405);
    expect(await Promise.all([n1!, n2!, n3!].map(entries))).toEqual(before);

    const ok = await flush(n2!, 'wr');
    expect(ok.status).toBe(200);
    expect(ok.body.complete).toBe(true);
    expect(ok.body.nodes.map((x: { id: string; self: boolean; ok: boolean }) => [x.id, x.self, x.ok])).toEqual([
      ['n2', true, true],
      ['n1', false, true],
      ['n3', false, true],
    ]);
    const dropped = Object.fromEntries(ok.body.nodes.map((x: { id: string; dropped: number }) => [x.id, x.dropped]));
    expect([dropped.n1, dropped.n2, dropped.n3]).toEqual(before);
    expect(await Promise.all([n1!, n2!, n3!].map(entries))).toEqual([0, 0, 0]);
    expect((await n3!.fetch('/v1/groups/default/keys/f1')).status).toBe(404); // no origin: gone everywhere

    // n3 down: the flush reaches n1 and n2 and says it did not reach n3.
    await n1!.fetch('/v1/groups/default/set-many', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ items: items.slice(0, 5), encoding: 'utf8' }) });
    expect((await n3!.stop('SIGTERM')).code).toBe(0);
    const partial = await flush(n1!, 'wr');
    expect(partial.status).toBe(502);
    expect(partial.body.error).toBe('partial_flush');
    expect(partial.body.message).toMatch(/^flushed on 2 of 3 nodes; not on n3 \(peer_unavailable: /);
    expect(partial.body.complete).toBe(false);
    expect(partial.body.nodes.map((x: { id: string; ok: boolean }) => [x.id, x.ok])).toEqual([
      ['n1', true],
      ['n2', true],
      ['n3', false],
    ]);
    expect(await Promise.all([n1!, n2!].map(entries))).toEqual([0, 0]);
    expect(n1!.logs.some((l) => l.msg === 'group flushed')).toBe(true);
    const cli = await runCli(['flush', 'default', '--url', n1!.url, '--token', 'wr']);
    expect(cli.code).toBe(2);
    expect(cli.stdout.toString()).toMatch(/^n1\tflushed \(0 entries\)\nn2\tflushed \(0 entries\)\nn3\tNOT flushed: peer_unavailable/);
    expect(cli.stderr).toMatch(/HTTP 502 partial_flush/);
  });
});

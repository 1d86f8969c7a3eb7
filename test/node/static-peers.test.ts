/**
 * `--peers`: static membership. Two CLI nodes listing each other form one ring: a value set
 * through either node is stored on its owner and read through the other. A node started before its
 * peer holds writes for the peer's keys until the peer listens (wait-for-ready, bounded by the
 * group's peer deadline) instead of answering 503.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Ring, ringHash } from '../../src/cluster/index.js';
import { freePort } from '../helpers/etcd.js';
import { metric, NodeProc, requireBuild, scrape, startNode, stopAll, waitFor } from './helpers.js';

const nodes: NodeProc[] = [];
afterAll(() => stopAll(nodes));

describe('static membership', () => {
  it('two nodes with --peers share one ring and route keys to their owner', async () => {
    requireBuild();
    const [pa, pb] = [await freePort(), await freePort()];
    const peers = `a=127.0.0.1:${pa},b=127.0.0.1:${pb}`;
    const [a, b] = await Promise.all([
      startNode(['--id', 'a', '--grpc-port', String(pa), '--peers', peers]),
      startNode(['--id', 'b', '--grpc-port', String(pb)], { ARENACACHE_PEERS: peers }),
    ]);
    nodes.push(a, b);
    for (const n of [a, b]) {
      const m = (await (await n.fetch('/v1/members')).json()) as { mode: string; members: { id: string; grpcAddress: string }[] };
      expect(m.mode).toBe('static');
      expect(m.members.map((x) => `${x.id}@${x.grpcAddress}`)).toEqual([`a@127.0.0.1:${pa}`, `b@127.0.0.1:${pb}`]);
    }
    // Started together, each may have dialed the other before it listened: wait until the peer
    // channels are connected (gRPC reconnects with a backoff of at most 2 s).
    const connected = async (n: NodeProc) =>
      ((await (await n.fetch('/v1/stats')).json()) as { peers: { state: string }[] }).peers.every((p) => p.state === 'READY');
    await waitFor('peer channels connected', async () => (await connected(a)) && (await connected(b)), 10_000);
    // Set 20 keys through a, read them through b: about half live on each node.
    const sources = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      expect((await a.fetch(`/v1/groups/default/keys/s${i}`, { method: 'PUT', body: `v${i}` })).status).toBe(204);
    }
    for (let i = 0; i < 20; i++) {
      const r = await b.fetch(`/v1/groups/default/keys/s${i}`);
      expect([r.status, await r.text()]).toEqual([200, `v${i}`]);
      const s = r.headers.get('x-arenacache-source')!;
      sources.set(s, (sources.get(s) ?? 0) + 1);
    }
    // Keys owned by b are in b's main cache; keys owned by a were fetched from a.
    expect(sources.get('main') ?? 0).toBeGreaterThan(0);
    expect(sources.get('peer') ?? 0).toBeGreaterThan(0);
    expect((sources.get('main') ?? 0) + (sources.get('peer') ?? 0)).toBe(20);
    const stats = (await (await a.fetch('/v1/stats')).json()) as { groups: { default: { servedKeys: number } } };
    expect(stats.groups.default.servedKeys).toBe(sources.get('peer'));
  });

  it('a node started before its peer holds a write for a key the peer owns until the peer is up', async () => {
    requireBuild();
    const [pa, pb] = [await freePort(), await freePort()];
    const peers = `a=127.0.0.1:${pa},b=127.0.0.1:${pb}`;
    // loadTimeout 10 s → the writes' peer deadline is 11 s: room for b to start on a busy machine.
    const common = ['--peers', peers, '--load-timeout', '10s', '--max-bytes', '4MiB'];
    const a = await startNode(['--id', 'a', '--grpc-port', String(pa), ...common]);
    nodes.push(a);
    const ring = new Ring([{ id: 'a', grpcAddress: `127.0.0.1:${pa}` }, { id: 'b', grpcAddress: `127.0.0.1:${pb}` }]);
    let key = '';
    for (let i = 0; !key; i++) if (ring.ownerOfHash(ringHash(`early${i}`))?.id === 'b') key = `early${i}`;
    let status = 0;
    const put = a.fetch(`/v1/groups/default/keys/${key}`, { method: 'PUT', body: 'before b' }).then((r) => (status = r.status));
    // Held, not answered 503: the PUT is in flight on a (besides this scrape) and has no answer.
    await waitFor('the PUT is held in flight', async () => (metric(await scrape(a), 'arenacache_http_requests_in_flight') ?? 0) >= 2, 5000);
    expect(status).toBe(0);
    const b = await startNode(['--id', 'b', '--grpc-port', String(pb), ...common]);
    nodes.push(b);
    await put;
    expect(status).toBe(204);
    const onB = await b.fetch(`/v1/groups/default/keys/${key}`);
    expect([onB.status, onB.headers.get('x-arenacache-source'), await onB.text()]).toEqual([200, 'main', 'before b']);
  });
});

/**
 * Warm restarts at the cluster layer: a node stops, its groups' main caches go into snapshots with
 * the cluster's ownership mark, a new process restores them before it starts. Nodes live in this
 * process over real gRPC on loopback; a restarted node binds the same port under the same id.
 *
 * The rule under test (docs/cluster.md, "Warm restart"): restored entries are served as owner data
 * only when the membership is fixed and the ring is the snapshot's; otherwise a restarted node
 * must never answer with what it held before — a value written or deleted on another node while
 * it was down has to win.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Cluster,
  ManualMembership,
  NOT_FOUND,
  Ring,
  ringHash,
  type Group,
  type NodeInfo,
  type OwnershipMark,
} from '../../src/cluster/index.js';
import { grpcTransport } from '../../src/transport/index.js';

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString('utf8'));

interface Node {
  id: string;
  cluster: Cluster;
  membership: ManualMembership;
  group: Group;
}

const live: Node[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((n) => n.cluster.close()));
});

/** Origin of group `g`: `origin:<key>`, or not found for keys starting with `gone`. */
const load = (key: string) => (key.startsWith('gone') ? NOT_FOUND : `origin:${key}`);

/**
 * A node on `port` (0 = any), membership fixed or not, listing itself and `others` from the start
 * (as a static --peers list does); restored from `snapshot` before it starts.
 */
async function startNode(
  id: string,
  port: number,
  fixed: boolean,
  snapshot?: { chunks: Uint8Array[]; mark: OwnershipMark | undefined },
  others: Node[] = [],
): Promise<Node> {
  const membership = new ManualMembership([], { fixed });
  const cluster = new Cluster({
    self: { id },
    ownerTimeout: 5000,
    transport: grpcTransport({ host: '127.0.0.1', port, shutdownGraceMs: 200 }),
    membership: (self) => {
      membership.set([self, ...others.map((o) => o.cluster.self)]);
      return membership;
    },
  });
  const group = await cluster.addGroup('g', { maxBytes: 4 << 20, load, notFoundTtl: 60_000 });
  if (snapshot) {
    await group.restore(snapshot.chunks);
    if (snapshot.mark) cluster.resume(snapshot.mark);
  }
  await cluster.start();
  const node = { id, cluster, membership, group };
  live.push(node);
  return node;
}

/** Stop a node as a graceful shutdown does, and take its snapshot. */
async function stopWithSnapshot(n: Node): Promise<{ chunks: Uint8Array[]; mark: OwnershipMark | undefined; port: number }> {
  const port = Number(n.cluster.self.grpcAddress.split(':').pop());
  await n.cluster.stop();
  const mark = n.cluster.snapshotMark();
  const chunks = [...n.group.snapshotChunks()];
  await n.cluster.close();
  live.splice(live.indexOf(n), 1);
  return { chunks, mark, port };
}

function sync(nodes: Node[], list: NodeInfo[] = nodes.map((n) => n.cluster.self)): void {
  for (const n of nodes) n.membership.set(list);
}

/** `count` keys the ring over `ids` gives to `owner`. */
function keysOwnedBy(owner: string, ids: string[], prefix: string, count: number): string[] {
  const ring = new Ring(ids.map((id) => ({ id, grpcAddress: '' })));
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const key = `${prefix}${i}`;
    if (ring.ownerOfHash(ringHash(key))!.id === owner) out.push(key);
  }
  return out;
}

describe('warm restart of a node (cluster layer)', () => {
  it('fixed membership, same ring: the restarted node serves what it held as owner, from its main cache', async () => {
    const a = await startNode('node-a', 0, true);
    const b = await startNode('node-b', 0, true);
    sync([a, b]);
    const [k1, k2] = keysOwnedBy('node-a', ['node-a', 'node-b'], 'a', 2);
    await b.group.set(k1!, 'written');
    expect(text(await a.group.get(k2!))).toBe(`origin:${k2}`); // loaded and kept by its owner

    const snap = await stopWithSnapshot(a);
    expect(snap.mark).toMatchObject({ self: 'node-a', members: [{ id: 'node-a' }, { id: 'node-b' }] });
    const a2 = await startNode('node-a', snap.port, true, snap, [b]);
    sync([a2, b]);

    const r1 = await a2.group.getResult(k1!);
    expect([r1.source, text(r1.value)]).toEqual(['main', 'written']);
    const r2 = await a2.group.getResult(k2!);
    expect([r2.source, text(r2.value)]).toEqual(['main', `origin:${k2}`]);
    // The other node reaches it as the owner.
    const viaB = await b.group.getResult(k1!);
    expect([viaB.source, text(viaB.value)]).toEqual(['peer', 'written']);
    expect(a2.group.stats().loads).toBe(0);
    expect(a2.group.stats().staleOwnerEntries).toBe(0);
    // New writes get versions above the restored ones: both stay valid.
    await a2.group.set(k2!, 'new');
    expect(text(await a2.group.get(k2!))).toBe('new');
    expect(text(await a2.group.get(k1!))).toBe('written');
  });

  it('a snapshot of a restored node restores again (the ownership carries over restart after restart)', async () => {
    const a = await startNode('node-a', 0, true);
    const [k1, k2] = keysOwnedBy('node-a', ['node-a'], 'x', 2);
    await a.group.set(k1!, 'first');
    const s1 = await stopWithSnapshot(a);
    const a2 = await startNode('node-a', s1.port, true, s1);
    await a2.group.set(k2!, 'second');
    const s2 = await stopWithSnapshot(a2);
    const a3 = await startNode('node-a', s2.port, true, s2);
    expect((await a3.group.getResult(k1!)).source).toBe('main');
    expect(text(await a3.group.get(k1!))).toBe('first');
    expect(text(await a3.group.get(k2!))).toBe('second');
    expect(a3.group.stats().loads).toBe(0);
  });

  it('membership not fixed: a value written and a key deleted on another node while it was down win over the snapshot', async () => {
    const a = await startNode('node-a', 0, false);
    const b = await startNode('node-b', 0, false);
    sync([a, b]);
    const [changed, untouched] = keysOwnedBy('node-a', ['node-a', 'node-b'], 'd', 2);
    const [deleted] = keysOwnedBy('node-a', ['node-a', 'node-b'], 'gone', 1); // the origin does not have it either
    for (const k of [changed!, deleted!, untouched!]) await b.group.set(k, 'before');

    const snap = await stopWithSnapshot(a);
    expect(snap.mark).toBeUndefined(); // nothing a restart could trust
    // The others drop node-a (as etcd does when its lease is revoked): node-b owns its keys now.
    sync([b]);
    await b.group.set(changed!, 'after');
    await b.group.remove(deleted!);

    // A restore anyway, with the mark of a node whose membership WAS fixed: still refused, because
    // this membership is not.
    const a2 = await startNode('node-a', snap.port, false, { chunks: snap.chunks, mark: fakeMark('node-a', ['node-a', 'node-b']) }, [b]);
    sync([a2, b]);

    const c = await a2.group.getResult(changed!);
    expect(text(c.value)).toBe('after'); // handed over by node-b, which owned it meanwhile
    expect(await a2.group.get(deleted!)).toBeUndefined();
    expect(text(await b.group.get(deleted!))).toBeUndefined();
    const u = await a2.group.getResult(untouched!);
    expect(u.source).not.toBe('main'); // never the restored copy
    expect(text(u.value)).not.toBe('before'); // node-b never held it: loaded from the origin
  });

  it('fixed membership but another ring: the restored entries are dropped, with the reason', async () => {
    const a = await startNode('node-a', 0, true);
    const [k] = keysOwnedBy('node-a', ['node-a'], 'r', 1);
    await a.group.set(k!, 'restored?');
    const snap = await stopWithSnapshot(a);
    const other = await startNode('node-c', 0, true);
    const reasons: string[] = [];
    // node-a comes back into a ring with node-c (the member list changed).
    const membership = new ManualMembership([], { fixed: true });
    const cluster = new Cluster({
      self: { id: 'node-a' },
      transport: grpcTransport({ host: '127.0.0.1', port: snap.port, shutdownGraceMs: 200 }),
      membership: (self) => {
        membership.set([self, other.cluster.self]);
        return membership;
      },
    });
    cluster.on('restore-dropped', (reason: string) => reasons.push(reason));
    const group = await cluster.addGroup('g', { maxBytes: 4 << 20, load });
    await group.restore(snap.chunks);
    cluster.resume(snap.mark!);
    await cluster.start();
    live.push({ id: 'node-a', cluster, membership, group });
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/ring differs.*node-a.*node-a, node-c/);
    expect(group.stats().main.entries).toBe(0);
    if (cluster.isOwner(k!)) expect(text(await group.get(k!))).toBe(`origin:${k}`);
  });

  it('a corrupt snapshot stream is refused and leaves the main cache empty', async () => {
    const a = await startNode('node-a', 0, true);
    for (let i = 0; i < 200; i++) await a.group.set(`c${i}`, `value-${i}`);
    const snap = await stopWithSnapshot(a);
    const bytes = Buffer.concat(snap.chunks);
    bytes[bytes.length - 100]! ^= 0xff;
    const membership = new ManualMembership([], { fixed: true });
    const cluster = new Cluster({ self: { id: 'node-a' }, membership });
    const group = await cluster.addGroup('g', { maxBytes: 4 << 20, load });
    live.push({ id: 'node-a', cluster, membership, group });
    await expect(group.restore([bytes])).rejects.toThrow(/checksum|corrupt/);
    expect(group.stats().main.entries).toBe(0);
  });
});

function fakeMark(self: string, ids: string[]): OwnershipMark {
  return { version: 3, since: 2, self, replicas: 160, members: ids.map((id) => ({ id })) };
}

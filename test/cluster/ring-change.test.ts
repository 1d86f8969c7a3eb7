/**
 * Writes racing a membership change, with nodes in this process over real gRPC, each with its own
 * ManualMembership so the test decides which node sees which ring when (the moment of
 * disagreement that etcd's propagation makes short but never zero).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Ring, ringHash, type Group, type NodeInfo } from '../../src/cluster/index.js';
import { ClusterHarness, type TestNode } from '../helpers/cluster-harness.js';
import { waitFor } from '../helpers/wait.js';

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString('utf8'));

let harness: ClusterHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Three nodes on one ring (R1), a fourth bound but alone; group `g` everywhere (origin: `origin:<key>`). */
async function setup(): Promise<{ h: ClusterHarness; r1: NodeInfo[]; r2: NodeInfo[]; d: TestNode; groups: Map<string, Group> }> {
  const h = (harness = await ClusterHarness.start(3));
  const r1 = h.infos();
  const d = await h.add('node-4');
  const r2 = h.infos();
  const groups = new Map<string, Group>();
  for (const n of h.nodes) {
    groups.set(n.id, await n.cluster.addGroup('g', { maxBytes: 4 << 20, load: (key) => `origin:${key}` }));
  }
  return { h, r1, r2, d, groups };
}

/** A key node-4 owns on r2, and its owner on r1. */
function movedKey(r1: NodeInfo[], r2: NodeInfo[]): { key: string; oldOwner: string } {
  const ring1 = new Ring(r1);
  const ring2 = new Ring(r2);
  for (let i = 0; ; i++) {
    const key = `moved-${i}`;
    if (ring2.ownerOfHash(ringHash(key))!.id === 'node-4') return { key, oldOwner: ring1.ownerOfHash(ringHash(key))!.id };
  }
}

describe('writes racing a ring change', () => {
  it('the new owner takes the old owner\'s copy over; a write the old owner accepted meanwhile is not undone', async () => {
    const { h, r1, r2, d, groups } = await setup();
    const { key, oldOwner } = movedKey(r1, r2);
    const other = r1.find((n) => n.id !== oldOwner)!.id;
    await groups.get('node-1')!.set(key, 'w'); // stored on the old owner

    // node-4 sees the new ring first: it owns the key now and takes the old owner's copy over.
    d.membership.set(r2);
    const handed = await groups.get('node-4')!.getResult(key);
    expect([handed.source, text(handed.value)]).toEqual(['handoff', 'w']);

    // A node still on the old ring writes: the old owner accepts it (by its ring it still owns the
    // key) and invalidates the nodes it knows — not node-4.
    await groups.get(other)!.set(key, 'v');

    // The old owner learns the new ring: the write it just took moved away, so every node is told
    // to drop the key, and node-4 takes the written value over instead of keeping its older copy.
    h.syncMembership(r2);
    const g4 = groups.get('node-4')!;
    await waitFor('node-4 dropped its older copy', () => g4.stats().hotInvalidations > 0, 5000, () => g4.stats());
    for (const n of h.nodes) expect([n.id, text(await groups.get(n.id)!.get(key))]).toEqual([n.id, 'v']);
  });

  it('a write that reaches a node whose ring gives the key to another is refused, changes nothing, and is routed again', async () => {
    const { h, r1, r2, d, groups } = await setup();
    const { key, oldOwner } = movedKey(r1, r2);
    const writer = r1.find((n) => n.id !== oldOwner)!.id;
    // The old owner and node-4 are on the new ring; the writer still routes by the old one.
    d.membership.set(r2);
    h.node(oldOwner).membership.set(r2);
    const gw = groups.get(writer)!;
    let done = false;
    const write = gw.set(key, 'z').then(() => (done = true));
    await waitFor('the old owner refused the write and the writer routes it again', () => gw.stats().writeReroutes > 0, 5000, () => gw.stats());
    expect(done).toBe(false);
    expect(groups.get(oldOwner)!.stats().sets).toBe(0); // nothing was stored there
    h.node(writer).membership.set(r2);
    await write;
    const onOwner = await groups.get('node-4')!.getResult(key);
    expect([onOwner.source, text(onOwner.value)]).toEqual(['main', 'z']);
    h.syncMembership(r2);
    for (const n of h.nodes) expect([n.id, text(await groups.get(n.id)!.get(key))]).toEqual([n.id, 'z']);
  });
});

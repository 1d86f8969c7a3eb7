/**
 * Group.setMany: every item checked before anything is stored; then each stored on its owner,
 * over real gRPC between nodes in this process; an unreachable owner fails only its items.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, PeerUnavailableError, type Group } from '../../src/cluster/index.js';
import { ClusterHarness } from '../helpers/cluster-harness.js';

let harness: ClusterHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString('utf8'));

async function setup(n: number, peerTimeout?: number): Promise<{ h: ClusterHarness; groups: Group[] }> {
  const h = (harness = await ClusterHarness.start(n));
  const groups: Group[] = [];
  for (const node of h.nodes) {
    groups.push(
      await node.cluster.addGroup('g', { maxBytes: 4 << 20, maxValueBytes: 1000, load: () => 'origin', ...(peerTimeout ? { peerTimeout } : {}) }),
    );
  }
  return { h, groups };
}

describe('Group.setMany', () => {
  it('stores every item on its owner, with its TTL', async () => {
    const { h, groups } = await setup(3);
    const items = Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, ...(i === 0 ? { ttl: 60_000 } : {}) }));
    const r = await groups[0]!.setMany(items);
    expect(r).toEqual({ stored: 200, failed: [] });
    for (const { key, value } of items) {
      const owner = h.ownerOf(key);
      const g = groups[h.nodes.indexOf(owner)]!;
      const got = await g.getResult(key);
      expect([got.source, text(got.value)]).toEqual(['main', value]);
    }
    expect(groups.reduce((n, g) => n + g.stats().main.entries, 0)).toBe(200);
  });

  it('one bad item: nothing is stored, the error names the item', async () => {
    const { groups } = await setup(2);
    const items = [
      { key: 'a', value: 'ok' },
      { key: 'b', value: 'x'.repeat(1001) },
      { key: '', value: 'ok' },
    ];
    await expect(groups[0]!.setMany(items)).rejects.toThrow(InvalidArgumentError);
    await expect(groups[0]!.setMany(items)).rejects.toThrow(/^items\[1\]: value is 1001 bytes/);
    await expect(groups[0]!.setMany([{ key: 'a', value: 'v', ttl: -1 }])).rejects.toThrow(/^items\[0\]:/);
    expect(groups.reduce((n, g) => n + g.stats().main.entries + g.stats().sets, 0)).toBe(0);
  });

  it("an owner that cannot be reached fails only its own items", async () => {
    const { h, groups } = await setup(3, 500);
    await h.node('node-3').cluster.close();
    const items = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    const r = await groups[0]!.setMany(items);
    const onDead = items.filter((it) => h.ownerOf(it.key).id === 'node-3').map((it) => it.key);
    expect(onDead.length).toBeGreaterThan(0);
    expect(r.failed.map((f) => f.key)).toEqual(onDead);
    expect(r.failed.every((f) => f.error instanceof PeerUnavailableError)).toBe(true);
    expect(r.stored).toBe(items.length - onDead.length);
    expect(r.failed.map((f) => f.index)).toEqual([...r.failed.map((f) => f.index)].sort((a, b) => a - b));
  });
});

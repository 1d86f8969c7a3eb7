/**
 * Group.flush: every node drops the group's entries (main and hot cache), over real gRPC between
 * nodes in this process; a node that cannot be reached is reported, the others are flushed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PeerUnavailableError, type Group } from '../../src/cluster/index.js';
import { ClusterHarness } from '../helpers/cluster-harness.js';

let harness: ClusterHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function setup(n: number): Promise<{ h: ClusterHarness; groups: Group[]; loads: string[] }> {
  const h = (harness = await ClusterHarness.start(n));
  const loads: string[] = [];
  const groups: Group[] = [];
  for (const node of h.nodes) {
    // hotAfter 1: every fetched value becomes a hot copy, so flushing the hot caches is visible.
    groups.push(await node.cluster.addGroup('g', { maxBytes: 4 << 20, hotAfter: 1, load: (key) => (loads.push(key), `origin:${key}`) }));
  }
  return { h, groups, loads };
}

const entries = (g: Group) => g.stats().main.entries + g.stats().hot.entries;

describe('Group.flush', () => {
  it('drops the group on every node (main and hot caches); the next gets load again', async () => {
    const { groups, loads } = await setup(3);
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
    for (const g of groups) await g.getMany(keys); // owners load, the others keep hot copies
    await groups[0]!.set('written', 'w');
    const before = groups.map(entries);
    expect(before.every((n) => n > 0)).toBe(true);
    expect(groups.reduce((n, g) => n + g.stats().hot.entries, 0)).toBeGreaterThan(0);

    const results = await groups[1]!.flush();
    expect(results.map((r) => [r.id, r.self, r.ok])).toEqual([
      ['node-2', true, true],
      ['node-1', false, true],
      ['node-3', false, true],
    ]);
    // Every node reports what it dropped (two rounds: the second finds nothing left here).
    expect(results.find((r) => r.id === 'node-1')!.dropped).toBe(before[0]);
    expect(results.find((r) => r.id === 'node-2')!.dropped).toBe(before[1]);
    expect(results.find((r) => r.id === 'node-3')!.dropped).toBe(before[2]);
    expect(groups.map(entries)).toEqual([0, 0, 0]);
    expect(groups.map((g) => g.stats().flushes)).toEqual([2, 2, 2]);

    const loadsBefore = loads.length;
    expect(await groups[2]!.get('written')).toBeDefined(); // loaded from the origin again
    expect(Buffer.from((await groups[0]!.get('k1'))!).toString()).toBe('origin:k1');
    expect(loads.length).toBe(loadsBefore + 2);
  });

  it('a node that cannot be reached is reported; the others are flushed', async () => {
    const { h, groups } = await setup(3);
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    await groups[0]!.getMany(keys);
    await h.node('node-3').cluster.close(); // still in node-1's ring, not answering

    const results = await groups[0]!.flush();
    const byId = new Map(results.map((r) => [r.id, r]));
    expect(byId.get('node-1')!.ok).toBe(true);
    expect(byId.get('node-2')!.ok).toBe(true);
    expect(byId.get('node-3')!.ok).toBe(false);
    expect(byId.get('node-3')!.error).toBeInstanceOf(PeerUnavailableError);
    expect(entries(groups[0]!)).toBe(0);
    expect(entries(groups[1]!)).toBe(0);
  });

  it('a load in flight during the flush is not cached', async () => {
    const h = (harness = await ClusterHarness.start(1));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const g = await h.nodes[0]!.cluster.addGroup('g', { maxBytes: 1 << 20, load: async (key) => (await gate, `origin:${key}`) });
    const pending = g.get('slow');
    await g.flush();
    release();
    expect(Buffer.from((await pending)!).toString()).toBe('origin:slow'); // its caller still gets it
    expect(g.stats().main.entries).toBe(0);
    expect(g.stats().staleDrops).toBe(1);
  });
});

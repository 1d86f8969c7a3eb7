/**
 * Group.ownedKeys: the keys a node holds as their owner, for key listings: values only (not cached
 * not-founds), not hot copies, not entries of keys it stopped owning.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NOT_FOUND, type Group } from '../../src/cluster/index.js';
import { ClusterHarness } from '../helpers/cluster-harness.js';

let harness: ClusterHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const listed = (g: Group) => [...g.ownedKeys()].filter((k): k is string => k !== undefined).sort();

describe('Group.ownedKeys', () => {
  it('lists the values each node holds as owner, each key once, across the cluster', async () => {
    const h = (harness = await ClusterHarness.start(2));
    const groups: Group[] = [];
    for (const n of h.nodes) {
      groups.push(await n.cluster.addGroup('g', { maxBytes: 4 << 20, hotAfter: 1, load: (k) => (k.startsWith('none') ? NOT_FOUND : `o:${k}`) }));
    }
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    for (const g of groups) await g.getMany([...keys, 'none1', 'none2']); // hot copies everywhere, not-founds cached
    const a = listed(groups[0]!);
    const b = listed(groups[1]!);
    expect([...a, ...b].sort()).toEqual([...keys].sort());
    expect(a.every((k) => h.ownerOf(k).id === 'node-1')).toBe(true);
    expect(b.every((k) => h.ownerOf(k).id === 'node-2')).toBe(true);
    // Every entry examined yields once (keys or undefined): main entries = values + not-founds.
    expect([...groups[0]!.ownedKeys()].length).toBe(groups[0]!.stats().main.entries);
  });

  it('leaves out entries of keys the node stopped owning', async () => {
    const h = (harness = await ClusterHarness.start(1));
    const g1 = await h.nodes[0]!.cluster.addGroup('g', { maxBytes: 4 << 20, load: (k) => `o:${k}` });
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    await g1.getMany(keys);
    expect(listed(g1)).toEqual([...keys].sort());
    const n2 = await h.add('node-2');
    await n2.cluster.addGroup('g', { maxBytes: 4 << 20, load: (k) => `o:${k}` });
    h.syncMembership(); // node-2 takes part of node-1's keys
    const still = keys.filter((k) => h.ownerOf(k).id === 'node-1');
    expect(still.length).toBeLessThan(keys.length);
    expect(listed(g1)).toEqual([...still].sort());
  });
});

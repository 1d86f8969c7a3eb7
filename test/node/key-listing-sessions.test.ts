/**
 * KeyListings' bookkeeping with a controlled clock: idle listings expire, the least recently used
 * one makes room for a new one, a finished listing is gone. (The HTTP surface is key-listing.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, type Group } from '../../src/cluster/index.js';
import { KeyListings, LISTING } from '../../src/node/key-listing.js';
import { HttpError } from '../../src/node/http-io.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

async function group(keys: number, maxBytes = 4 << 20): Promise<Group> {
  cluster = new Cluster({ self: { id: 'n' } });
  const g = await cluster.addGroup('g', { maxBytes, load: () => 'v' });
  await cluster.start();
  for (let i = 0; i < keys; i++) await g.set(`k${i}`, 'v');
  return g;
}

const status = (fn: () => unknown): number => {
  try {
    fn();
    return 200;
  } catch (err) {
    return err instanceof HttpError ? err.status : 500;
  }
};

describe('KeyListings', () => {
  it('expires a listing idle for idleMs; a used one lives on', async () => {
    const g = await group(50);
    let now = 1000;
    const l = new KeyListings(() => now);
    const a = l.page(g, 'limit=10').cursor!;
    const b = l.page(g, 'limit=10').cursor!;
    now += LISTING.idleMs - 1;
    expect(l.page(g, `limit=10&cursor=${a}`).keys).toHaveLength(10);
    now += 1; // b has been idle idleMs now, a only 1 ms
    expect(status(() => l.page(g, `limit=10&cursor=${b}`))).toBe(410);
    expect(l.page(g, `limit=10&cursor=${a}`).keys).toHaveLength(10);
  });

  it('keeps at most maxListings: the least recently used makes room', async () => {
    const g = await group(50);
    let now = 0;
    const l = new KeyListings(() => now);
    const cursors: string[] = [];
    for (let i = 0; i < LISTING.maxListings; i++) {
      now++;
      cursors.push(l.page(g, 'limit=1').cursor!);
    }
    now++;
    l.page(g, `limit=1&cursor=${cursors[0]}`); // the oldest is used again: the second is now the LRU
    now++;
    l.page(g, 'limit=1');
    expect(l.size).toBe(LISTING.maxListings);
    expect(status(() => l.page(g, `limit=1&cursor=${cursors[1]}`))).toBe(410);
    expect(status(() => l.page(g, `limit=1&cursor=${cursors[0]}`))).toBe(200);
  });

  it('a finished listing is dropped; its cursor is null', async () => {
    const g = await group(25);
    const l = new KeyListings();
    const p1 = l.page(g, 'limit=20');
    const p2 = l.page(g, `limit=20&cursor=${p1.cursor}`);
    expect([p1.keys.length, p2.keys.length, p2.cursor]).toEqual([20, 5, null]);
    expect(l.size).toBe(0);
    expect(status(() => l.page(g, `limit=20&cursor=${p1.cursor}`))).toBe(410);
  });

  it('a page examines at most maxExamined entries: a rare prefix gives short pages, not a long stall', async () => {
    const g = await group(0, 64 << 20);
    await g.setMany(Array.from({ length: LISTING.maxExamined + 10 }, (_, i) => ({ key: `k${i}`, value: 'v' })));
    await g.set('zz-the-one', 'v');
    const l = new KeyListings();
    const p1 = l.page(g, 'prefix=zz&limit=1000');
    expect(p1.cursor).not.toBeNull();
    const p2 = l.page(g, `prefix=zz&limit=1000&cursor=${p1.cursor}`);
    expect(p2.cursor).toBeNull();
    expect([...p1.keys, ...p2.keys]).toEqual(['zz-the-one']);
    expect(g.stats().main.entries).toBe(LISTING.maxExamined + 11); // nothing was evicted
  });
});

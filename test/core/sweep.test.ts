// The TTL sweep: a partial sweep resumes where the previous one stopped and never goes past the
// end of a pass (the newest block); removed entries' blocks are examined as it passes them; the
// cursor follows the queue's tail when the tail passes it; and the invariant checker proves the
// cursor is a block boundary.
import { describe, expect, it } from 'vitest';
import { ArenaCache, type CoreExports } from '../../src/core/index.js';
import * as abi from '../../src/core/abi.generated.js';

/** The sweep cursor's offset in a segment header (core-private: assembly/layout.ts S_CURSOR). */
const S_CURSOR = 28;

const dec = new TextDecoder();

/** One segment, a controlled clock, onEvict recording `key:reason`. */
async function oneSegment(maxBytes = 1 << 20, policy: 'clock' | 'lru' | 's3fifo' = 'clock', maxEntries?: number) {
  let now = 0;
  const seen: string[] = [];
  const c = await ArenaCache.create({
    maxBytes, segments: 1, clock: () => now, sweepIntervalMs: 0, policy, ...(maxEntries ? { maxEntries } : {}),
    onEvict: (k, _v, why) => seen.push(`${dec.decode(k)}:${why}`),
  });
  return { c, seen, at: (t: number) => (now = t) };
}

describe('sweep', () => {
  for (const policy of ['clock', 'lru'] as const) {
    it(`${policy}: a partial sweep resumes where the previous one stopped, and a pass ends at the newest entry`, async () => {
      const { c, seen, at } = await oneSegment(1 << 20, policy);
      for (let i = 0; i < 10; i++) c.set(`k${i}`, 'v', { ttl: 100 });
      at(10);
      expect(c.sweep(3)).toBe(0); // k0..k2 examined
      at(200);
      expect(c.sweep(4)).toBe(4);
      expect(seen).toEqual(['k3:expire', 'k4:expire', 'k5:expire', 'k6:expire']);
      expect(c.sweep(5)).toBe(3); // k7..k9: the pass ends at the newest
      expect(seen.slice(4)).toEqual(['k7:expire', 'k8:expire', 'k9:expire']);
      expect(c.sweep(5)).toBe(3); // a new pass from the oldest: k0..k2, then removed k3, k4
      expect(c.size).toBe(0);
      expect(c.stats().sweepPasses).toBe(1);
      c.checkIntegrity();
    });
  }

  it('a hit does not move the cursor: the sweep walks storage order, not recency', async () => {
    const { c, seen, at } = await oneSegment(1 << 20, 'lru');
    for (let i = 0; i < 10; i++) c.set(`k${i}`, 'v', { ttl: 100 });
    at(10);
    c.sweep(3); // cursor on k3
    c.get('k3'); // k3 becomes the most recent (lru relinks it; it stays where it is stored)
    at(200);
    expect(c.sweep(2)).toBe(2);
    expect(seen).toEqual(['k3:expire', 'k4:expire']);
    c.checkIntegrity();
  });

  it('a removed entry under the cursor leaves a block the sweep passes over', async () => {
    const { c, seen, at } = await oneSegment();
    for (let i = 0; i < 10; i++) c.set(`k${i}`, 'v', { ttl: 100 });
    at(10);
    c.sweep(3); // cursor on k3
    expect(c.delete('k3')).toBe(true);
    c.checkIntegrity();
    at(200);
    expect(c.sweep(2)).toBe(1); // k3's removed block, then k4
    expect(seen).toEqual(['k4:expire']);
    c.checkIntegrity();
  });

  it('when the tail passes the cursor (eviction, second chance), the cursor follows the tail', async () => {
    // An entry limit of 16: each new key beyond it evicts or moves the oldest.
    const { c, seen, at } = await oneSegment(1 << 20, 'clock', 16);
    for (let i = 0; i < 16; i++) c.set(`k${i}`, 'v', { ttl: 100 });
    at(10);
    c.sweep(1); // cursor on k1
    c.get('k0'); // k0 gets a second chance: it moves from the tail to the head
    c.get('k1');
    c.set('n0', 'v', { ttl: 100 }); // k0, k1 move (the cursor's block goes to the head), k2 is evicted
    expect(seen).toEqual(['k2:evict']);
    c.checkIntegrity();
    at(200);
    seen.length = 0;
    expect(c.purgeStale()).toBe(16);
    expect(c.size).toBe(0);
    c.checkIntegrity();
  });

  it('purgeStale removes every expired entry wherever the cursor was, even when the log fills', async () => {
    const { c, seen, at } = await oneSegment(1 << 20);
    for (let i = 0; i < 5000; i++) c.set(`key-${i}`, 'x'.repeat(100), { ttl: i % 2 === 0 ? 100 : 0 });
    at(10);
    c.sweep(1234);
    at(200);
    expect(c.purgeStale()).toBe(2500);
    expect(seen.length).toBe(2500);
    expect(c.size).toBe(2500);
    c.checkIntegrity();
  });
});

describe('the invariant checker', () => {
  it('reports a sweep cursor that is not a block boundary (-117)', async () => {
    const { c, at } = await oneSegment();
    for (let i = 0; i < 10; i++) c.set(`k${i}`, 'v', { ttl: 100 });
    at(10);
    c.sweep(3);
    c.checkIntegrity();
    const ex = (c as unknown as { arena: { ex: CoreExports } }).arena.ex;
    const u32 = new Uint32Array(ex.memory.buffer);
    const segTable = u32[(ex.header() + abi.H_SEG_TABLE) >> 2];
    const cursor = (segTable + S_CURSOR) >> 2;
    const saved = u32[cursor];
    u32[cursor] = saved + 4;
    expect(() => c.checkIntegrity()).toThrow(/violates invariant -117/);
    u32[cursor] = saved;
    c.checkIntegrity();
  });
});

// The TTL sweep cursor: where a partial sweep resumes, how it follows the entry under it when that
// entry is removed, promoted or moved by compaction, and the invariant checker that proves it
// points at a live entry (each of the three fix-ups in assembly/segment.ts is needed by a test here).
import { describe, expect, it } from 'vitest';
import { ArenaCache, type CoreExports } from '../../src/core/index.js';
import { Header } from '../../src/core/abi.js';

/** The sweep cursor's offset in a segment header (core-private: assembly/layout.ts S_CURSOR). */
const S_CURSOR = 44;

const dec = new TextDecoder();

/** One segment, a controlled clock, onEvict recording `key:reason`. */
async function oneSegment(maxBytes = 1 << 20) {
  let now = 0;
  const seen: string[] = [];
  const c = await ArenaCache.create({
    maxBytes, segments: 1, clock: () => now, sweepIntervalMs: 0,
    onEvict: (k, _v, why) => seen.push(`${dec.decode(k)}:${why}`),
  });
  return { c, seen, at: (t: number) => (now = t) };
}

describe('sweep cursor', () => {
  it('a partial sweep resumes where the previous one stopped, toward the most recent, then wraps', async () => {
    const { c, seen, at } = await oneSegment();
    for (let i = 0; i < 10; i++) c.set(`k${i}`, 'v', { ttl: 100 });
    at(10);
    expect(c.sweep(3)).toBe(0); // k0..k2 examined
    at(200);
    expect(c.sweep(4)).toBe(4);
    expect(seen).toEqual(['k3:expire', 'k4:expire', 'k5:expire', 'k6:expire']);
    expect(c.sweep(5)).toBe(5); // k7..k9, then from the tail again: k0, k1
    expect(seen.slice(4)).toEqual(['k7:expire', 'k8:expire', 'k9:expire', 'k0:expire', 'k1:expire']);
    expect(c.sweep(100)).toBe(1); // never more than the entries the call began with
    expect(c.size).toBe(0);
    c.checkIntegrity();
  });

  it('removing the entry under the cursor moves the cursor to the next one', async () => {
    const { c, seen, at } = await oneSegment();
    for (let i = 0; i < 10; i++) c.set(`k${i}`, 'v', { ttl: 100 });
    at(10);
    c.sweep(3); // cursor on k3
    expect(c.delete('k3')).toBe(true);
    c.checkIntegrity();
    at(200);
    expect(c.sweep(2)).toBe(2);
    expect(seen).toEqual(['k4:expire', 'k5:expire']);
    c.checkIntegrity();
  });

  it('promoting the entry under the cursor moves the cursor to the next one', async () => {
    const { c, seen, at } = await oneSegment();
    for (let i = 0; i < 10; i++) c.set(`k${i}`, 'v', { ttl: 100 });
    at(10);
    c.sweep(3); // cursor on k3
    c.get('k3'); // k3 becomes the most recent
    c.checkIntegrity();
    at(200);
    expect(c.sweep(2)).toBe(2);
    expect(seen).toEqual(['k4:expire', 'k5:expire']);
  });

  it('compaction moving the entry under the cursor moves the cursor with it', async () => {
    // Ten equal entries fill the region but for less than one more; two holes of one entry each
    // cannot take an entry of two: the set compacts the segment (the cursor's entry slides down).
    const { c, seen, at } = await oneSegment(16 * 1024);
    const cost = Math.floor(c.segmentBudget / 10 / 16) * 16;
    expect(c.segmentBudget - 10 * cost).toBeLessThan(cost);
    for (let i = 0; i < 10; i++) c.set(`k${i}`, new Uint8Array(cost - 32 - 2), { ttl: 100 });
    c.delete('k1');
    c.delete('k3');
    at(10);
    c.sweep(5); // k0, k2, k4, k5, k6: cursor on k7
    c.set('big', new Uint8Array(c.segmentBudget - 8 * cost - 32 - 3), { ttl: 100 });
    expect(c.stats().compactions).toBe(1);
    expect(c.size).toBe(9);
    c.checkIntegrity();
    at(200);
    expect(c.sweep(2)).toBe(2);
    expect(seen).toEqual(['k7:expire', 'k8:expire']);
    c.checkIntegrity();
  });
});

describe('the invariant checker', () => {
  it('reports a sweep cursor that is not a live entry of its list (-127)', async () => {
    const { c, at } = await oneSegment();
    for (let i = 0; i < 10; i++) c.set(`k${i}`, 'v', { ttl: 100 });
    at(10);
    c.sweep(3);
    c.checkIntegrity();
    // Point the cursor at something that is not an entry, as a missing fix-up would.
    const ex = (c as unknown as { arena: { ex: CoreExports } }).arena.ex;
    const u32 = new Uint32Array(ex.memory.buffer);
    const segTable = u32[(ex.header() + Header.SEG_TABLE) >> 2];
    const cursor = (segTable + S_CURSOR) >> 2;
    const saved = u32[cursor];
    u32[cursor] = saved + 16;
    expect(() => c.checkIntegrity()).toThrow(/violates invariant -127/);
    u32[cursor] = saved;
    c.checkIntegrity();
  });
});

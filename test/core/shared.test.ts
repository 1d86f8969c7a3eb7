// The shared build in one thread: several instances over one memory, thread slots, dead-thread
// recovery (forged lock words stand in for a thread that died mid-call), the creator's sweeper.
// Real threads are exercised in test/workers/.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ArenaCache, Status, type CoreExports } from '../../src/core/index.js';
// @ts-expect-error: plain JS helper shared with the worker scripts
import { arenaView, keysIn, ownerWord, segmentOf, TEST_SEED } from '../workers/fixtures/util.mjs';

const dec = new TextDecoder();
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : dec.decode(v));
const open: ArenaCache[] = [];
const track = <T extends ArenaCache>(c: T): T => (open.push(c), c);

afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

async function shared(options: Partial<Parameters<typeof ArenaCache.createShared>[0]> = {}) {
  const r = await ArenaCache.createShared({ maxBytes: 1 << 20, segments: 4, threads: 8, sweepIntervalMs: 0, seed: TEST_SEED, ...options });
  track(r.cache);
  return r;
}

describe('shared arena in one thread', () => {
  it('several instances of the shared build over one memory see one cache', async () => {
    const { cache, handle } = await shared();
    const b = track(await ArenaCache.attach(handle, { tag: 1 }));
    const c = track(await ArenaCache.attach(handle, { tag: 2 }));
    expect(new Set([cache.threadSlot, b.threadSlot, c.threadSlot]).size).toBe(3);
    for (let i = 0; i < 300; i++) [cache, b, c][i % 3].set(`k${i}`, `v${i}`);
    for (const x of [cache, b, c]) {
      expect(x.size).toBe(300);
      expect(text(x.get('k7'))).toBe('v7');
      expect(text(x.get('k299'))).toBe('v299');
    }
    expect(b.delete('k7')).toBe(true);
    expect(c.has('k7')).toBe(false);
    // A raw instance (fresh wasm globals, if there were any) agrees too.
    const raw = new WebAssembly.Instance(handle.module, { env: { memory: handle.memory } }).exports as unknown as CoreExports;
    expect(raw.ready()).toBe(1);
    expect(raw.count()).toBe(299);
    // Counters live in the arena: every instance reports the same totals.
    expect(b.stats().hits).toBe(cache.stats().hits);
    expect(cache.stats().hits).toBe(6);
    cache.checkIntegrity();
  });

  it('the arena cannot grow: the shared memory is sized to the arena at creation', async () => {
    const { cache, handle } = await shared({ maxBytes: 4 << 20, segments: 16 });
    const before = handle.memory.buffer.byteLength;
    expect(before).toBeGreaterThanOrEqual(4 << 20);
    // The memory's maximum is the arena's size (at most one page of rounding slack).
    expect(() => handle.memory.grow(2)).toThrow(RangeError);
    expect(cache.stats().memoryBytes).toBeLessThanOrEqual(before);
  });

  it('thread slots: attach until full, close gives the slot back, a closed cache refuses calls', async () => {
    const { cache, handle } = await shared({ threads: 3 });
    const b = track(await ArenaCache.attach(handle));
    const c = track(await ArenaCache.attach(handle));
    await expect(ArenaCache.attach(handle)).rejects.toThrow(/thread slots are in use/);
    const slot = c.threadSlot;
    c.close();
    c.close(); // idempotent
    expect(() => c.get('x')).toThrow(/closed/);
    expect(() => c.set('x', 'y')).toThrow(/closed/);
    expect(() => c.handle).toThrow(/closed/);
    const d = track(await ArenaCache.attach(handle));
    expect(d.threadSlot).toBe(slot);
    d.set('a', '1');
    expect(text(b.get('a'))).toBe('1');
    expect(text(cache.get('a'))).toBe('1');
  });

  it('validates handles and tags', async () => {
    const { cache } = await shared();
    await expect(ArenaCache.attach({} as never)).rejects.toThrow(TypeError);
    const privateMemory = new WebAssembly.Memory({ initial: 1 });
    await expect(ArenaCache.attach({ module: cache.handle.module, memory: privateMemory })).rejects.toThrow(/not shared/);
    await expect(ArenaCache.attach(cache.handle, { tag: -1 })).rejects.toThrow(RangeError);
    expect(() => cache.releaseThread(0xffffffff)).toThrow(RangeError);
    const solo = await ArenaCache.create({ maxBytes: 1 << 20 });
    expect(() => solo.handle).toThrow(/only a shared cache/);
    solo.close();
  });

  it('releaseThread recovers exactly the segment a dead thread held, once', async () => {
    const { cache, handle } = await shared();
    const view = arenaView(handle);
    const dead = await ArenaCache.attach(handle, { tag: 42 });
    for (let i = 0; i < 400; i++) cache.set(`k${i}`, `v${i}`);
    const seg = segmentOf('k0', 4);
    const inSeg = cache.stats().segments[seg].entries;
    expect(inSeg).toBeGreaterThan(0);
    // The thread "died" inside a call on `seg`: its owner id is in the lock word, with waiters.
    Atomics.store(view.i32, view.lockIndex(seg), ownerWord(dead.threadSlot) | 1);
    expect(cache.releaseThread(42)).toBe(1);
    expect(view.lockWord(seg)).toBe(0);
    expect(cache.releaseThread(42)).toBe(0); // twice is harmless
    const s = cache.stats();
    expect(s.recoveries).toBe(1);
    expect(s.segments[seg].entries).toBe(0);
    expect(s.entries).toBe(400 - inSeg); // the other segments are untouched
    expect(cache.get('k0')).toBeUndefined();
    cache.set('k0', 'again');
    expect(text(cache.get('k0'))).toBe('again');
    cache.checkIntegrity();
    // Its slot is free again.
    const next = track(await ArenaCache.attach(handle, { tag: 43 }));
    expect(next.threadSlot).toBe(dead.threadSlot);
  });

  it('releaseThread never hits a slot that another thread claimed since', async () => {
    const { cache, handle } = await shared();
    const a = await ArenaCache.attach(handle, { tag: 5 });
    const slot = a.threadSlot;
    a.close();
    const b = track(await ArenaCache.attach(handle, { tag: 6 }));
    expect(b.threadSlot).toBe(slot);
    expect(cache.releaseThread(5)).toBe(0);
    const view = arenaView(handle);
    expect(Atomics.load(view.i32, view.slotAddress(slot) >> 2)).toBe(1); // still LIVE
    b.set('x', 'y');
    expect(text(cache.get('x'))).toBe('y');
    // Untagged threads are never released by tag.
    const untagged = track(await ArenaCache.attach(handle));
    expect(Atomics.load(view.u32, (view.slotAddress(untagged.threadSlot) + 4) >> 2)).toBe(0xffffffff);
  });

  it('a waiter takes over a lock whose owner is being released (slot DEAD)', async () => {
    const { cache, handle } = await shared();
    const view = arenaView(handle);
    const victim = await ArenaCache.attach(handle, { tag: 9 });
    const keys = keysIn('w', 2, 4, 50);
    for (const k of keys) cache.set(k, 'v');
    Atomics.store(view.i32, view.lockIndex(2), ownerWord(victim.threadSlot) | 1);
    Atomics.store(view.i32, view.slotAddress(victim.threadSlot) >> 2, 2); // SLOT_DEAD
    // Without the takeover this call would wait forever (a delete takes the lock; a get of a clock
    // arena would read without it).
    expect(cache.delete(keys[0])).toBe(false);
    expect(view.lockWord(2)).toBe(0);
    expect(cache.stats().recoveries).toBe(1);
    cache.checkIntegrity();
  });

  it('a thread that left a call holding its own lock (a trap) recovers it on its next call', async () => {
    const { cache, handle } = await shared();
    const view = arenaView(handle);
    const keys = keysIn('t', 1, 4, 20);
    for (const k of keys) cache.set(k, 'v');
    Atomics.store(view.i32, view.lockIndex(1), ownerWord(cache.threadSlot));
    expect(cache.delete(keys[0])).toBe(false);
    expect(cache.stats().recoveries).toBe(1);
    cache.set(keys[0], 'w');
    expect(text(cache.get(keys[0]))).toBe('w');
    cache.checkIntegrity();
  });

  it('a thread that may not block (browser main thread) still takes a contended lock', async () => {
    const { cache, handle } = await shared({ canBlock: false });
    const view = arenaView(handle);
    const other = await ArenaCache.attach(handle, { tag: 3, canBlock: false });
    const k = keysIn('s', 0, 4, 1)[0];
    Atomics.store(view.i32, view.lockIndex(0), ownerWord(other.threadSlot) | 1);
    Atomics.store(view.i32, view.slotAddress(other.threadSlot) >> 2, 2); // owner dying: exercised via the spin path
    cache.set(k, 'v');
    expect(text(cache.get(k))).toBe('v');
    cache.checkIntegrity();
  });

  it('the creator sweeps expired entries that other threads stored', async () => {
    let now = 1_000;
    const clock = () => now;
    const { cache, handle } = await shared({ sweepIntervalMs: 8, clock });
    const b = track(await ArenaCache.attach(handle, { clock, tag: 1 }));
    for (let i = 0; i < 200; i++) b.set(`e${i}`, 'x', { ttl: 10 });
    for (let i = 0; i < 50; i++) b.set(`p${i}`, 'y');
    expect(cache.size).toBe(250);
    now += 20;
    await vi.waitFor(() => expect(cache.size).toBe(50), { timeout: 5_000, interval: 10 });
    expect(cache.stats().expirations).toBe(200);
    cache.checkIntegrity();
  });

  it('each thread gets the evictions its own calls cause (evictionLogs)', async () => {
    const { cache, handle } = await shared({ maxBytes: 16 * 1024, segments: 1 });
    await expect(ArenaCache.attach(handle, { onEvict: () => {} })).rejects.toThrow(/no eviction logs/);
    const logged = await shared({ maxBytes: 16 * 1024, segments: 1, evictionLogs: true });
    const seen: string[] = [];
    const b = track(await ArenaCache.attach(logged.handle, { onEvict: (k, _v, why) => seen.push(`${dec.decode(k)}:${why}`) }));
    for (let i = 0; i < 100; i++) logged.cache.set(`a${i}`, 'x'.repeat(200)); // the creator's evictions: nobody listens
    expect(seen).toEqual([]);
    for (let i = 0; i < 100; i++) b.set(`b${i}`, 'y'.repeat(200));
    expect(seen.length).toBeGreaterThan(50);
    expect(seen[0]).toMatch(/^a\d+:evict$/);
    logged.cache.checkIntegrity();
    cache.checkIntegrity();
  });

  it('the core refuses release of an out-of-range slot', async () => {
    const { handle } = await shared();
    const raw = new WebAssembly.Instance(handle.module, { env: { memory: handle.memory } }).exports as unknown as CoreExports;
    expect(raw.release_slot(1000, 0, 0)).toBe(Status.BAD_ARG);
    expect(raw.release_slot(3, 0, 0)).toBe(Status.NOT_FOUND);
  });
});

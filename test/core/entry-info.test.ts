// getRemainingTTL and info: the conventions (0 = no expiry, undefined = absent or expired, whole
// milliseconds rounded up), on a controlled clock; neither promotes nor counts; bad keys change nothing.
import { describe, expect, it } from 'vitest';
import { ArenaCache } from '../../src/core/index.js';

async function clocked(extra: Partial<Parameters<typeof ArenaCache.create>[0]> = {}) {
  const clock = { now: 10_000 };
  const cache = await ArenaCache.create({ maxBytes: 1 << 20, sweepIntervalMs: 0, clock: () => clock.now, ...extra });
  return { cache, clock };
}

describe('getRemainingTTL', () => {
  it('ms left, 0 for no expiry, undefined when absent or expired', async () => {
    const { cache, clock } = await clocked();
    cache.set('forever', 'v');
    cache.set('short', 'v', { ttl: 100 });
    cache.set('zero', 'v', { ttl: 0 });
    expect(cache.getRemainingTTL('forever')).toBe(0);
    expect(cache.getRemainingTTL('zero')).toBe(0);
    expect(cache.getRemainingTTL('short')).toBe(100);
    expect(cache.getRemainingTTL('absent')).toBeUndefined();
    clock.now += 40;
    expect(cache.getRemainingTTL('short')).toBe(60);
    clock.now += 59;
    expect(cache.getRemainingTTL('short')).toBe(1);
    clock.now += 1;
    expect(cache.getRemainingTTL('short')).toBeUndefined();
    expect(cache.getRemainingTTL('forever')).toBe(0);
  });

  it('the cache\'s default TTL applies to entries set without one; a fractional TTL is rounded up to whole ms', async () => {
    const { cache, clock } = await clocked({ ttl: 250 });
    cache.set('d', 'v');
    cache.set('f', 'v', { ttl: 10.25 });
    expect(cache.getRemainingTTL('d')).toBe(250);
    expect(cache.getRemainingTTL('f')).toBe(11);
    clock.now += 10;
    expect(cache.getRemainingTTL('f')).toBe(1); // expires at 10_011, never early
    clock.now += 1;
    expect(cache.getRemainingTTL('f')).toBeUndefined();
  });
});

describe('info', () => {
  it('size, cost, expiresAt (on the cache\'s clock) and remainingTTL', async () => {
    const { cache, clock } = await clocked();
    cache.set('key', 'a value', { ttl: 500 });
    cache.set(Uint8Array.of(1, 2), new Uint8Array(1000));
    expect(cache.info('key')).toEqual({ size: 7, cost: cache.entryCost(3, 7), expiresAt: 10_500, remainingTTL: 500 });
    expect(cache.info(Uint8Array.of(1, 2))).toEqual({ size: 1000, cost: cache.entryCost(2, 1000), expiresAt: 0, remainingTTL: 0 });
    clock.now = 10_499;
    expect(cache.info('key')?.remainingTTL).toBe(1);
    clock.now = 10_500;
    expect(cache.info('key')).toBeUndefined();
  });

  it('neither promotes nor counts (lru: the entry asked about is still evicted first); an expired entry it finds is removed', async () => {
    const evicted: string[] = [];
    const clock = { now: 0 };
    const cache = await ArenaCache.create({
      maxBytes: 4096, segments: 1, policy: 'lru', sweepIntervalMs: 0, clock: () => clock.now,
      onEvict: (k, _v, why) => evicted.push(`${new TextDecoder().decode(k)}:${why}`),
    });
    cache.set('old', 'v').set('t', 'v', { ttl: 5 });
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, 'v');
    const before = cache.stats();
    expect(cache.info('old')).toBeDefined();
    expect(cache.getRemainingTTL('old')).toBe(0);
    const after = cache.stats();
    expect([after.hits, after.misses]).toEqual([before.hits, before.misses]);
    clock.now = 5;
    expect(cache.info('t')).toBeUndefined();
    expect(evicted).toEqual(['t:expire']);
    expect(cache.stats().expirations).toBe(1);
    for (let i = 0; !evicted.some((e) => e.endsWith(':evict')); i++) cache.set(`fill${i}`, 'v'.repeat(30));
    expect(evicted.filter((e) => e.endsWith(':evict'))[0]).toBe('old:evict');
  });

  it('a bad key throws before the core is touched (nothing counted)', async () => {
    const { cache } = await clocked({ maxKeyBytes: 8 });
    const s = cache.stats();
    expect(() => cache.info(42 as never)).toThrow(TypeError);
    expect(() => cache.getRemainingTTL('x'.repeat(9))).toThrow(/9 bytes; maxKeyBytes is 8/);
    expect(cache.stats()).toEqual(s);
  });
});

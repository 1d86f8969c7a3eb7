// disposeReasons: onEvict hears deletes and replaced values when asked (as lru-cache's dispose
// does), evictions and expirations by default, never clear; bad reasons are refused at creation.
import { describe, expect, it } from 'vitest';
import { ArenaCache } from '../../src/core/index.js';
import type { EvictReason } from '../../src/core/types.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function recording(disposeReasons?: EvictReason[]) {
  const heard: string[] = [];
  const clock = { now: 0 };
  const cache = await ArenaCache.create({
    maxBytes: 4096, segments: 1, policy: 'lru', sweepIntervalMs: 0, clock: () => clock.now,
    ...(disposeReasons === undefined ? {} : { disposeReasons }),
    onEvict: (k, v, why) => heard.push(`${text(k)}=${text(v)}:${why}`),
  });
  return { cache, heard, clock };
}

/** The same operations for every configuration: a replace, a setMany replace, deletes, an expiry, an eviction, a clear. */
function exercise(cache: ArenaCache, clock: { now: number }): void {
  cache.set('a', 'a1').set('a', 'a2');
  cache.setMany([['b', 'b1'], ['b', 'b2']]);
  cache.delete('a');
  cache.delete('absent');
  cache.set('t', 't1', { ttl: 5 });
  clock.now = 5;
  cache.delete('t'); // expired: removed as an expiry, reported absent
  for (let i = 0; cache.has('b') && i < 500; i++) cache.set(`f${i}`, 'x'.repeat(40));
  cache.set('c', 'c1');
  cache.clear();
}

describe('disposeReasons', () => {
  it('default: evictions and expirations only', async () => {
    const { cache, heard, clock } = await recording();
    exercise(cache, clock);
    expect(heard).toContain('t=t1:expire');
    expect(heard).toContain('b=b2:evict');
    expect(heard.every((h) => h.endsWith(':evict') || h.endsWith(':expire'))).toBe(true);
  });

  it('all four: a replaced value (the old one) as set, a delete as delete, in the order they left; clear never', async () => {
    const { cache, heard, clock } = await recording(['evict', 'expire', 'delete', 'set']);
    exercise(cache, clock);
    expect(heard.slice(0, 4)).toEqual(['a=a1:set', 'b=b1:set', 'a=a2:delete', 't=t1:expire']);
    expect(heard).toContain('b=b2:evict');
    expect(heard.some((h) => h.startsWith('c='))).toBe(false);
  });

  it('only what is asked for: deletes alone', async () => {
    const { cache, heard, clock } = await recording(['delete']);
    exercise(cache, clock);
    expect(heard).toEqual(['a=a2:delete']);
  });

  it('a callback may use the cache; a throwing callback still lets every record through, then the error', async () => {
    const heard: string[] = [];
    const cache: ArenaCache = await ArenaCache.create({
      maxBytes: 1 << 20, sweepIntervalMs: 0, disposeReasons: ['set', 'delete'],
      onEvict: (k, v, why) => {
        heard.push(`${text(k)}=${text(v)}:${why}`);
        if (why === 'set') cache.set(`log:${text(k)}`, v);
        if (text(k) === 'boom') throw new Error('callback failed');
      },
    });
    cache.set('k', 'old').set('k', 'new');
    expect(text(cache.get('log:k')!)).toBe('old');
    cache.set('boom', '1');
    expect(() => cache.set('boom', '2')).toThrow('callback failed');
    expect(text(cache.get('boom')!)).toBe('2');
    expect(heard).toEqual(['k=old:set', 'boom=1:set']);
  });

  it('bad reasons are refused when the cache is created', async () => {
    await expect(ArenaCache.create({ maxBytes: 1 << 20, disposeReasons: ['evict', 'dispose' as never] })).rejects.toThrow(RangeError);
    await expect(ArenaCache.create({ maxBytes: 1 << 20, disposeReasons: 'evict' as never })).rejects.toThrow(TypeError);
  });
});

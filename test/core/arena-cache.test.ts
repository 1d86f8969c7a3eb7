// ArenaCache: every operation, the errors it raises, TTL, eviction callbacks, batches, edge cases.
import { describe, expect, it } from 'vitest';
import { ArenaCache, entryHeaderOf } from '../../src/core/index.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const small = (extra: Partial<Parameters<typeof ArenaCache.create>[0]> = {}) =>
  ArenaCache.create({ maxBytes: 1 << 20, sweepIntervalMs: 0, ...extra });

describe('Map-like operations', () => {
  it('set/get/peek/has/delete/clear/size/bytes', async () => {
    const c = await small();
    expect(c.size).toBe(0);
    expect(c.get('a')).toBeUndefined();
    c.set('a', 'alpha').set('b', Uint8Array.of(1, 2, 3));
    expect(text(c.get('a'))).toBe('alpha');
    expect(c.get('b')).toEqual(Uint8Array.of(1, 2, 3));
    expect(text(c.peek('a'))).toBe('alpha');
    expect(c.has('a')).toBe(true);
    expect(c.has('zzz')).toBe(false);
    expect(c.size).toBe(2);
    expect(c.bytes).toBe(c.entryCost(1, 5) + c.entryCost(1, 3));
    expect(c.delete('a')).toBe(true);
    expect(c.delete('a')).toBe(false);
    expect(c.get('a')).toBeUndefined();
    c.clear();
    expect(c.size).toBe(0);
    expect(c.bytes).toBe(0);
    const s = c.stats();
    expect(s.hits).toBe(2);
    expect(s.misses).toBe(2);
    expect(s.sets).toBe(2);
    expect(s.deletes).toBe(1);
    c.checkIntegrity();
  });

  it('getInto copies into a caller buffer without allocating and promotes like get', async () => {
    const c = await small();
    c.set('k', 'value');
    const buf = new Uint8Array(16).fill(0xee);
    expect(c.getInto('k', buf, 2)).toBe(5);
    expect(text(buf.subarray(2, 7))).toBe('value');
    expect(buf[1]).toBe(0xee);
    expect(buf[7]).toBe(0xee);
    expect(c.getInto('missing', buf)).toBe(-1);
    expect(() => c.getInto('k', new Uint8Array(4))).toThrow(/the value is 5 bytes; the target has 4/);
    expect(c.stats().hits).toBe(2);
    expect(c.stats().misses).toBe(1);
  });

  it('getView borrows the value (in place, or copied when it wraps or the arena is shared) and counts like get', async () => {
    for (const shared of [false, true]) {
      const c = shared
        ? (await ArenaCache.createShared({ maxBytes: 64 * 1024, segments: 1, sweepIntervalMs: 0, seed: [1, 2, 3, 4] })).cache
        : await ArenaCache.create({ maxBytes: 64 * 1024, segments: 1, sweepIntervalMs: 0, seed: [1, 2, 3, 4] });
      // Values of many sizes through a small ring: some wrap around its end.
      const model = new Map<string, Uint8Array>();
      let seed = 7;
      const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
      for (let i = 0; i < 3000; i++) {
        const k = `k${rnd(200)}`;
        const v = new Uint8Array(1 + rnd(1500)).map(() => rnd(256));
        c.set(k, v);
        model.set(k, v);
        const probe = `k${rnd(200)}`;
        const view = c.getView(probe);
        if (view === undefined) {
          expect(c.has(probe)).toBe(false);
          model.delete(probe);
        } else {
          expect(view, `${shared ? 'shared' : 'private'} ${probe}`).toEqual(model.get(probe));
        }
      }
      const before = c.stats();
      c.getView('k-missing');
      const [k] = [...model.keys()].filter((x) => c.has(x));
      expect(c.getView(k)).toBeDefined();
      expect([c.stats().hits - before.hits, c.stats().misses - before.misses]).toEqual([1, 1]);
      c.close();
    }
  });

  it('string and byte keys with the same UTF-8 bytes are the same key', async () => {
    const c = await small();
    c.set('héllo ✓ 🎉', 'x');
    expect(text(c.get(new TextEncoder().encode('héllo ✓ 🎉')))).toBe('x');
  });

  it('replacing a key keeps one entry and charges the new size', async () => {
    const c = await small();
    c.set('k', 'short');
    c.set('k', 'a much longer value than before');
    expect(c.size).toBe(1);
    expect(c.bytes).toBe(c.entryCost(1, 31));
    expect(text(c.get('k'))).toBe('a much longer value than before');
    c.checkIntegrity();
  });

  it('get returns a copy that survives eviction and later writes', async () => {
    const c = await ArenaCache.create({ maxBytes: 16 * 1024, segments: 1, sweepIntervalMs: 0, policy: 'lru' });
    c.set('k', 'original');
    const v = c.get('k')!;
    c.set('k', 'replaced');
    for (let i = 0; i < 2000; i++) c.set(`fill${i}`, 'x'.repeat(50));
    expect(c.get('k')).toBeUndefined();
    expect(text(v)).toBe('original');
  });

  it('lru evicts the least recently used entry of the segment first', async () => {
    const evicted: string[] = [];
    const c = await ArenaCache.create({
      maxBytes: 8192, segments: 1, sweepIntervalMs: 0, policy: 'lru', onEvict: (k, v, why) => evicted.push(`${text(k)}:${v.length}:${why}`),
    });
    const fits = Math.floor(c.segmentBudget / c.entryCost(2, 1000));
    for (let i = 1; i <= fits; i++) c.set(`k${i}`, new Uint8Array(1000));
    c.get('k1'); // k1 becomes most recent; k2 is now the oldest
    c.peek('k2'); // peek does not promote
    c.set('kx', new Uint8Array(1000));
    expect(evicted).toEqual(['k2:1000:evict']);
    expect(c.has('k1')).toBe(true);
    expect(c.stats().evictions).toBe(1);
  });

  it('maxEntries bounds the count as lru-cache\'s max does, under every policy', async () => {
    for (const policy of ArenaCache.policies) {
      for (const [maxEntries, segments] of [[8, undefined], [1000, undefined], [1000, 16], [37, 4]] as const) {
        const c = await ArenaCache.create({ maxBytes: 1 << 20, maxEntries, segments, policy, sweepIntervalMs: 0 });
        for (let i = 0; i < 4 * maxEntries; i++) c.set(`k${i}`, 'v');
        const at = `${policy} maxEntries ${maxEntries} segments ${segments ?? 'auto'}`;
        expect(c.size, at).toBeLessThanOrEqual(maxEntries);
        expect(c.maxEntries, at).toBeLessThanOrEqual(maxEntries);
        // Split evenly over the segments, rounded down: never more than one entry short per segment.
        expect(c.maxEntries, at).toBeGreaterThan(maxEntries - c.stats().segments.length);
        expect(c.size, at).toBeGreaterThan(maxEntries / 2);
      }
    }
  });
});

describe('TTL', () => {
  it('expires entries by a controlled clock: lazily, and by sweep', async () => {
    let now = 1_000_000;
    const events: string[] = [];
    const c = await small({ clock: () => now, onEvict: (k, _v, why) => events.push(`${text(k)}:${why}`) });
    c.set('short', 'v', { ttl: 100 });
    c.set('long', 'v', { ttl: 10_000 });
    c.set('forever', 'v', { ttl: 0 });
    now += 99;
    expect(c.has('short')).toBe(true);
    now += 1;
    expect(c.get('short')).toBeUndefined(); // expiry is inclusive: expires at set time + ttl
    expect(events).toEqual(['short:expire']);
    now += 20_000;
    expect(c.size).toBe(2); // 'long' is expired but not yet removed
    expect(c.purgeStale()).toBe(1);
    expect(events).toEqual(['short:expire', 'long:expire']);
    expect(c.size).toBe(1);
    expect(c.has('forever')).toBe(true);
    expect(c.stats().expirations).toBe(2);
  });

  it('applies the default TTL unless an entry says otherwise', async () => {
    let now = 5_000;
    const c = await small({ clock: () => now, ttl: 50 });
    c.set('default', 'v');
    c.set('never', 'v', { ttl: 0 });
    now += 50;
    expect(c.get('default')).toBeUndefined();
    expect(c.get('never')).toBeDefined();
  });

  it('sweeps incrementally: a bounded number of entries per call, one segment at a time', async () => {
    let now = 0;
    const c = await ArenaCache.create({ maxBytes: 1 << 20, segments: 1, clock: () => now, sweepIntervalMs: 0 });
    for (let i = 0; i < 100; i++) c.set(`k${i}`, 'v', { ttl: 10 });
    now = 100;
    expect(c.sweep(30)).toBe(30);
    expect(c.size).toBe(70);
    expect(c.sweep(1000)).toBe(70);
    expect(c.size).toBe(0);
  });

  it('the background sweeper removes expired entries without any access', async () => {
    const c = await ArenaCache.create({ maxBytes: 1 << 20, segments: 2, sweepIntervalMs: 20 });
    for (let i = 0; i < 50; i++) c.set(`k${i}`, 'v', { ttl: 1 });
    const deadline = Date.now() + 5_000;
    while (c.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(c.size).toBe(0);
    expect(c.stats().expirations).toBe(50);
    c.close();
  });
});

describe('bad input gets a clear error and changes nothing', () => {
  it('rejects bad options', async () => {
    await expect(ArenaCache.create({} as never)).rejects.toThrow(TypeError);
    await expect(small({ segments: 3 })).rejects.toThrow(/power of two/);
    await expect(small({ maxBytes: 100 })).rejects.toThrow(RangeError);
    await expect(small({ ttl: -1 })).rejects.toThrow(/ttl/);
    await expect(small({ maxKeyBytes: 0 })).rejects.toThrow(/maxKeyBytes/);
    await expect(small({ onEvict: 42 as never })).rejects.toThrow(/onEvict/);
    await expect(small({ maxEntries: 0 })).rejects.toThrow(/maxEntries/);
    await expect(small({ maxEntries: 16, segments: 16 })).rejects.toThrow(/maxEntries must be at least 32 with 16 segment\(s\) and policy s3fifo/);
    await expect(small({ maxEntries: 1, policy: 's3fifo' })).rejects.toThrow(/at least 2/);
    expect((await small({ maxEntries: 1, policy: 'lru' })).maxEntries).toBe(1);
  });

  it('oversized keys and values throw RangeError naming the limit', async () => {
    const c = await ArenaCache.create({ maxBytes: 64 * 1024, segments: 4, maxKeyBytes: 16, maxValueBytes: 1000, sweepIntervalMs: 0 });
    c.set('keep', 'me');
    const before = c.stats();
    expect(() => c.set('k'.repeat(17), 'v')).toThrow(/maxKeyBytes is 16/);
    expect(() => c.set('é'.repeat(9), 'v')).toThrow(/18 bytes; maxKeyBytes is 16/);
    expect(() => c.get('k'.repeat(17))).toThrow(RangeError);
    expect(() => c.set('k', new Uint8Array(1001))).toThrow(/maxValueBytes is 1000/);
    expect(() => c.set('k', 'x'.repeat(1001))).toThrow(/maxValueBytes is 1000/);
    expect(() => c.set('k', 'v', { ttl: -5 })).toThrow(/ttl/);
    expect(() => c.set('k', 'v', { ttl: Number.NaN })).toThrow(/ttl/);
    expect(() => c.set(42 as never, 'v')).toThrow(TypeError);
    expect(() => c.set('k', 42 as never)).toThrow(TypeError);
    expect(() => c.get(null as never)).toThrow(TypeError);
    expect(c.stats()).toEqual(before); // refused by the host before the core: nothing counted
    expect(c.size).toBe(1);
    expect(text(c.get('keep'))).toBe('me');
    c.checkIntegrity();
  });

  it('an entry bigger than a segment is refused before the core; nothing is evicted or counted for it', async () => {
    const c = await ArenaCache.create({ maxBytes: 4 * 4096, segments: 4, sweepIntervalMs: 0 });
    for (let i = 0; i < 20; i++) c.set(`k${i}`, 'v');
    const hdr = entryHeaderOf(c.policy);
    expect(c.maxValueBytes).toBe(c.entryLimit - hdr);
    const limit = c.maxValueFor(1); // value limit for a 1-byte key
    expect(limit).toBe(c.entryLimit - hdr - 1);
    c.set('x', new Uint8Array(limit)); // exactly at the limit
    expect(c.get('x')!.length).toBe(limit);
    c.clear();
    for (let i = 0; i < 20; i++) c.set(`k${i}`, 'v');
    expect(() => c.set('xy', new Uint8Array(limit))).toThrow(/one segment takes entries of at most/); // one byte over
    expect(c.size).toBe(20);
    expect(c.stats().rejected).toBe(0);
  });

  it('setMany validates the whole batch before changing anything', async () => {
    const c = await ArenaCache.create({ maxBytes: 1 << 20, maxKeyBytes: 8, sweepIntervalMs: 0 });
    expect(() => c.setMany([['a', '1'], ['b', '2'], ['much-too-long-key', '3']])).toThrow(/key 2 is 17 bytes/);
    expect(() => c.setMany([['a', '1'], ['b', 5 as never]])).toThrow(TypeError);
    expect(c.size).toBe(0);
  });
});

describe('batches', () => {
  it('getMany and setMany cross into wasm once per batch and agree with get/set', async () => {
    const c = await small();
    const entries: [string, string][] = [];
    for (let i = 0; i < 1000; i++) entries.push([`key:${i}`, `value:${i}:${'x'.repeat(i % 50)}`]);
    c.setMany(entries);
    expect(c.size).toBe(1000);
    const keys = [...entries.map(([k]) => k), 'missing', ''];
    const got = c.getMany(keys);
    for (let i = 0; i < 1000; i++) expect(text(got[i])).toBe(entries[i][1]);
    expect(got[1000]).toBeUndefined();
    expect(got[1001]).toBeUndefined();
    expect(c.stats().hits).toBe(1000);
    c.checkIntegrity();
  });

  it('getMany handles values too big to share the I/O area with the batch', async () => {
    const c = await ArenaCache.create({ maxBytes: 16 << 20, segments: 2, maxValueBytes: 200_000, sweepIntervalMs: 0 });
    const big = new Uint8Array(150_000).map((_, i) => i & 0xff);
    c.setMany([['a', big], ['b', 'small'], ['c', big]]);
    const [a, b, missing, cc] = c.getMany(['a', 'b', 'nope', 'c']);
    expect(a).toEqual(big);
    expect(text(b)).toBe('small');
    expect(missing).toBeUndefined();
    expect(cc).toEqual(big);
  });

  it('setMany with TTLs', async () => {
    let now = 10;
    const c = await small({ clock: () => now });
    c.setMany([['a', '1', { ttl: 5 }], ['b', '2']]);
    now = 15;
    expect(c.getMany(['a', 'b']).map(text)).toEqual([undefined, '2']);
  });
});

describe('edge cases', () => {
  it('empty key, 0-byte value, non-UTF-8 key bytes, unicode keys', async () => {
    const c = await small();
    c.set('', 'empty key');
    c.set('zero', new Uint8Array(0));
    const binary = Uint8Array.of(0xff, 0x00, 0xc3, 0x28);
    c.set(binary, 'binary');
    c.set('日本語のキー', '値');
    expect(text(c.get(''))).toBe('empty key');
    expect(c.get('zero')).toEqual(new Uint8Array(0));
    expect(text(c.get(binary))).toBe('binary');
    expect(text(c.get('日本語のキー'))).toBe('値');
    expect(c.has(Uint8Array.of(0xff, 0x00, 0xc3))).toBe(false); // a prefix is another key
    c.checkIntegrity();
  });

  it('a budget smaller than one entry refuses it cleanly', async () => {
    // 1 KiB leaves no room for 1 KiB of storage after the index: a clear error.
    await expect(ArenaCache.create({ maxBytes: 1024, segments: 1, sweepIntervalMs: 0 })).rejects.toThrow(/too little room after its index/);
    const c = await ArenaCache.create({ maxBytes: 2048, segments: 1, sweepIntervalMs: 0 });
    expect(() => c.set('k', new Uint8Array(2000))).toThrow(RangeError);
    c.set('k', 'fits');
    expect(text(c.get('k'))).toBe('fits');
  });

  it('millions of tiny entries stay within budget and consistent', async () => {
    const c = await ArenaCache.create({ maxBytes: 64 << 20, segments: 16, sweepIntervalMs: 0 });
    const n = 2_000_000;
    for (let i = 0; i < n; i++) c.set(`k${i}`, '');
    const s = c.stats();
    expect(s.bytesUsed).toBeLessThanOrEqual(s.budget);
    expect(c.size + s.evictions).toBe(n);
    expect(c.size).toBeGreaterThan(1_000_000);
    expect(c.get(`k${n - 1}`)).toEqual(new Uint8Array(0));
    c.checkIntegrity();
  });

  it('stats report fragmentation honestly and per segment', async () => {
    const c = await ArenaCache.create({ maxBytes: 256 * 1024, segments: 4, sweepIntervalMs: 0 });
    for (let i = 0; i < 400; i++) c.set(`k${i}`, 'x'.repeat(100 + (i % 7) * 40));
    for (let i = 0; i < 400; i += 2) c.delete(`k${i}`);
    const s = c.stats();
    expect(s.segments).toHaveLength(4);
    // Removed entries' space is reclaimed in storage order: until then it shows as fragmentation.
    expect(s.logBytes).toBeGreaterThan(s.bytesUsed);
    expect(s.fragmentation).toBeCloseTo((s.logBytes - s.bytesUsed) / s.logBytes, 10);
    expect(s.segments.reduce((n, x) => n + x.entries, 0)).toBe(200);
    expect(s.memoryBytes).toBeGreaterThan(256 * 1024);
    c.checkIntegrity();
  });

  it('an onEvict callback may use the cache again', async () => {
    const seen: string[] = [];
    const c: ArenaCache = await ArenaCache.create({
      maxBytes: 8192, segments: 1, sweepIntervalMs: 0, policy: 'lru',
      onEvict: (k) => {
        seen.push(text(k)!);
        if (text(k) === 'k1') c.set('rescued', 'yes');
      },
    });
    for (let i = 1; i <= 10; i++) c.set(`k${i}`, new Uint8Array(1000));
    expect(seen[0]).toBe('k1');
    expect(text(c.get('rescued'))).toBe('yes');
    c.checkIntegrity();
  });

  it('evictions larger than the eviction log are all reported (log drained and the set retried)', async () => {
    const evicted: number[] = [];
    const c = await ArenaCache.create({
      maxBytes: 4 << 20, segments: 1, maxKeyBytes: 16, maxValueBytes: 70_000, sweepIntervalMs: 0, policy: 'lru',
      onEvict: (_k, v) => evicted.push(v.length),
    });
    const n = Math.floor(c.segmentBudget / c.entryCost(8, 60_000));
    for (let i = 0; i < n; i++) c.set(`k${String(i).padStart(7, '0')}`, new Uint8Array(60_000));
    const leftover = c.segmentBudget - c.bytes;
    if (leftover >= 64) c.set('fill', new Uint8Array(leftover - entryHeaderOf('lru') - 4)); // now exactly full
    expect(evicted).toEqual([]);
    // The log holds one 60 KB record, so making room for 69 KB (two evictions) overflows it:
    // the host drains it and retries the set, and every eviction is still reported once.
    c.set('big', new Uint8Array(69_000));
    expect(evicted.length).toBe(2);
    expect(c.stats().evictions).toBe(2);
    expect(evicted.every((len) => len === 60_000)).toBe(true);
    expect(c.get('big')!.length).toBe(69_000);
    c.checkIntegrity();
  });
});

// fetch (read-through.ts) on a controlled clock, with loads the test settles by hand: one load per
// key for concurrent callers, TTLs per call, errors never cached, stale-while-revalidate in the
// stale window, per-caller abort (the load is aborted only when every waiting caller has), writes
// superseding a load in flight, option checks before anything is touched.
import { describe, expect, it } from 'vitest';
import { ArenaCache } from '../../src/core/index.js';
import type { ArenaCacheOptions, FetchContext, Key, Value } from '../../src/core/types.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
/** Lets every queued microtask run (one turn of the event loop; no timer). */
const settle = () => new Promise<void>((r) => setImmediate(r));

interface Call {
  key: Key;
  stale: string | undefined;
  ctx: FetchContext;
  resolve(v: Value | undefined): void;
  reject(e: unknown): void;
}

async function setup(extra: Partial<ArenaCacheOptions> = {}) {
  const clock = { now: 1_000 };
  const calls: Call[] = [];
  const cache = await ArenaCache.create({
    maxBytes: 1 << 20, sweepIntervalMs: 0, clock: () => clock.now,
    fetchMethod: (key, stale, ctx) => new Promise<Value | undefined>((resolve, reject) => {
      calls.push({ key, stale: text(stale), ctx, resolve, reject });
    }),
    ...extra,
  });
  return { cache, calls, clock };
}

describe('loading', () => {
  it('a miss loads once, stores, and later calls hit without loading', async () => {
    const { cache, calls } = await setup();
    const p = cache.fetch('k', { ttl: 500 });
    await settle();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ key: 'k', stale: undefined });
    expect(calls[0].ctx.signal.aborted).toBe(false);
    calls[0].resolve('value');
    expect(text(await p)).toBe('value');
    expect(text(cache.get('k'))).toBe('value');
    expect(cache.getRemainingTTL('k')).toBe(500);
    expect(text(await cache.fetch('k'))).toBe('value');
    expect(calls).toHaveLength(1);
    const s = cache.stats();
    expect([s.hits, s.misses]).toEqual([2, 1]); // the fetch hit and the get; the first fetch's miss
  });

  it('concurrent callers share one load (a string and its UTF-8 bytes are one key; other bytes are not)', async () => {
    const { cache, calls } = await setup();
    const ps = [
      cache.fetch('ключ', { context: 'first' }),
      cache.fetch(new TextEncoder().encode('ключ'), { context: 'second' }),
      cache.fetch('ключ'),
      cache.fetch(Uint8Array.of(0xff)), // not UTF-8: its own key
      cache.fetch('\u00ff'),
    ];
    await settle();
    expect(calls.map((c) => c.key)).toEqual(['ключ', Uint8Array.of(0xff), '\u00ff']);
    expect(calls[0].ctx.context).toBe('first');
    calls[0].resolve(Uint8Array.of(1, 2));
    calls[1].resolve('ff');
    calls[2].resolve('c3bf');
    expect((await Promise.all(ps)).map((v) => Array.from(v!))).toEqual([[1, 2], [1, 2], [1, 2], [...'ff'].map((c) => c.charCodeAt(0)), [...'c3bf'].map((c) => c.charCodeAt(0))]);
  });

  it('TTL: the call\'s, else the cache\'s; the fetchMethod may set ctx.ttl; 0 never expires', async () => {
    const { cache, calls } = await setup({ ttl: 300 });
    const a = cache.fetch('a');
    const b = cache.fetch('b', { ttl: 50 });
    const c = cache.fetch('c', { ttl: 50 });
    const d = cache.fetch('d', { ttl: 0 });
    await settle();
    calls[2].ctx.ttl = 7_000;
    for (const call of calls) call.resolve('v');
    await Promise.all([a, b, c, d]);
    expect(['a', 'b', 'c', 'd'].map((k) => cache.getRemainingTTL(k))).toEqual([300, 50, 7_000, 0]);
  });

  it('undefined is "none": nothing stored, undefined returned, the next call loads again', async () => {
    const { cache, calls } = await setup();
    const p = cache.fetch('k');
    await settle();
    calls[0].resolve(undefined);
    expect(await p).toBeUndefined();
    expect(cache.has('k')).toBe(false);
    const q = cache.fetch('k');
    await settle();
    expect(calls).toHaveLength(2);
    calls[1].resolve('now');
    expect(text(await q)).toBe('now');
  });

  it('errors are never cached: every waiting caller rejects with it, the next call loads again', async () => {
    const { cache, calls } = await setup();
    const boom = new Error('origin down');
    const ps = [cache.fetch('k'), cache.fetch('k')];
    await settle();
    calls[0].reject(boom);
    for (const p of ps) await expect(p).rejects.toBe(boom);
    expect(cache.has('k')).toBe(false);
    const q = cache.fetch('k');
    await settle();
    expect(calls).toHaveLength(2);
    calls[1].resolve('ok');
    expect(text(await q)).toBe('ok');
  });

  it('a fetchMethod that throws, or returns something else than bytes, a string or undefined, rejects', async () => {
    let mode = 'throw';
    const cache = await ArenaCache.create({
      maxBytes: 1 << 20, sweepIntervalMs: 0,
      fetchMethod: () => {
        if (mode === 'throw') throw new Error('sync');
        return 42 as never;
      },
    });
    await expect(cache.fetch('k')).rejects.toThrow('sync');
    mode = 'number';
    await expect(cache.fetch('k')).rejects.toThrow(/fetchMethod must return a Uint8Array, a string or undefined, got number/);
    expect(cache.size).toBe(0);
  });

  it('a value too large to store is returned, not stored', async () => {
    const { cache, calls } = await setup({ maxValueBytes: 10 });
    const p = cache.fetch('k');
    await settle();
    calls[0].resolve('x'.repeat(11));
    expect(text(await p)).toBe('x'.repeat(11));
    expect(cache.has('k')).toBe(false);
  });

  it('forceRefresh loads even when a fresh value is cached', async () => {
    const { cache, calls } = await setup();
    cache.set('k', 'old');
    const p = cache.fetch('k', { forceRefresh: true });
    await settle();
    expect(calls[0].stale).toBe('old');
    calls[0].resolve('new');
    expect(text(await p)).toBe('new');
    expect(text(cache.get('k'))).toBe('new');
  });
});

describe('stale-while-revalidate', () => {
  it('in the stale window an allowStale caller gets the stale value at once while one load refreshes it', async () => {
    const { cache, calls, clock } = await setup({ staleWindow: 100 });
    const first = cache.fetch('k', { ttl: 50 });
    await settle();
    calls[0].resolve('v1');
    await first;
    expect(cache.getRemainingTTL('k')).toBe(150); // kept 100 ms past its TTL
    clock.now += 49;
    expect(text(await cache.fetch('k', { allowStale: true }))).toBe('v1'); // still fresh: no load
    expect(calls).toHaveLength(1);
    clock.now += 1; // stale now
    expect(text(await cache.fetch('k', { allowStale: true }))).toBe('v1');
    expect(text(await cache.fetch('k', { allowStale: true }))).toBe('v1');
    await settle();
    expect(calls).toHaveLength(2); // one refresh for both
    expect(calls[1].stale).toBe('v1');
    // A caller without allowStale waits for that refresh.
    const waiting = cache.fetch('k');
    await settle();
    expect(calls).toHaveLength(2);
    calls[1].resolve('v2');
    expect(text(await waiting)).toBe('v2');
    expect(text(cache.get('k'))).toBe('v2');
  });

  it('the cache\'s allowStale is the default; past the window the entry is gone', async () => {
    const { cache, calls, clock } = await setup({ staleWindow: 100, allowStale: true });
    cache.set('k', 'set', { ttl: 20 }); // set's entries: the last 100 ms of the TTL count as stale
    expect(text(await cache.fetch('k'))).toBe('set');
    await settle();
    expect(calls).toHaveLength(1); // refreshed ahead of its expiry
    calls[0].resolve('loaded');
    await settle();
    expect(cache.getRemainingTTL('k')).toBe(0); // the cache's default TTL: none
    cache.set('gone', 'v', { ttl: 10 });
    clock.now += 10;
    expect(cache.has('gone')).toBe(false);
    const p = cache.fetch('gone');
    await settle();
    expect(calls.at(-1)!.stale).toBeUndefined();
    calls.at(-1)!.resolve('again');
    expect(text(await p)).toBe('again');
  });

  it('a refresh that fails keeps the stale entry; a waiting caller gets the error', async () => {
    const { cache, calls, clock } = await setup({ staleWindow: 100 });
    cache.set('k', 'old', { ttl: 150 });
    clock.now += 60;
    const p = cache.fetch('k');
    await settle();
    calls[0].reject(new Error('refresh failed'));
    await expect(p).rejects.toThrow('refresh failed');
    expect(text(await cache.fetch('k', { allowStale: true }))).toBe('old');
  });
});

describe('abort', () => {
  it('one caller giving up leaves the load to the others', async () => {
    const { cache, calls } = await setup();
    const ac = new AbortController();
    const quitter = cache.fetch('k', { signal: ac.signal });
    const stayer = cache.fetch('k', { signal: new AbortController().signal });
    await settle();
    ac.abort();
    await expect(quitter).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls[0].ctx.signal.aborted).toBe(false);
    calls[0].resolve('v');
    expect(text(await stayer)).toBe('v');
    expect(cache.has('k')).toBe(true);
  });

  it('when every waiting caller has given up the load is aborted and its late result dropped', async () => {
    const { cache, calls } = await setup();
    const acs = [new AbortController(), new AbortController()];
    const ps = acs.map((ac) => cache.fetch('k', { signal: ac.signal }));
    await settle();
    acs[0].abort(new Error('first gave up'));
    expect(calls[0].ctx.signal.aborted).toBe(false);
    acs[1].abort(new Error('second gave up'));
    await expect(ps[0]).rejects.toThrow('first gave up');
    await expect(ps[1]).rejects.toThrow('second gave up');
    expect(calls[0].ctx.signal.aborted).toBe(true);
    calls[0].resolve('late');
    await settle();
    expect(cache.has('k')).toBe(false);
    const next = cache.fetch('k');
    await settle();
    expect(calls).toHaveLength(2); // a new load
    calls[1].resolve('fresh');
    expect(text(await next)).toBe('fresh');
  });

  it('a caller without a signal keeps the load; an allowStale caller\'s refresh is never aborted', async () => {
    const { cache, calls, clock } = await setup({ staleWindow: 100 });
    const ac = new AbortController();
    const a = cache.fetch('k', { signal: ac.signal });
    const b = cache.fetch('k');
    await settle();
    ac.abort();
    await expect(a).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls[0].ctx.signal.aborted).toBe(false);
    calls[0].resolve('v');
    expect(text(await b)).toBe('v');
    cache.set('s', 'stale', { ttl: 150 });
    clock.now += 60; // in its last 100 ms: stale
    expect(text(await cache.fetch('s', { allowStale: true }))).toBe('stale');
    const ac2 = new AbortController();
    const w = cache.fetch('s', { signal: ac2.signal });
    ac2.abort();
    await expect(w).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls[1].ctx.signal.aborted).toBe(false);
    calls[1].resolve('refreshed');
    await settle();
    expect(text(cache.peek('s'))).toBe('refreshed');
  });

  it('an aborted signal rejects at once and starts nothing', async () => {
    const { cache, calls } = await setup();
    await expect(cache.fetch('k', { signal: AbortSignal.abort(new Error('already')) })).rejects.toThrow('already');
    await settle();
    expect(calls).toHaveLength(0);
  });
});

describe('writes while a load runs', () => {
  it('set, delete, setMany, clear and load supersede it: its callers get its value, the cache keeps the newer state', async () => {
    for (const write of ['set', 'delete', 'setMany', 'clear', 'load'] as const) {
      const { cache, calls } = await setup();
      const snapshot = (await ArenaCache.create({ maxBytes: 1 << 20 })).set('k', 'from snapshot').dump();
      const p = cache.fetch('k');
      await settle();
      if (write === 'set') cache.set('k', 'newer');
      if (write === 'delete') cache.delete('k');
      if (write === 'setMany') cache.setMany([['k', 'newer']]);
      if (write === 'clear') cache.clear();
      if (write === 'load') cache.load(snapshot);
      calls[0].resolve('loaded');
      expect(text(await p), write).toBe('loaded');
      const want = { set: 'newer', setMany: 'newer', delete: undefined, clear: undefined, load: 'from snapshot' }[write];
      expect(text(cache.get('k')), write).toBe(want);
    }
  });
});

describe('arguments', () => {
  it('bad fetch arguments reject before anything is touched', async () => {
    const { cache, calls } = await setup({ maxKeyBytes: 8 });
    const s = cache.stats();
    await expect(cache.fetch(42 as never)).rejects.toThrow(TypeError);
    await expect(cache.fetch('x'.repeat(9))).rejects.toThrow(/maxKeyBytes is 8/);
    await expect(cache.fetch('k', 'ttl' as never)).rejects.toThrow(TypeError);
    await expect(cache.fetch('k', { ttl: -1 })).rejects.toThrow(RangeError);
    await expect(cache.fetch('k', { ttl: NaN })).rejects.toThrow(RangeError);
    await expect(cache.fetch('k', { signal: {} as never })).rejects.toThrow(/options.signal must be an AbortSignal/);
    await expect(cache.fetch('k', { allowStale: 1 as never })).rejects.toThrow(TypeError);
    await expect(cache.fetch('k', { forceRefresh: 'yes' as never })).rejects.toThrow(TypeError);
    await settle();
    expect(calls).toHaveLength(0);
    expect(cache.stats()).toEqual(s);
  });

  it('bad options are refused when the cache is created', async () => {
    const base = { maxBytes: 1 << 20 };
    await expect(ArenaCache.create({ ...base, fetchMethod: 'f' as never })).rejects.toThrow(TypeError);
    await expect(ArenaCache.create({ ...base, fetchMethod: () => undefined, staleWindow: -1 })).rejects.toThrow(RangeError);
    await expect(ArenaCache.create({ ...base, fetchMethod: () => undefined, allowStale: 'y' as never })).rejects.toThrow(TypeError);
    await expect(ArenaCache.create({ ...base, staleWindow: 10 })).rejects.toThrow(/need fetchMethod/);
    await expect(ArenaCache.create({ ...base, allowStale: true })).rejects.toThrow(/need fetchMethod/);
  });

  it('without a fetchMethod, fetch is get (as in lru-cache)', async () => {
    const cache = await ArenaCache.create({ maxBytes: 1 << 20, sweepIntervalMs: 0 });
    cache.set('k', 'v');
    expect(text(await cache.fetch('k'))).toBe('v');
    expect(await cache.fetch('absent')).toBeUndefined();
    await expect(cache.fetch('k', { ttl: -5 })).rejects.toThrow(RangeError);
  });
});

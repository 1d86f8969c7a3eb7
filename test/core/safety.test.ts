// No valid call may corrupt the arena, crash the process or leave the cache unusable, and bad
// input throws a TypeError/RangeError that changes nothing (issue 12: one test per defect found,
// plus the rules behind them).
import { afterEach, describe, expect, it } from 'vitest';
import { MessageChannel } from 'node:worker_threads';
import { ArenaCache, type CoreExports } from '../../src/core/index.js';

const dec = new TextDecoder();
const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : dec.decode(v));
const open: ArenaCache[] = [];
const track = <T extends ArenaCache>(c: T): T => (open.push(c), c);
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

const filled = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (seed + i * 7) & 0xff);

/** Everything a caller can observe without changing it: counters, and the values of `keys`. */
function observe(c: ArenaCache, keys: string[]) {
  const s = c.stats();
  return {
    size: c.size,
    bytes: c.bytes,
    counters: { ...s, segments: s.segments.map((x) => ({ ...x })) },
    values: keys.map((k) => text(c.peek(k))),
  };
}

describe('defect 1: a batch never writes past the I/O area', () => {
  it('setMany with a non-ASCII string that does not fit the rest of the area (the reported case)', async () => {
    const c = track(await ArenaCache.create({ maxBytes: 1 << 20, segments: 16, sweepIntervalMs: 0 }));
    for (let i = 0; i < 5000; i++) c.set('k' + i, 'v' + i);
    const before = c.size;
    c.setMany([['a', new Uint8Array(32615)], ['b', new Uint8Array(32615)], ['c', 'é'.repeat(231)]]);
    c.checkIntegrity();
    expect(text(c.get('c'))).toBe('é'.repeat(231));
    expect(c.size).toBeLessThanOrEqual(before + 3);
    for (let i = 0; i < 5000; i += 97) c.get('k' + i); // no trap: the index is intact
    c.checkIntegrity();
  });

  it('with onEvict the log header after the area stays intact, and in a shared arena the next thread\'s area', async () => {
    const seen: string[] = [];
    const c = track(await ArenaCache.create({
      maxBytes: 1 << 20, segments: 16, sweepIntervalMs: 0, onEvict: (k) => seen.push(dec.decode(k)),
    }));
    for (let i = 0; i < 5000; i++) c.set('k' + i, 'v' + i);
    c.setMany([['a', new Uint8Array(32615)], ['b', new Uint8Array(32615)], ['c', 'é'.repeat(231)]]);
    c.set('after', 'x'); // drains the log: a corrupted count word would be read here
    c.checkIntegrity();
    expect(seen.length).toBe(c.stats().evictions);

    const { cache, handle } = await ArenaCache.createShared({ maxBytes: 1 << 20, segments: 16, threads: 2, sweepIntervalMs: 0 });
    track(cache);
    const other = track(await ArenaCache.attach(handle));
    const raw = new WebAssembly.Instance(handle.module, { env: { memory: handle.memory } }).exports as unknown as CoreExports;
    const otherIo = raw.io_ptr(other.threadSlot);
    const u8 = new Uint8Array(handle.memory.buffer);
    u8.fill(0x5a, otherIo, otherIo + 64);
    for (let room = 32615; room > 32600; room--) {
      cache.setMany([['a', new Uint8Array(room)], ['b', new Uint8Array(32615)], ['c', 'é'.repeat(231)], ['d', '€'.repeat(100)]]);
    }
    expect(u8.subarray(otherIo, otherIo + 64).every((b) => b === 0x5a)).toBe(true);
    cache.checkIntegrity();
  });
});

describe('defect 2: getMany lays a batch out inside the I/O area whatever maxKeyBytes is', () => {
  it('a 65535-byte key followed by 255 short ones (the reported case)', async () => {
    const c = track(await ArenaCache.create({ maxBytes: 1 << 20, segments: 1, maxKeyBytes: 65535, maxValueBytes: 16, sweepIntervalMs: 0 }));
    for (let i = 0; i < 64; i++) c.set(`k${i}`, `v${i}`);
    c.set('k'.repeat(65535), 'long');
    const keys = ['k'.repeat(65535), ...Array.from({ length: 255 }, (_, i) => `k${i}`)];
    const got = c.getMany(keys);
    expect(text(got[0])).toBe('long');
    for (let i = 0; i < 255; i++) expect(text(got[i + 1])).toBe(i < 64 ? `v${i}` : undefined);
    c.checkIntegrity();
    // Every later operation still works.
    c.set('after', 'ok');
    expect(text(c.get('after'))).toBe('ok');
    expect(c.getMany(['k'.repeat(65535), 'k'.repeat(65535), 'after']).map(text)).toEqual(['long', 'long', 'ok']);
    c.checkIntegrity();
  });
});

describe('defect 3: onEvict may call any method, from any method that delivers records', () => {
  // Values big enough that one getMany batch takes several core calls, some keys expired.
  async function setup(reenter: (c: ArenaCache) => void) {
    let now = 1_000;
    let cache: ArenaCache | undefined;
    const seen: string[] = [];
    const c = track(await ArenaCache.create({
      maxBytes: 4 << 20, segments: 1, maxValueBytes: 20_000, clock: () => now, sweepIntervalMs: 0,
      onEvict: (k, _v, why) => {
        seen.push(`${dec.decode(k)}:${why}`);
        reenter(cache!);
      },
    }));
    cache = c;
    const keys: string[] = [];
    for (let i = 0; i < 40; i++) {
      keys.push(`k${i}`);
      c.set(`k${i}`, filled(10_000, i), i % 2 === 0 ? { ttl: 10 } : undefined);
    }
    now += 10;
    return { c, keys, seen, tick: (ms: number) => (now += ms) };
  }

  for (const [name, reenter] of [
    ['peek', (c: ArenaCache) => c.peek('k1')],
    ['get', (c: ArenaCache) => c.get('k3')],
    ['set', (c: ArenaCache) => c.set('side', 'effect')],
    ['getMany', (c: ArenaCache) => c.getMany(['k5', 'k7'])],
    ['setMany', (c: ArenaCache) => c.setMany([['side', 'x'], ['side2', filled(3000, 1)]])],
    ['stats', (c: ArenaCache) => c.stats()],
    ['purgeStale', (c: ArenaCache) => c.purgeStale()],
  ] as const) {
    it(`getMany, with ${name} inside onEvict`, async () => {
      const { c, keys, seen } = await setup(reenter);
      const got = c.getMany(keys);
      for (let i = 0; i < 40; i++) {
        if (i % 2 === 0) expect(got[i], `k${i}`).toBeUndefined();
        else expect(got[i], `k${i}`).toEqual(filled(10_000, i));
      }
      // A lookup that finds an expired entry while the log is full leaves it for later (ABI).
      const expired = seen.filter((s) => s.endsWith(':expire')).length;
      expect(expired).toBeGreaterThan(0);
      expect(expired + c.purgeStale()).toBe(20);
      c.checkIntegrity();
    });
  }

  it('get, sweep, purgeStale, setMany and set deliver only once the I/O area is free', async () => {
    let calls = 0;
    const { c } = await setup((cache) => {
      calls++;
      const [k1, k3] = cache.getMany(['k1', 'k3']);
      if (k1 !== undefined) expect(k1).toEqual(filled(10_000, 1));
      if (k3 !== undefined) expect(k3).toEqual(filled(10_000, 3));
      cache.set(`inner${calls}`, filled(100, calls));
    });
    expect(c.get('k0')).toBeUndefined(); // expired: one callback
    const swept = c.sweep(5); // the first entries in storage order: some of them expired
    expect(swept).toBeGreaterThan(0);
    expect(c.purgeStale()).toBe(19 - swept);
    expect(calls).toBe(20);
    // Evictions: more than the segment holds, in batches that take several crossings each.
    c.setMany(Array.from({ length: 500 }, (_, i) => [`f${i}`, filled(10_000, i)] as [string, Uint8Array]));
    c.set('big', filled(19_000, 9));
    expect(c.get('big')).toEqual(filled(19_000, 9));
    const s = c.stats();
    expect(calls).toBe(s.evictions + s.expirations);
    expect(s.evictions).toBeGreaterThan(0);
    for (let i = 1; i <= calls; i++) {
      const v = c.peek(`inner${i}`);
      if (v !== undefined) expect(v).toEqual(filled(100, i));
    }
    c.checkIntegrity();
  });

  it('a throwing callback gets every record delivered first, then its error', async () => {
    let n = 0;
    const { c, keys } = await setup(() => {
      n++;
      throw new Error(`boom ${n}`);
    });
    expect(() => c.getMany(keys)).toThrow('boom 1');
    expect(n).toBe(c.stats().expirations);
    expect(n).toBeGreaterThan(1);
    expect(() => c.purgeStale()).toThrow(`boom ${n + 1}`);
    expect(n).toBe(20);
    expect(c.size).toBe(20);
    c.checkIntegrity();
  });
});

describe('defect 4: a returned value may be transferred; the cache keeps working', () => {
  it('structuredClone and postMessage with transfer detach the pool, which is then replaced', async () => {
    const c = track(await ArenaCache.create({ maxBytes: 1 << 20, sweepIntervalMs: 0 }));
    for (let i = 0; i < 100; i++) c.set(`k${i}`, `value ${i}`);
    const v = c.get('k1')!;
    const moved = structuredClone(v, { transfer: [v.buffer as ArrayBuffer] });
    expect(text(moved)).toBe('value 1');
    expect(v.byteLength).toBe(0); // detached, with its pool
    expect(text(c.get('k2'))).toBe('value 2');
    expect(text(c.peek('k3'))).toBe('value 3');
    expect(c.getMany(['k4', 'k5']).map(text)).toEqual(['value 4', 'value 5']);

    const { port1, port2 } = new MessageChannel();
    const received = new Promise<Uint8Array>((resolve) => port2.once('message', resolve));
    const w = c.get('k6')!;
    port1.postMessage(w, [w.buffer as ArrayBuffer]);
    expect(text(await received)).toBe('value 6');
    port1.close();
    expect(text(c.get('k7'))).toBe('value 7');
    const s = c.stats();
    expect(s.hits).toBe(6); // k1, k2, k4, k5, k6, k7: each counted once
    expect(s.misses).toBe(0);
  });
});

describe('defect 5: sweep and purgeStale remove every expired entry', () => {
  it('purgeStale after a partial sweep (the reported case)', async () => {
    let now = 0;
    const c = track(await ArenaCache.create({ maxBytes: 1 << 20, segments: 1, clock: () => now, sweepIntervalMs: 0 }));
    for (let i = 0; i < 100; i++) c.set(`t${i}`, 'v', { ttl: 50 });
    for (let i = 0; i < 100; i++) c.set(`p${i}`, 'v');
    now = 10;
    expect(c.sweep(150)).toBe(0); // cursor now mid-list
    now = 100;
    expect(c.purgeStale()).toBe(100);
    expect(c.size).toBe(100);
    c.checkIntegrity();
  });

  it('two sweeps of `entries` steps after a partial sweep visit every entry, wherever the cursor was', async () => {
    // A sweep resumes at its cursor and stops where a pass ends (the newest entry); the next
    // starts a new pass from the oldest (docs/ABI.md, sweep).
    let now = 0;
    const c = track(await ArenaCache.create({ maxBytes: 1 << 20, segments: 1, clock: () => now, sweepIntervalMs: 0 }));
    for (let i = 0; i < 100; i++) c.set(`t${i}`, 'v', { ttl: 50 });
    for (let i = 0; i < 100; i++) c.set(`p${i}`, 'v');
    now = 10;
    c.sweep(150);
    now = 100;
    expect(c.sweep(200)).toBe(0); // p50..p99: the rest of the pass
    expect(c.sweep(200)).toBe(100); // a new pass: every t entry
    expect(c.size).toBe(100);
  });

  it('an eviction log that fills up does not end purgeStale or a whole-segment sweep early', async () => {
    let now = 0;
    const seen: number[] = [];
    const make = () => ArenaCache.create({
      maxBytes: 2 << 20, segments: 1, maxValueBytes: 60_000, clock: () => now, sweepIntervalMs: 0,
      onEvict: (_k, v) => seen.push(v.length),
    });
    for (const purge of [(c: ArenaCache) => c.purgeStale(), (c: ArenaCache) => c.sweep(c.size)]) {
      now = 0;
      seen.length = 0;
      const c = track(await make());
      // The log holds one 60 KB record at a time.
      for (let i = 0; i < 20; i++) c.set(`k${i}`, filled(60_000, i), { ttl: 10 });
      now = 20;
      expect(purge(c)).toBe(20);
      expect(c.size).toBe(0);
      expect(seen).toEqual(new Array(20).fill(60_000));
      c.checkIntegrity();
    }
  });
});

describe('defect 6: bad arguments throw TypeError/RangeError, naming the limit, and change nothing', () => {
  it('every method of a cache', async () => {
    let now = 1_000;
    const c = track(await ArenaCache.create({
      maxBytes: 64 * 1024, segments: 4, maxKeyBytes: 16, maxValueBytes: 1000, clock: () => now, sweepIntervalMs: 0,
      onEvict: () => {},
    }));
    const keys = ['a', 'b', 'c', 'ttl'];
    c.set('a', '1').set('b', '2').set('c', '3').set('ttl', '4', { ttl: 100 });
    c.get('a');
    c.get('missing');
    const before = observe(c, keys);
    const good = Array.from({ length: 300 }, (_, i) => `g${i}`);
    const bad: [string, () => unknown, RegExp | (new (...a: never[]) => Error)][] = [
      ['get(null)', () => c.get(null as never), TypeError],
      ['get(42)', () => c.get(42 as never), TypeError],
      ['get(Uint16Array)', () => c.get(new Uint16Array(2) as never), TypeError],
      ['get(long)', () => c.get('k'.repeat(17)), /key is 17 bytes; maxKeyBytes is 16/],
      ['get(long utf8)', () => c.get('é'.repeat(9)), /key is 18 bytes; maxKeyBytes is 16/],
      ['peek(long bytes)', () => c.peek(new Uint8Array(17)), /maxKeyBytes is 16/],
      ['has({})', () => c.has({} as never), TypeError],
      ['delete(undefined)', () => c.delete(undefined as never), TypeError],
      ['set(k, 42)', () => c.set('k', 42 as never), TypeError],
      ['set(k, null)', () => c.set('k', null as never), TypeError],
      ['set(k, Uint16Array)', () => c.set('k', new Uint16Array(4) as never), TypeError],
      ['set(k, big)', () => c.set('k', new Uint8Array(1001)), /value is 1001 bytes; maxValueBytes is 1000/],
      ['set(k, big string)', () => c.set('k', '€'.repeat(334)), /value is 1002 bytes; maxValueBytes is 1000/],
      ['set(long, v)', () => c.set('k'.repeat(17), 'v'), /maxKeyBytes is 16/],
      ['set(k, v, 5)', () => c.set('k', 'v', 5 as never), TypeError],
      ['set(k, v, null)', () => c.set('k', 'v', null as never), TypeError],
      ['set(k, v, ttl -5)', () => c.set('k', 'v', { ttl: -5 }), /ttl must be a finite number of milliseconds >= 0/],
      ['set(k, v, ttl NaN)', () => c.set('k', 'v', { ttl: Number.NaN }), RangeError],
      ['set(k, v, ttl Infinity)', () => c.set('k', 'v', { ttl: Infinity }), RangeError],
      ['set(k, v, ttl "5")', () => c.set('k', 'v', { ttl: '5' as never }), TypeError],
      ['getInto(k, null)', () => c.getInto('a', null as never), TypeError],
      ['getInto(k, 5)', () => c.getInto('a', 5 as never), TypeError],
      ['getInto(k, Uint16Array)', () => c.getInto('a', new Uint16Array(8) as never), TypeError],
      ['getInto(k, t, NaN)', () => c.getInto('a', new Uint8Array(8), Number.NaN), TypeError],
      ['getInto(k, t, null)', () => c.getInto('a', new Uint8Array(8), null as never), TypeError],
      ['getInto(k, t, 1.5)', () => c.getInto('a', new Uint8Array(8), 1.5), TypeError],
      ['getInto(k, t, -1)', () => c.getInto('a', new Uint8Array(8), -1), /offset must be between 0 and 8/],
      ['getInto(k, t, 9)', () => c.getInto('a', new Uint8Array(8), 9), /offset must be between 0 and 8/],
      ['getInto(bad key, t)', () => c.getInto(7 as never, new Uint8Array(8)), TypeError],
      ['getMany("abc")', () => c.getMany('abc' as never), TypeError],
      ['getMany(5)', () => c.getMany(5 as never), TypeError],
      ['getMany(Set)', () => c.getMany(new Set(['a']) as never), TypeError],
      ['getMany(null)', () => c.getMany(null as never), TypeError],
      ['getMany(bad key at 300)', () => c.getMany([...good, 'a', 42 as never]), /getMany: key 301 must be a string or a Uint8Array/],
      ['getMany(long key at 300)', () => c.getMany([...good, 'k'.repeat(17)]), /getMany: key 300 is 17 bytes; maxKeyBytes is 16/],
      ['setMany("abc")', () => c.setMany('abc' as never), TypeError],
      ['setMany(5)', () => c.setMany(5 as never), TypeError],
      ['setMany(null)', () => c.setMany(null as never), TypeError],
      ['setMany([[k]])', () => c.setMany([['a'] as never]), /setMany: value 0 must be a Uint8Array or a string/],
      ['setMany([k, v, 5])', () => c.setMany([['a', '1'], ['b', '2', 5 as never]]), /setMany: entry 1 options must be an object/],
      ['setMany(ttl -1)', () => c.setMany([['a', '1', { ttl: -1 }]]), /setMany: entry 0 options.ttl/],
      ['setMany(big at 300)', () => c.setMany([...good.map((k) => [k, 'v'] as [string, string]), ['x', new Uint8Array(1001)]]), /setMany: entry 300: value is 1001 bytes; maxValueBytes is 1000/],
      ['setMany(long key)', () => c.setMany([['a', '1'], ['k'.repeat(17), '3']]), /setMany: key 1 is 17 bytes/],
      ['setMany(entry not array)', () => c.setMany([{ 0: 'a', 1: 'b' } as never]), /entry 0 must be a \[key, value, options\?\] array/],
      ['sweep(-1)', () => c.sweep(-1), RangeError],
      ['sweep(1.5)', () => c.sweep(1.5), TypeError],
      ['sweep(NaN)', () => c.sweep(Number.NaN), TypeError],
      ['sweep("5")', () => c.sweep('5' as never), TypeError],
      ['sweep(2^32)', () => c.sweep(2 ** 32), RangeError],
      ['releaseThread(-1)', () => c.releaseThread(-1), RangeError],
      ['releaseThread("x")', () => c.releaseThread('x' as never), TypeError],
      ['entrySize(-1, 0)', () => ArenaCache.entrySize(-1, 0), RangeError],
      ['entrySize(1.5, 0)', () => ArenaCache.entrySize(1.5, 0), TypeError],
    ];
    now += 200; // 'ttl' is expired now: a lookup that ran would remove it and count it
    for (const [what, call, error] of bad) {
      const was = observe(c, keys.slice(0, 3)); // peeking 'ttl' now would remove it
      expect(call, what).toThrow(error as never);
      expect(observe(c, keys.slice(0, 3)), what).toEqual(was);
    }
    now -= 200;
    expect(observe(c, keys), 'after all the bad calls').toEqual(before);
    c.checkIntegrity();
  });

  it('create, createShared and attach check every option first', async () => {
    const base = { maxBytes: 1 << 20, sweepIntervalMs: 0 };
    const cases: [unknown, RegExp | (new (...a: never[]) => Error)][] = [
      [null, /ArenaCache options must be an object, got null/],
      [undefined, TypeError],
      [5, TypeError],
      [{}, /maxBytes must be an integer/],
      [{ ...base, maxBytes: '1' }, TypeError],
      [{ ...base, maxBytes: 100 }, /maxBytes must be between 16384 and/],
      [{ ...base, segments: 3 }, /power of two/],
      [{ ...base, segments: 2048 }, /segments must be between 1 and 1024/],
      [{ ...base, maxKeyBytes: 0 }, /maxKeyBytes must be between 1 and 65535/],
      [{ ...base, maxValueBytes: -1 }, RangeError],
      [{ ...base, ttl: -1 }, /ttl/],
      [{ ...base, onEvict: 42 }, /onEvict must be a function/],
      [{ ...base, clock: 'now' }, /clock must be a function/],
      [{ ...base, sweepIntervalMs: -1 }, /sweepIntervalMs/],
    ];
    for (const [options, error] of cases) {
      await expect(ArenaCache.create(options as never), JSON.stringify(options)).rejects.toThrow(error as never);
      await expect(ArenaCache.createShared(options as never), JSON.stringify(options)).rejects.toThrow(error as never);
    }
    await expect(ArenaCache.createShared({ ...base, threads: 0 })).rejects.toThrow(/threads must be between 1 and 1024/);
    await expect(ArenaCache.createShared({ ...base, tag: -1 })).rejects.toThrow(RangeError);
    await expect(ArenaCache.createShared({ ...base, canBlock: 'yes' as never })).rejects.toThrow(/canBlock must be a boolean/);
    await expect(ArenaCache.createShared({ ...base, evictionLogs: 1 as never })).rejects.toThrow(/evictionLogs must be a boolean/);
    await expect(ArenaCache.createShared({ ...base, evictionLogs: false, onEvict: () => {} })).rejects.toThrow(/onEvict needs eviction logs/);
    const { cache, handle } = await ArenaCache.createShared({ ...base, threads: 2 });
    track(cache);
    await expect(ArenaCache.attach(handle, null as never)).rejects.toThrow(/attach options must be an object/);
    await expect(ArenaCache.attach(handle, { tag: 1.5 })).rejects.toThrow(/tag must be an integer/);
    await expect(ArenaCache.attach(handle, { sweepIntervalMs: 'x' as never })).rejects.toThrow(TypeError);
    // None of the refused attaches took the one free slot.
    track(await ArenaCache.attach(handle));
  });

  it('a value or key that is a view of a shared arena\'s own memory is stored as it was passed', async () => {
    const { cache, handle } = await ArenaCache.createShared({ maxBytes: 1 << 20, segments: 4, threads: 2, sweepIntervalMs: 0 });
    track(cache);
    const raw = new WebAssembly.Instance(handle.module, { env: { memory: handle.memory } }).exports as unknown as CoreExports;
    const io = raw.io_ptr(cache.threadSlot);
    const u8 = new Uint8Array(handle.memory.buffer);
    const original = filled(40, 3);
    const reset = () => u8.set(original, io);
    const view = new Uint8Array(handle.memory.buffer, io, 40);
    reset();
    cache.set('key', view);
    expect(cache.get('key')).toEqual(original);
    reset();
    cache.setMany([['k1', 'x'], ['k2', view], [view.subarray(0, 8), view]]);
    expect(cache.get('k2')).toEqual(original);
    expect(cache.get(original.subarray(0, 8))).toEqual(original);
    cache.set(original.subarray(0, 4), 'by key');
    reset();
    expect(cache.getMany(['k1', view.subarray(0, 4)]).map(text)).toEqual(['x', 'by key']);
    expect(() => cache.getInto('k1', new Uint8Array(handle.memory.buffer, io, 8))).toThrow(/own memory/);
    cache.checkIntegrity();
  });
});

describe('getInto', () => {
  it('a value larger than the target: RangeError naming the size, after the lookup (documented)', async () => {
    const c = track(await ArenaCache.create({ maxBytes: 1 << 20, sweepIntervalMs: 0 }));
    c.set('k', 'value');
    expect(() => c.getInto('k', new Uint8Array(8), 4)).toThrow(/the value is 5 bytes; the target has 4 from offset 4/);
    expect(c.getInto('k', new Uint8Array(8), 3)).toBe(5);
    expect(c.getInto('missing', new Uint8Array(0), 0)).toBe(-1);
  });
});

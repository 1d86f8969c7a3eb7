/**
 * One node's group semantics (a started single-node cluster on loopback, real ArenaCache):
 * loader contract, singleflight release on every failure mode, not-found caching, validation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClosedError,
  Cluster,
  DeadlineError,
  GroupError,
  InvalidArgumentError,
  LoaderError,
  NOT_FOUND,
  SingleFlight,
  type GroupOptions,
  type LoadContext,
} from '../../src/cluster/index.js';
import { ArenaCache, type ArenaCacheOptions } from '../../src/core/index.js';
import { grpcTransport } from '../../src/transport/index.js';

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString('utf8'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

/** Fake time for the caches' TTLs (the real ArenaCache, with its `clock` option). */
let now = 1_000_000;
const cacheFactory = (o: ArenaCacheOptions) => ArenaCache.create({ ...o, clock: () => now });

async function single(opts: Partial<GroupOptions> & Pick<GroupOptions, 'load'>, name = 'g') {
  cluster = new Cluster({ self: { id: 'solo' }, transport: grpcTransport({ port: 0, shutdownGraceMs: 100 }), cacheFactory });
  await cluster.start();
  return cluster.addGroup(name, { maxBytes: 1 << 20, ...opts });
}

describe('loader contract and singleflight', () => {
  it('a loader that throws synchronously reaches every caller and releases the key', async () => {
    let calls = 0;
    const g = await single({
      load: (key) => {
        calls++;
        if (calls === 1) throw new Error('sync boom');
        return `ok:${key}`;
      },
    });
    const settled = await Promise.allSettled([g.get('k'), g.get('k'), g.get('k')]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((settled[0] as PromiseRejectedResult).reason).toBeInstanceOf(LoaderError);
    expect(calls).toBe(1);
    expect(text(await g.get('k'))).toBe('ok:k');
    expect(calls).toBe(2);
    expect(g.stats().loadErrors).toBe(1);
  });

  it('a rejecting loader reaches every waiter, with its cause, and is not cached', async () => {
    let calls = 0;
    const cause = new Error('db timeout');
    const g = await single({
      load: async () => {
        calls++;
        await sleep(10);
        if (calls === 1) throw cause;
        return 'fine';
      },
    });
    const settled = await Promise.allSettled(Array.from({ length: 50 }, () => g.get('x')));
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      const err = (s as PromiseRejectedResult).reason as LoaderError;
      expect(err).toBeInstanceOf(LoaderError);
      expect(err.cause).toBe(cause);
    }
    expect(calls).toBe(1);
    expect(text(await g.get('x'))).toBe('fine');
    expect(g.stats().coalesced).toBe(49);
  });

  it('a loader hanging past its deadline is aborted, fails every waiter with DeadlineError and frees the key', async () => {
    const signals: AbortSignal[] = [];
    let hang = true;
    const g = await single({
      loadTimeout: 100,
      load: (key, ctx: LoadContext) => {
        signals.push(ctx.signal);
        expect(ctx.group).toBe('g');
        expect(ctx.deadline).toBeGreaterThan(Date.now());
        return hang ? new Promise<never>(() => {}) : `late:${key}`;
      },
    });
    const settled = await Promise.allSettled([g.get('h'), g.get('h')]);
    for (const s of settled) expect((s as PromiseRejectedResult).reason).toBeInstanceOf(DeadlineError);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBeInstanceOf(DeadlineError);
    hang = false;
    expect(text(await g.get('h'))).toBe('late:h');
    expect(g.stats().loadTimeouts).toBe(1);
  });

  it('rejects loader results that are not bytes, a string or NOT_FOUND (nothing is cached)', async () => {
    let result: unknown = undefined;
    const g = await single({ load: () => result as string });
    await expect(g.get('a')).rejects.toBeInstanceOf(LoaderError);
    result = null;
    await expect(g.get('a')).rejects.toBeInstanceOf(LoaderError);
    result = 42;
    await expect(g.get('a')).rejects.toBeInstanceOf(LoaderError);
    result = 'now fine';
    expect(text(await g.get('a'))).toBe('now fine');
  });

  it('rejects a loaded value above maxValueBytes', async () => {
    const g = await single({ maxValueBytes: 100, load: () => new Uint8Array(101) });
    await expect(g.get('big')).rejects.toThrow(/limit is 100/);
  });

  it('caches NOT_FOUND for notFoundTtl, distinct from an empty value', async () => {
    let calls = 0;
    const g = await single({
      notFoundTtl: 40,
      load: (key) => {
        calls++;
        return key === 'empty' ? new Uint8Array(0) : NOT_FOUND;
      },
    });
    expect(await g.get('nope')).toBeUndefined();
    expect(await g.getResult('nope')).toEqual({ found: false, value: undefined, source: 'main' });
    expect(calls).toBe(1);
    const empty = await g.getResult('empty');
    expect(empty.found).toBe(true);
    expect(empty.value).toHaveLength(0);
    expect((await g.getResult('empty')).source).toBe('main');
    now += 39;
    expect(await g.get('nope')).toBeUndefined();
    expect(calls).toBe(2);
    now += 1;
    expect(await g.get('nope')).toBeUndefined();
    expect(calls).toBe(3);
    expect(g.stats().notFound).toBe(4);
  });

  it('notFoundTtl 0 does not cache not-found', async () => {
    let calls = 0;
    const g = await single({ notFoundTtl: 0, load: () => (calls++, NOT_FOUND) });
    await g.get('n');
    await g.get('n');
    expect(calls).toBe(2);
  });

  it('a caller can stop waiting with a signal; the shared load still completes for others', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const g = await single({
      load: async () => {
        calls++;
        await gate;
        return 'done';
      },
    });
    const ac = new AbortController();
    const impatient = g.get('s', { signal: ac.signal });
    const patient = g.get('s');
    ac.abort(new Error('client went away'));
    await expect(impatient).rejects.toThrow('client went away');
    release();
    expect(text(await patient)).toBe('done');
    expect(calls).toBe(1);
  });

  it('close aborts running loads with ClosedError and refuses later calls', async () => {
    let seen: AbortSignal | undefined;
    const g = await single({
      load: (_k, ctx) => {
        seen = ctx.signal;
        return new Promise<never>(() => {});
      },
    });
    const pending = g.get('c');
    await sleep(10);
    await cluster!.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    expect(seen!.aborted).toBe(true);
    await expect(g.get('c')).rejects.toBeInstanceOf(ClosedError);
  });

  it('applies the group ttl to loaded values', async () => {
    let n = 0;
    const g = await single({ ttl: 40, load: () => `v${++n}` });
    expect(text(await g.get('t'))).toBe('v1');
    now += 39;
    expect(text(await g.get('t'))).toBe('v1');
    now += 1;
    expect(text(await g.get('t'))).toBe('v2');
  });

  it('counts gets, hits, misses and loads', async () => {
    const g = await single({ load: (k) => k });
    await g.get('a');
    await g.get('a');
    await g.get('b');
    const s = g.stats();
    expect(s).toMatchObject({ name: 'g', gets: 3, hits: 1, misses: 2, loads: 2, loadErrors: 0 });
    expect(s.main.entries).toBe(2);
    expect(s.main.maxBytes + s.hot.maxBytes).toBe(1 << 20);
    expect(s.hot.maxBytes).toBe((1 << 20) / 8);
  });
});

describe('validation', () => {
  it('rejects bad keys, ttls and values with InvalidArgumentError and changes nothing', async () => {
    let calls = 0;
    const g = await single({ maxKeyBytes: 8, maxValueBytes: 16, load: () => (calls++, 'x') });
    await expect(g.get('')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(g.get('123456789')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(g.get('ééééé')).rejects.toBeInstanceOf(InvalidArgumentError); // 10 UTF-8 bytes
    await expect(g.get(42 as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(g.set('k', 'v', { ttl: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(g.set('k', 'v', { ttl: 1.5 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(g.set('k', new Uint8Array(17))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(g.removeMany(['ok', ''])).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(calls).toBe(0);
    expect(g.stats().main.entries).toBe(0);
    await g.set('k', new Uint8Array(16));
    expect(await g.get('k')).toHaveLength(16);
  });

  it('validates group names and refuses duplicates and unknown groups', async () => {
    cluster = new Cluster({ self: { id: 'solo' } });
    const load = () => 'x';
    for (const bad of ['', 'has space', 'slash/name', '.dot', 'x'.repeat(65), 'ü']) {
      expect(() => cluster!.group(bad, { maxBytes: 1 << 20, load })).toThrow(InvalidArgumentError);
    }
    cluster.group('ok_name-1.v2', { maxBytes: 1 << 20, load });
    expect(() => cluster!.group('ok_name-1.v2', { maxBytes: 1 << 20, load })).toThrow(GroupError);
    expect(() => cluster!.group('other')).toThrow(GroupError);
    expect(cluster.group('ok_name-1.v2').name).toBe('ok_name-1.v2');
    expect(() => cluster!.group('bad-opts', { maxBytes: -1, load })).toThrow(InvalidArgumentError);
    expect(() => cluster!.group('bad-frac', { maxBytes: 1 << 20, load, hotCacheFraction: 0.9 })).toThrow(
      InvalidArgumentError,
    );
  });

  it('a group whose cache cannot be created fails its operations, not the process', async () => {
    cluster = new Cluster({ self: { id: 'solo' } });
    const g = cluster.group('tiny', { maxBytes: 10, load: () => 'x', hotCacheFraction: 0 });
    await expect(g.get('k')).rejects.toThrow(RangeError);
    await expect(cluster.addGroup('tiny2', { maxBytes: 10, load: () => 'x' })).rejects.toThrow(RangeError);
    expect(() => cluster!.group('tiny2')).toThrow(GroupError);
  });
});

describe('SingleFlight', () => {
  it('shares one call per key, forgets on settle, and detaches on forget()', async () => {
    const sf = new SingleFlight<number>();
    let runs = 0;
    let release!: (n: number) => void;
    const fn = () => {
      runs++;
      return new Promise<number>((r) => (release = r));
    };
    const a = sf.run('k', fn);
    const b = sf.run('k', fn);
    expect(a).toBe(b);
    expect(sf.joined).toBe(1);
    expect(sf.forget('k')).toBe(true);
    const first = release;
    const c = sf.run('k', fn); // a fresh call after forget
    expect(runs).toBe(2);
    first(1);
    release(2);
    expect(await a).toBe(1);
    expect(await c).toBe(2);
    expect(sf.size).toBe(0);
    const d = sf.run('k', () => {
      throw new Error('sync');
    });
    await expect(d).rejects.toThrow('sync');
    expect(sf.size).toBe(0);
  });
});

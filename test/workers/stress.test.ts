// N workers (N >= 4, even on 2 cores) on one shared arena: no torn or foreign values under random
// concurrent operations, and exact counters / contents for disjoint concurrent writers.
// Workers are plain JS scripts importing the built dist/ (npm run build).
import { afterAll, describe, expect, it } from 'vitest';
import { ArenaCache } from '../../src/core/index.js';
import { stopWatchdog } from '../../src/workers/node.js';
import { spawn, within } from './harness.js';
// @ts-expect-error: plain JS helper shared with the worker scripts
import { checkValue, makeValue, prng } from './fixtures/util.mjs';

afterAll(() => stopWatchdog());

// Every policy: lru's readers take the lock; clock's and s3fifo's read without it (seqlock).
describe.each(ArenaCache.policies.map((p) => [p]))('one arena shared by worker threads (%s)', (policy) => {
  it('random operations on overlapping keys never expose a torn or foreign value', async () => {
    const { cache } = await ArenaCache.createShared({
      maxBytes: 512 * 1024, // tight: constant eviction, second chances and moves
      segments: 8,
      threads: 8,
      sweepIntervalMs: 40, // the creator sweeps TTL entries while the workers run
      policy,
    });
    const N = 5; // the last one may not block (the browser-main-thread spin path)
    const durationMs = 1200;
    const spawned = Array.from({ length: N }, (_, id) =>
      spawn(cache, 'random-ops.mjs', { id, durationMs, keys: 3000, maxPayload: 3000, canBlock: id !== N - 1 }),
    );
    // The main thread reads and writes too, between its event-loop turns.
    const rnd = prng(99);
    const mainErrors: string[] = [];
    let mainOps = 0;
    const mainEnd = Date.now() + durationMs;
    while (Date.now() < mainEnd) {
      for (let i = 0; i < 50; i++, mainOps++) {
        const k = `k${Math.floor(rnd() * 3000)}`;
        if (rnd() < 0.7) {
          const v = cache.get(k);
          const why = v === undefined ? null : checkValue(k, v);
          if (why) mainErrors.push(`main get(${k}): ${why}`);
        } else {
          cache.set(k, makeValue(k, 1000, mainOps, Math.floor(rnd() * 500)));
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    const reports = await within(
      Promise.all(spawned.map((s) => s.next<{ ops: Record<string, number>; errors: string[] }>((m) => 'ops' in m, 20_000, 'worker report'))),
      30_000,
      'all workers',
    );
    await Promise.all(spawned.map((s) => within(s.exited, 10_000, 'worker exit')));
    const errors = [...mainErrors, ...reports.flatMap((r) => r.errors)];
    expect(errors).toEqual([]);
    for (const r of reports) {
      expect(r.ops.get).toBeGreaterThan(0);
      expect(r.ops.set).toBeGreaterThan(0);
    }
    cache.checkIntegrity();
    const s = cache.stats();
    for (const seg of s.segments) expect(seg.bytesUsed).toBeLessThanOrEqual(seg.budget);
    expect(s.bytesUsed).toBeLessThanOrEqual(512 * 1024);
    expect(s.evictions).toBeGreaterThan(0);
    expect(s.recoveries).toBe(0);
    // Every surviving value is intact.
    for (let i = 0; i < 3000; i++) {
      const v = cache.peek(`k${i}`);
      if (v !== undefined) expect(checkValue(`k${i}`, v)).toBeNull();
    }
    const total = reports.reduce((n, r) => n + Object.values(r.ops).reduce((a, b) => a + b, 0), 0);
    console.log(`${policy} random ops: ${total} by ${N} workers + ${mainOps} on the main thread; ${s.evictions} evictions, ${s.moves} moves, ${s.expirations} expirations`);
    cache.close();
  });

  it('concurrent sets/deletes of disjoint key sets leave exactly the expected entries and counters', async () => {
    const N = 4;
    const n = 2500;
    const { cache } = await ArenaCache.createShared({ maxBytes: 32 << 20, segments: 16, threads: N + 1, sweepIntervalMs: 0, policy });
    const spawned = Array.from({ length: N }, (_, id) => spawn(cache, 'exact-ops.mjs', { id, n, workers: N }));
    type Seen = { hits: number; misses: number; sets: number; deletes: number; wrong: string[] };
    const seen = await within(
      Promise.all(spawned.map((s) => s.next<Seen>((m) => 'hits' in m, 30_000, 'worker report'))),
      40_000,
      'all workers',
    );
    await Promise.all(spawned.map((s) => within(s.exited, 10_000, 'worker exit')));
    expect(seen.flatMap((x) => x.wrong)).toEqual([]);
    const sum = (f: keyof Omit<Seen, 'wrong'>) => seen.reduce((a, x) => a + x[f], 0);
    const deletedPerWorker = Math.ceil(n / 3);
    expect(sum('deletes')).toBe(N * deletedPerWorker);
    const s = cache.stats();
    expect(s.evictions).toBe(0); // the arena is large enough: every difference would be a bug
    expect(s.hits).toBe(sum('hits'));
    expect(s.misses).toBe(sum('misses'));
    expect(s.sets).toBe(sum('sets'));
    expect(s.deletes).toBe(sum('deletes'));
    expect(cache.size).toBe(N * (n - deletedPerWorker));
    const dec = new TextDecoder();
    for (let id = 0; id < N; id++) {
      for (let j = 0; j < n; j++) {
        const v = cache.peek(`w${id}:${j}`);
        if (j % 3 === 0) expect(v).toBeUndefined();
        else expect(v && dec.decode(v)).toBe(`value ${id}:${j} ` + 'x'.repeat(j % 50));
      }
    }
    cache.checkIntegrity();
    cache.close();
  });
});

// Iteration (scanner.ts over the core's scan): the documented orders, no promotion and no counting,
// expired entries skipped, bounded work per core call, and the guarantee under changes made while
// iterating: every entry present for the whole iteration is seen exactly once (lru's most-recent-
// first order excepted for entries read or written meanwhile), and nothing is seen that was not
// there. The exact order against the reference model is in model.test.ts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ArenaCache } from '../../src/core/index.js';
import { SCAN_CHUNK } from '../../src/core/scanner.js';
import type { ArenaCacheOptions, EvictionPolicy } from '../../src/core/types.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const SEED = [1, 2, 3, 4] as const;
const make = (extra: Partial<ArenaCacheOptions> = {}) =>
  ArenaCache.create({ maxBytes: 1 << 20, sweepIntervalMs: 0, seed: SEED, ...extra });
const POLICIES: EvictionPolicy[] = ['lru', 'clock', 's3fifo'];

/** Runs `fn` with the core's scan export wrapped to report each call's result. */
function spyScan(c: ArenaCache, onResult: (n: number) => void, fn: () => void): void {
  type Ex = { scan: (...a: number[]) => number };
  const arena = (c as unknown as { arena: { ex: Ex } }).arena;
  const ex = arena.ex;
  arena.ex = Object.assign(Object.create(null) as Ex, ex, {
    scan: (...a: number[]) => {
      const n = ex.scan(...a);
      onResult(n);
      return n;
    },
  });
  try {
    fn();
  } finally {
    arena.ex = ex;
  }
}

describe('order', () => {
  it('lru, one segment: keys() most recently used first, rkeys() least recently used first', async () => {
    const c = await make({ policy: 'lru', segments: 1 });
    c.set('a', '1').set('b', '2').set('c', '3');
    c.get('a');
    c.set('b', '22');
    expect([...c.keys()].map(text)).toEqual(['b', 'a', 'c']);
    expect([...c.rkeys()].map(text)).toEqual(['c', 'a', 'b']);
    expect([...c.values()].map(text)).toEqual(['22', '1', '3']);
    expect([...c.rvalues()].map(text)).toEqual(['3', '1', '22']);
    expect([...c.entries()].map(([k, v]) => `${text(k)}=${text(v)}`)).toEqual(['b=22', 'a=1', 'c=3']);
    expect([...c].map(([k]) => text(k))).toEqual(['b', 'a', 'c']);
    const seen: string[] = [];
    c.forEach((v, k, self) => {
      expect(self).toBe(c);
      seen.push(`${text(k)}=${text(v)}`);
    });
    expect(seen).toEqual(['b=22', 'a=1', 'c=3']);
  });

  it('clock: every form walks the order of eviction, oldest first (FIFO while nothing is read)', async () => {
    const evicted: string[] = [];
    const c = await make({ policy: 'clock', segments: 1, maxBytes: 4096, onEvict: (k) => evicted.push(text(k)) });
    for (let i = 0; i < 20; i++) c.set(`k${i}`, 'v');
    const order = [...c.rkeys()].map(text);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`));
    expect([...c.keys()].map(text)).toEqual(order);
    expect([...c.entries()].map(([k]) => text(k))).toEqual(order);
    for (let i = 0; evicted.length < order.length; i++) c.set(`new${i}`, 'v');
    expect(evicted.slice(0, order.length)).toEqual(order);
  });

  it('s3fifo: every form walks the small queue oldest first, then main oldest first', async () => {
    const c = await make({ policy: 's3fifo', segments: 1, maxBytes: 8192 });
    let n = 0;
    // New keys go to main while it has room, then to the small queue.
    while (c.stats().smallEntries < 5) c.set(`k${n++}`, 'v'.repeat(40));
    expect(c.size).toBe(n); // nothing evicted yet
    const small = c.stats().smallEntries;
    const expected = [
      ...Array.from({ length: small }, (_, i) => `k${n - small + i}`),
      ...Array.from({ length: n - small }, (_, i) => `k${i}`),
    ];
    expect([...c.rkeys()].map(text)).toEqual(expected);
    expect([...c.keys()].map(text)).toEqual(expected);
  });

  it('segments are interleaved: the first keys are every segment\'s most recent', async () => {
    const c = await make({ policy: 'lru', segments: 16 });
    for (let i = 0; i < 1600; i++) c.set(`k${i}`, 'v');
    const first = [...c.keys()].slice(0, 16).map((k) => Number(text(k).slice(1)));
    // One per segment, each its segment's newest: all among the last ~16 × (skew) inserted.
    expect(Math.min(...first)).toBeGreaterThan(1600 - 16 * 8);
    const all = [...c.keys()];
    expect(new Set(all.map(text)).size).toBe(1600);
  });
});

describe('reading only', () => {
  it('no promotion, no counting: after any iteration the policy evicts what it would have (twin caches)', async () => {
    for (const policy of POLICIES) {
      const runs: string[][] = [];
      for (const iterateIt of [false, true]) {
        const evicted: string[] = [];
        const c = await make({ policy, segments: 2, maxBytes: 8192, onEvict: (k) => evicted.push(text(k)) });
        for (let i = 0; i < 60; i++) c.set(`k${i}`, 'v'.repeat(20));
        for (let i = 0; i < 60; i += 3) c.get(`k${i}`);
        const before = c.stats();
        if (iterateIt) {
          for (const _ of c.entries());
          for (const _ of c.rkeys());
          c.forEach(() => {});
          [...c.values()];
        }
        const after = c.stats();
        expect({ hits: after.hits, misses: after.misses, moves: after.moves }).toEqual({ hits: before.hits, misses: before.misses, moves: before.moves });
        for (let i = 0; i < 200; i++) c.set(`n${i}`, 'v'.repeat(20));
        runs.push(evicted);
      }
      expect(runs[1], policy).toEqual(runs[0]);
      expect(runs[0].length).toBeGreaterThan(50);
    }
  });

  it('expired entries are skipped (and left for the sweep)', async () => {
    let now = 1000;
    for (const policy of POLICIES) {
      const c = await make({ policy, segments: 4, clock: () => now });
      for (let i = 0; i < 40; i++) c.set(`k${i}`, 'v', { ttl: i % 2 === 0 ? 100 : 0 });
      expect([...c.keys()]).toHaveLength(40);
      now += 100;
      const live = [...c.rkeys()].map(text).sort();
      expect(live).toEqual(Array.from({ length: 20 }, (_, j) => `k${2 * j + 1}`).sort());
      expect(c.size).toBe(40); // still held: iteration removes nothing
      expect(c.purgeStale()).toBe(20);
      now -= 100;
    }
  });

  it('one core call returns at most SCAN_CHUNK entries (a segment\'s lock is held that long)', async () => {
    const c = await make({ policy: 'lru', segments: 2 });
    for (let i = 0; i < 3000; i++) c.set(`k${i}`, 'v');
    const results: number[] = [];
    spyScan(c, (n) => results.push(n), () => expect([...c.keys()]).toHaveLength(3000));
    expect(Math.max(...results)).toBeLessThanOrEqual(SCAN_CHUNK);
    expect(results.length).toBeGreaterThanOrEqual(3000 / SCAN_CHUNK);
  });
});

describe('changes during iteration', () => {
  it('every entry present throughout is seen exactly once; nothing is seen that was never there', async () => {
    type Change = { op: 'set' | 'get' | 'delete' | 'peek' | 'touch'; k: number; size: number };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...POLICIES),
        fc.constantFrom('keys', 'rkeys') as fc.Arbitrary<'keys' | 'rkeys'>,
        fc.constantFrom(1, 4),
        fc.array(fc.array(fc.record({ op: fc.constantFrom('set', 'get', 'delete', 'peek', 'touch', 'touch'), k: fc.nat(599), size: fc.nat(40) }) as fc.Arbitrary<Change>, { maxLength: 4 }), { maxLength: 400 }),
        async (policy, kind, segments, plan) => {
          // Tight enough that the changes evict; roomy enough that most of the 300 survive.
          const c = await make({ policy, segments, maxBytes: segments * 16 * 1024, maxValueBytes: 64 });
          const history = new Map<string, Set<string>>();
          const put = (k: string, v: string) => {
            c.set(k, v);
            (history.get(k) ?? history.set(k, new Set()).get(k)!).add(v);
          };
          for (let i = 0; i < 300; i++) put(`k${i}`, `v${i}`);
          const start = new Set([...c.rkeys()].map(text));
          const gone = new Set<string>();
          const touched = new Set<string>();
          const seen: string[] = [];
          let step = 0;
          const source = kind === 'keys' ? c.entries() : c.rentries();
          for (const [kb, vb] of source) {
            const k = text(kb);
            seen.push(k);
            expect(history.get(k), `${k} was never set`).toBeDefined();
            expect(history.get(k)!.has(text(vb)), `${k}=${text(vb)} was never its value`).toBe(true);
            for (const ch of plan[step++] ?? []) {
              const key = `k${ch.k}`;
              if (ch.op === 'set') {
                put(key, 'x'.repeat(ch.size));
                touched.add(key);
              } else if (ch.op === 'delete') {
                c.delete(key);
                gone.add(key);
              } else if (ch.op === 'get') {
                c.get(key);
                touched.add(key);
              } else if (ch.op === 'touch') {
                c.get(kb); // the entry just yielded (it moves: lru promotes it)
                touched.add(k);
              } else {
                c.peek(key);
              }
            }
          }
          // Exactly once.
          expect(seen.length).toBe(new Set(seen).size);
          // Present throughout: in the cache at the start and at the end, never deleted (and, for
          // lru's most-recent-first walk, never read or written: those move behind it).
          const end = new Set([...c.rkeys()].map(text));
          const newestFirst = policy === 'lru' && kind === 'keys';
          for (const k of start) {
            if (!end.has(k) || gone.has(k) || (newestFirst && touched.has(k))) continue;
            expect(seen, `${policy} ${kind}: ${k}`).toContain(k);
          }
        },
      ),
      { numRuns: 120 },
    );
  });

  it('reading each entry as it is yielded (lru) neither restarts the walk nor misses (the core keeps its place)', async () => {
    for (const which of ['keys', 'rkeys'] as const) {
      const c = await make({ policy: 'lru', segments: 4 });
      for (let i = 0; i < 2000; i++) c.set(`k${i}`, 'v');
      let returned = 0;
      const seen = new Set<string>();
      spyScan(c, (n) => (returned += n), () => {
        let yields = 0;
        for (const k of c[which]()) {
          if (++yields > 10_000) throw new Error('the walk does not end');
          seen.add(text(k));
          c.get(k);
        }
      });
      expect(seen.size).toBe(2000);
      // No segment started over: most recent first, each entry came once (read, it moves behind
      // the walk); least recent first, at most twice (read, it moves ahead: met again at the end).
      if (which === 'keys') expect(returned).toBe(2000);
      else expect(returned).toBeLessThanOrEqual(4000);
    }
  });

  it('nested iterations keep their own places', async () => {
    const c = await make({ policy: 's3fifo', segments: 4 });
    for (let i = 0; i < 300; i++) c.set(`k${i}`, 'v');
    let pairs = 0;
    const outer = new Set<string>();
    for (const k of c.keys()) {
      outer.add(text(k));
      if (outer.size % 50 === 0) for (const _ of c.rkeys()) pairs++;
    }
    expect(outer.size).toBe(300);
    expect(pairs).toBe(6 * 300);
  });

  it('an iteration given up early leaves the cache as it was', async () => {
    const c = await make({ policy: 'lru', segments: 2 });
    for (let i = 0; i < 500; i++) c.set(`k${i}`, 'v');
    for (const _ of c.keys()) break;
    const it = c.entries();
    it.next();
    it.return(undefined);
    expect([...c.keys()]).toHaveLength(500);
    c.checkIntegrity();
  });
});

describe('arguments', () => {
  it('forEach and rforEach take a function (TypeError otherwise, nothing read)', async () => {
    const c = await make();
    c.set('a', '1');
    const hits = c.stats().hits;
    expect(() => c.forEach('x' as never)).toThrow(TypeError);
    expect(() => c.rforEach(undefined as never)).toThrow(/rforEach: fn must be a function/);
    expect(c.stats().hits).toBe(hits);
  });
});

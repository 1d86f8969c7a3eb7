// The idealized policy simulators (bench/lib/policies/) on hand-written sequences: exact victims
// and queue orders, so they can serve as reference semantics for the core's policies.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JS bench modules (no declarations), as the bench runs them
import { Lru } from '../../bench/lib/policies/lru.mjs';
// @ts-expect-error: plain JS bench module
import { Clock } from '../../bench/lib/policies/clock.mjs';
// @ts-expect-error: plain JS bench module
import { Sieve } from '../../bench/lib/policies/sieve.mjs';
// @ts-expect-error: plain JS bench module
import { S3Fifo } from '../../bench/lib/policies/s3fifo.mjs';
// @ts-expect-error: plain JS bench module
import { ExactGhost, ApproxGhost } from '../../bench/lib/policies/ghost.mjs';
// @ts-expect-error: plain JS bench module
import { assignment } from '../../bench/lib/policies/segmented.mjs';
// @ts-expect-error: plain JS bench module
import { build, parseSpec } from '../../bench/lib/policies/index.mjs';
// @ts-expect-error: plain JS bench module
import { replay } from '../../bench/lib/replay.mjs';
// @ts-expect-error: plain JS bench module
import { zipfTrace, strictLruHits } from '../../bench/lib/prng.mjs';

type Op = ['get', number] | ['set', number, number?];

/** Runs ops on a policy built with an onEvict recorder; returns the victims and get results. */
function drive(make: (onEvict: (k: number) => void) => any, ops: Op[]) {
  const victims: number[] = [];
  const cache = make((k) => victims.push(k));
  const hits: boolean[] = [];
  for (const op of ops) {
    if (op[0] === 'get') hits.push(cache.get(op[1]));
    else cache.set(op[1], op[2] ?? 1);
  }
  return { cache, victims, hits };
}

const sets = (...keys: number[]): Op[] => keys.map((k) => ['set', k] as Op);
const gets = (...keys: number[]): Op[] => keys.map((k) => ['get', k] as Op);

describe('Lru', () => {
  it('evicts the least recently used, a hit refreshes', () => {
    const { cache, victims, hits } = drive((onEvict) => new Lru({ capacity: 3, universe: 10, onEvict }), [...sets(1, 2, 3), ...gets(1), ...sets(4), ...gets(3, 2), ...sets(5)]);
    expect(victims).toEqual([2, 1]);
    expect(hits).toEqual([true, true, false]);
    expect(cache.order()).toEqual([4, 3, 5]);
  });

  it('charges bytes: evicts as many as the new entry needs, refuses what can never fit', () => {
    const { cache, victims } = drive((onEvict) => new Lru({ capacity: 4, universe: 10, onEvict }), [['set', 1, 2], ['set', 2, 1], ['set', 3, 1], ['set', 4, 3]]);
    expect(victims).toEqual([1, 2]);
    expect(cache.used).toBe(4);
    expect(cache.set(5, 5)).toBe(false);
    expect(cache.order()).toEqual([3, 4]);
  });

  it('set of a present key is an error (replay sets only after a miss)', () => {
    const c = new Lru({ capacity: 2, universe: 4 });
    c.set(1, 1);
    expect(() => c.set(1, 1)).toThrow(/present/);
  });
});

describe('Clock (FIFO with reinsertion over a log)', () => {
  const ops: Op[] = [...sets(1, 2, 3), ...gets(1), ...sets(4), ...gets(3, 1), ...sets(5)];

  it('1 bit, unbounded: visited entries are re-appended with their bit cleared', () => {
    const { cache, victims } = drive((onEvict) => new Clock({ capacity: 3, universe: 10, onEvict }), ops);
    // set 4: 1 visited → re-appended, 2 evicted; set 5: 3 and 1 re-appended, 4 evicted
    expect(victims).toEqual([2, 4]);
    expect(cache.order()).toEqual([3, 1, 5]);
    expect(cache.reinserts).toBe(3);
    expect(cache.maxReinsertRun).toBe(2);
  });

  it('K = 1: after one re-append the tail goes even if visited', () => {
    const { cache, victims } = drive((onEvict) => new Clock({ capacity: 3, universe: 10, maxReinserts: 1, onEvict }), ops);
    expect(victims).toEqual([2, 1]);
    expect(cache.order()).toEqual([4, 3, 5]);
    expect(cache.maxReinsertRun).toBe(1);
  });

  it('2-bit counters keep the more frequently hit entry where 1 bit cannot tell', () => {
    const seq: Op[] = [...sets(1, 2), ...gets(1, 1, 1, 2), ...sets(3)];
    expect(drive((onEvict) => new Clock({ capacity: 2, universe: 4, bits: 1, onEvict }), seq).victims).toEqual([1]);
    expect(drive((onEvict) => new Clock({ capacity: 2, universe: 4, bits: 2, onEvict }), seq).victims).toEqual([2]);
  });
});

describe('Sieve', () => {
  it('the hand clears visited entries in place and remembers where it stopped', () => {
    const { cache, victims } = drive((onEvict) => new Sieve({ capacity: 3, universe: 10, onEvict }), [...sets(1, 2, 3), ...gets(1), ...sets(4), ...gets(4), ...sets(5, 6, 7)]);
    // set 4: 1 cleared (stays at the tail), 2 evicted; set 5: the hand is at 3 → evicted;
    // set 6: 4 cleared, 5 evicted, the hand falls off the head; set 7: restarts at the tail → 1
    expect(victims).toEqual([2, 3, 5, 1]);
    expect(cache.order()).toEqual([4, 6, 7]);
  });
});

describe('S3Fifo', () => {
  it('small → main on a hit, ghost hits go to main, main re-appends hit entries', () => {
    const ops: Op[] = [...sets(1, 2, 3, 4, 5), ...gets(1, 1), ...sets(6, 2), ...gets(1), ...sets(7, 3, 4, 8)];
    const { cache, victims } = drive((onEvict) => new S3Fifo({ capacity: 5, universe: 10, small: 0.4, threshold: 1, onEvict }), ops);
    // set 6: 1 (hit) moves to M, 2 evicted to the ghost; set 2: ghost hit → M, 3 evicted;
    // set 7: 4; set 3 → M, 5; set 4 → M, 6; set 8: M over its share, 1 (hit) re-appended, 2 evicted
    expect(victims).toEqual([2, 3, 4, 5, 6, 2]);
    expect(cache.order()).toEqual({ small: [7, 8], main: [3, 4, 1] });
    expect(cache.ghostHits).toBe(3);
  });

  it('threshold 2 needs two hits in S to move to M; threshold 1 needs one', () => {
    const ops: Op[] = [...sets(1, 2, 3), ...gets(1), ...sets(4)];
    const one = drive((onEvict) => new S3Fifo({ capacity: 3, universe: 10, small: 0.34, threshold: 1, onEvict }), ops);
    const two = drive((onEvict) => new S3Fifo({ capacity: 3, universe: 10, small: 0.34, threshold: 2, onEvict }), ops);
    expect(one.victims).toEqual([2]);
    expect(one.cache.order()).toEqual({ small: [3, 4], main: [1] });
    expect(two.victims).toEqual([1]);
  });

  it('K bounds the re-appends in M per eviction', () => {
    // 1..6 pass through S (1..6 evicted into the ghost in turn); 1, 2, 3, 4 come back through the
    // ghost into M; 1 and 2 are hit; set 8 finds M over its share (4 > 3 bytes)
    const ops: Op[] = [...sets(1, 2, 3, 4, 5, 6, 1, 2), ...gets(1, 2), ...sets(3, 4, 8)];
    const make = (maxReinserts: number) => (onEvict: (k: number) => void) => new S3Fifo({ capacity: 4, universe: 10, small: 0.25, threshold: 1, maxReinserts, onEvict });
    const bounded = drive(make(1), ops);
    expect(bounded.victims).toEqual([1, 2, 3, 4, 5, 6, 2]); // 1 re-appended, then 2 goes despite its hit
    expect(bounded.cache.order()).toEqual({ small: [8], main: [3, 4, 1] });
    const unbounded = drive(make(Infinity), ops);
    expect(unbounded.victims).toEqual([1, 2, 3, 4, 5, 6, 3]);
    expect(unbounded.cache.order()).toEqual({ small: [8], main: [4, 1, 2] });
    expect([bounded.cache.maxReinsertRun, unbounded.cache.maxReinsertRun]).toEqual([1, 2]);
  });

  it('admits an entry larger than S (unlike libCacheSim), which S then evicts first', () => {
    const c = new S3Fifo({ capacity: 8, universe: 10, small: 0.1 }); // S share = 0 bytes
    expect(c.set(1, 1)).toBe(true);
    expect(c.get(1)).toBe(true);
  });
});

describe('ghosts', () => {
  it('exact ghost: a byte-budgeted FIFO of keys, take removes', () => {
    const g = new ExactGhost({ capacity: 2, universe: 10 });
    g.add(1, 1);
    g.add(2, 1);
    g.add(3, 1); // 1 forgotten
    expect(g.take(1)).toBe(false);
    expect(g.take(2)).toBe(true);
    expect(g.take(2)).toBe(false);
    g.add(4, 1);
    g.add(5, 1); // 3 forgotten (2's stale slot costs nothing)
    expect([g.take(3), g.take(4), g.take(5)]).toEqual([false, true, true]);
  });

  it('approximate ghost: one fingerprint per slot, a newer key overwrites', () => {
    const g = new ApproxGhost({ slots: 1 });
    g.add(1);
    expect(g.take(1)).toBe(true);
    expect(g.take(1)).toBe(false);
    g.add(1);
    g.add(2);
    expect([g.take(1), g.take(2)]).toEqual([false, true]);
  });
});

describe('segmented wrapper', () => {
  it('is exactly one independent policy per segment with 1/N of the bytes', () => {
    const universe = 64, segments = 4, seed = 7, capacity = 20;
    const trace = zipfTrace(2000, universe, 0.8, 3);
    const victims: number[] = [];
    const expected: number[] = [];
    const seg = build('clock:bits=2', { capacity, universe, segments, seed, onEvict: (k: number) => victims.push(k) });
    const a = assignment(universe, segments, seed);
    const parts = Array.from({ length: segments }, () => new Clock({ capacity: capacity / segments, universe, bits: 2, onEvict: (k: number) => expected.push(k) }));
    for (const k of trace) {
      const p = parts[a.seg[k]];
      const hit = p.get(k);
      expect(seg.get(k)).toBe(hit);
      if (!hit) {
        p.set(k, 1);
        seg.set(k, 1);
      }
    }
    expect(victims).toEqual(expected);
    expect(victims.length).toBeGreaterThan(100);
  });
});

describe('replay and specs', () => {
  it('read-through replay of exact LRU agrees with the bench reference strictLruHits', () => {
    const n = 5000, capacity = 400;
    const ids = zipfTrace(50_000, n, 0.99, 11);
    const r = replay(build('lru', { capacity, universe: n, segments: 1 }), { ids, sizes: null });
    expect(r.requests - r.misses).toBe(strictLruHits(ids, capacity, n));
  });

  it('parses specs into constructor options', () => {
    expect(parseSpec('clock:bits=2,k=4')).toMatchObject({ policy: 'clock', options: { bits: 2, maxReinserts: 4 } });
    expect(parseSpec('s3fifo:s=5,t=1,ghost=approx,k=inf')).toMatchObject({ policy: 's3fifo', options: { small: 0.05, threshold: 1, ghost: 'approx', maxReinserts: Infinity } });
    expect(() => parseSpec('arc')).toThrow(/unknown policy/);
    expect(() => parseSpec('clock:x=1')).toThrow(/unknown knob/);
  });
});

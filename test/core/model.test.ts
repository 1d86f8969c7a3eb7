// Differential property test: random operation sequences against ArenaCache and the reference
// model must give the same results, the same counters and the same evictions; after each
// sequence the core's invariant checker walks every segment.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ArenaCache } from '../../src/core/index.js';
import { ModelCache } from './model.js';

type Op =
  | { op: 'set'; key: number; size: number; ttl?: number }
  | { op: 'get' | 'peek' | 'has' | 'delete'; key: number }
  | { op: 'tick'; ms: number }
  | { op: 'purge' }
  | { op: 'clear' };

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function keyBytes(k: number): Uint8Array {
  // Mix of short ASCII, binary (non-UTF-8) and an empty key.
  if (k === 0) return new Uint8Array(0);
  if (k % 7 === 0) return Uint8Array.of(0xff, 0xfe, k & 0xff, (k >> 8) & 0xff);
  return new TextEncoder().encode(`key-${k}`);
}

function valueBytes(size: number, seed: number): Uint8Array {
  const v = new Uint8Array(size);
  for (let i = 0; i < size; i++) v[i] = (seed * 31 + i * 7) & 0xff;
  return v;
}

function opArb(keys: number, maxValue: number, typical = 200): fc.Arbitrary<Op> {
  const size = fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0, max: typical }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: maxValue }) },
    { weight: 1, arbitrary: fc.constantFrom(0, maxValue, maxValue + 1) },
  );
  const key = fc.integer({ min: 0, max: keys - 1 });
  return fc.oneof(
    { weight: 80, arbitrary: fc.record({ op: fc.constant('set' as const), key, size, ttl: fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined }) }) },
    { weight: 70, arbitrary: fc.record({ op: fc.constantFrom('get' as const, 'peek' as const, 'has' as const, 'delete' as const), key }) },
    { weight: 15, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 30 }) }) },
    { weight: 3, arbitrary: fc.constant({ op: 'purge' as const }) },
    { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
  );
}

async function runSequence(ops: Op[], segments: number, maxBytes: number, defaultTtl: number): Promise<number> {
  let now = 1_000;
  const evicted: [string, string][] = [];
  const cache = await ArenaCache.create({
    maxBytes, segments, ttl: defaultTtl, maxKeyBytes: 64, clock: () => now, sweepIntervalMs: 0,
    onEvict: (k, _v, reason) => evicted.push([hex(k), reason]),
  });
  const model = new ModelCache(segments, cache.segmentBudget, cache.maxValueBytes, defaultTtl);
  for (const [i, o] of ops.entries()) {
    const where = `op ${i} ${JSON.stringify(o)}`;
    switch (o.op) {
      case 'set': {
        const k = keyBytes(o.key);
        const v = valueBytes(o.size, i);
        const ok = model.set(k, v, o.ttl, now);
        if (ok) cache.set(k, v, o.ttl === undefined ? undefined : { ttl: o.ttl });
        else expect(() => cache.set(k, v, o.ttl === undefined ? undefined : { ttl: o.ttl }), where).toThrow(RangeError);
        break;
      }
      case 'get':
        expect(cache.get(keyBytes(o.key)), where).toEqual(model.get(keyBytes(o.key), now));
        break;
      case 'peek':
        expect(cache.peek(keyBytes(o.key)), where).toEqual(model.peek(keyBytes(o.key), now));
        break;
      case 'has':
        expect(cache.has(keyBytes(o.key)), where).toBe(model.peek(keyBytes(o.key), now) !== undefined);
        break;
      case 'delete':
        expect(cache.delete(keyBytes(o.key)), where).toBe(model.delete(keyBytes(o.key), now));
        break;
      case 'tick':
        now += o.ms;
        break;
      case 'purge':
        expect(cache.purgeStale(), where).toBe(model.purgeStale(now));
        break;
      case 'clear':
        cache.clear();
        model.clear();
        break;
    }
    expect(cache.size, where).toBe(model.size);
    expect(cache.bytes, where).toBe(model.bytes);
  }
  cache.checkIntegrity();
  // Same contents: every entry of the model is in the cache with the same bytes.
  for (const e of model.allEntries()) {
    if (e.expires === 0 || e.expires > now) expect(cache.peek(e.key)).toEqual(e.value);
  }
  const s = cache.stats();
  const { hits, misses, sets, deletes, evictions, expirations, rejected } = s;
  expect({ hits, misses, sets, deletes, evictions, expirations, rejected }).toEqual(model.counters);
  expect(evicted).toEqual(model.removals);
  expect(s.bytesUsed).toBeLessThanOrEqual(s.budget);
  for (const seg of s.segments) expect(seg.bytesUsed).toBeLessThanOrEqual(seg.budget);
  cache.close();
  return s.compactions;
}

describe('ArenaCache against the reference model', () => {
  it('random sequences on a small arena (4 segments, tight budget)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb(300, 3000), { minLength: 1, maxLength: 500, size: 'max' }), async (ops) => {
        await runSequence(ops, 4, 4 * 4096, 0);
      }),
      { numRuns: 60 },
    );
  });

  it('random sequences with a default TTL and a single segment', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb(100, 3000), { minLength: 1, maxLength: 400, size: 'max' }), async (ops) => {
        await runSequence(ops, 1, 8192, 40);
      }),
      { numRuns: 60 },
    );
  });

  it('random sequences with many keys and 16 segments (fragmentation and compaction)', async () => {
    let compactions = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb(300, 1500, 120), { minLength: 50, maxLength: 600, size: 'max' }), async (ops) => {
        compactions += await runSequence(ops, 16, 16 * 2048, 0);
      }),
      { numRuns: 60 },
    );
    // The sequences must have exercised the compaction path, or this test proves less than it says.
    expect(compactions).toBeGreaterThan(0);
  });
});

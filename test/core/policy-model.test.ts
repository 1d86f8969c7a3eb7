// Differential property test of the core's raw ABI against the reference model, for every
// eviction policy: random sequences of sets (replacements, sizes up to the limit, TTLs), reads,
// deletes, clock ticks, partial and restarted sweeps and clears must give the same results, the
// same eviction-log records (the exact victims, in order), the same counters and bytes, and the
// invariant checker must pass on every segment after every sequence.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as abi from '../../src/core/abi.generated.js';
import { ArenaModel } from './policy-model/arena-model.js';
import { RawCore, type Flavor } from './policy-model/raw-core.js';

type Op =
  | { op: 'set'; key: number; size: number; ttl: number }
  | { op: 'get' | 'peek' | 'has' | 'remove'; key: number }
  | { op: 'tick'; ms: number }
  | { op: 'sweep'; seg: number; steps: number; restart: boolean }
  | { op: 'info'; key: number }
  | { op: 'scan'; chunk: number; newestFirst: boolean; values: boolean; oneQueue: boolean }
  | { op: 'clear' };

function keyBytes(k: number): Uint8Array {
  if (k === 0) return new Uint8Array(0);
  if (k % 7 === 0) return Uint8Array.of(0xff, 0xfe, k & 0xff, (k >> 8) & 0xff);
  return new TextEncoder().encode(`key-${k}`);
}

function valueBytes(size: number, seed: number): Uint8Array {
  const v = new Uint8Array(size);
  for (let i = 0; i < size; i++) v[i] = (seed * 31 + i * 7) & 0xff;
  return v;
}

function opArb(keys: number, maxValue: number, segments: number, typical: number, reads = 70): fc.Arbitrary<Op> {
  const size = fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0, max: typical }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: maxValue }) },
    { weight: 1, arbitrary: fc.constantFrom(0, maxValue, maxValue + 1) },
  );
  const key = fc.integer({ min: 0, max: keys - 1 });
  const ttl = fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 50 }) });
  return fc.oneof(
    { weight: 80, arbitrary: fc.record({ op: fc.constant('set' as const), key, size, ttl }) },
    { weight: reads, arbitrary: fc.record({ op: fc.constantFrom('get' as const, 'get' as const, 'get' as const, 'peek' as const, 'has' as const, 'remove' as const), key }) },
    { weight: 12, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 30 }) }) },
    { weight: 6, arbitrary: fc.record({ op: fc.constant('sweep' as const), seg: fc.integer({ min: 0, max: segments - 1 }), steps: fc.integer({ min: 1, max: 40 }), restart: fc.boolean() }) },
    { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
    { weight: 6, arbitrary: fc.record({ op: fc.constant('info' as const), key }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('scan' as const), chunk: fc.integer({ min: 1, max: 12 }), newestFirst: fc.boolean(), values: fc.boolean(), oneQueue: fc.boolean() }) },
  );
}

interface Config {
  name: string;
  maxBytes: number;
  segments: number;
  maxValue: number;
  maxEntries: number;
  defaultTtl: number;
  typical: number;
  keys: number;
  logMode: number;
  logRemovals: boolean;
  /** Weight of reads against 80 for sets. */
  reads?: number;
}

const hex = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('hex'));

async function runSequence(flavor: Flavor, policy: number, cfg: Config, ops: Op[]): Promise<void> {
  let now = 5_000;
  const core = await RawCore.create({
    flavor, policy, maxBytes: cfg.maxBytes, segments: cfg.segments, maxKey: 64, maxValue: cfg.maxValue,
    maxEntries: cfg.maxEntries, defaultTtl: cfg.defaultTtl, now, logMode: cfg.logMode, logRemovals: cfg.logRemovals,
  });
  const model = new ArenaModel(core.shape);
  for (const [i, o] of ops.entries()) {
    const where = `op ${i} ${JSON.stringify(o)}`;
    switch (o.op) {
      case 'set': {
        const k = keyBytes(o.key);
        const v = valueBytes(o.size, i);
        expect(core.set(k, v, o.ttl, now), where).toBe(model.set(k, v, o.ttl, now));
        break;
      }
      case 'get':
        expect(hex(core.get(keyBytes(o.key), now)), where).toBe(hex(model.get(keyBytes(o.key), now)));
        break;
      case 'peek':
        expect(hex(core.peek(keyBytes(o.key), now)), where).toBe(hex(model.peek(keyBytes(o.key), now)));
        break;
      case 'has':
        expect(core.has(keyBytes(o.key), now), where).toBe(model.has(keyBytes(o.key), now));
        break;
      case 'remove':
        expect(core.remove(keyBytes(o.key), now), where).toBe(model.remove(keyBytes(o.key), now));
        break;
      case 'tick':
        now += o.ms;
        break;
      case 'sweep':
        expect(core.sweep(o.seg, o.steps, now, o.restart), where).toEqual(model.sweep(o.seg, o.steps, now, o.restart));
        break;
      case 'clear':
        core.ex.clear(0);
        model.clear();
        break;
      case 'info':
        expect(core.info(keyBytes(o.key), now), where).toEqual(model.info(keyBytes(o.key), now));
        break;
      case 'scan': {
        const newest = o.newestFirst && policy === abi.POLICY_LRU;
        const oneQueue = o.oneQueue && policy !== abi.POLICY_LRU;
        const flags = (o.values ? abi.SCAN_VALUES : 0) | (newest ? abi.SCAN_NEWEST_FIRST : 0) | (oneQueue ? abi.SCAN_ONE_QUEUE : 0);
        for (let s = 0; s < cfg.segments; s++) {
          expect(core.scanSegment(s, o.chunk, flags, now), `${where} segment ${s}`).toEqual(model.scanOrder(s, newest, o.values, now, oneQueue));
        }
        break;
      }
    }
    expect(core.drain(), `${where}: log records`).toEqual(model.records.splice(0));
    expect(core.ex.count(), `${where}: count`).toBe(model.count);
    expect(core.ex.used(), `${where}: bytes`).toBe(model.used);
  }
  expect(core.check(), 'invariants').toBe(0);
  for (let s = 0; s < cfg.segments; s++) {
    const c = core.stats(s);
    const m = model.stats(s);
    expect(c.indexEvictions, `segment ${s} index evictions`).toBe(0);
    expect(c, `segment ${s} stats`).toMatchObject(m);
  }
}

const CONFIGS: Config[] = [
  // One small segment, values up to its size: eviction, wrap-around, replacement in place and moved.
  { name: 'one segment', maxBytes: 16 * 1024, segments: 1, maxValue: 8 * 1024, maxEntries: 0, defaultTtl: 0, typical: 300, keys: 40, logMode: 2, logRemovals: true },
  // Four segments, an entry limit that binds before the bytes do, a default TTL, keys-only log.
  { name: 'count-bound', maxBytes: 32 * 1024, segments: 4, maxValue: 2048, maxEntries: 48, defaultTtl: 40, typical: 60, keys: 80, logMode: 1, logRemovals: false },
  // Many small entries in two segments, log without removals.
  { name: 'small entries', maxBytes: 24 * 1024, segments: 2, maxValue: 512, maxEntries: 0, defaultTtl: 0, typical: 24, keys: 200, logMode: 2, logRemovals: false },
  // Mostly reads of a hot set larger than the cache: most entries carry access bits, so making
  // room runs through whole rounds of second chances (and their per-call bound).
  { name: 'hot reads', maxBytes: 4 * 1024, segments: 1, maxValue: 512, maxEntries: 0, defaultTtl: 0, typical: 48, keys: 90, logMode: 2, logRemovals: false, reads: 400 },
  // Many more keys than entries, cycling: s3fifo's ghost fills, collides and sends keys to main
  // (its span follows main's entry count, so which keys it remembers depends on exact counts).
  { name: 'ghost churn', maxBytes: 4 * 1024, segments: 1, maxValue: 128, maxEntries: 12, defaultTtl: 0, typical: 20, keys: 40, logMode: 2, logRemovals: false, reads: 150 },
];

const POLICIES: [string, number][] = [['lru', abi.POLICY_LRU], ['clock', abi.POLICY_CLOCK], ['s3fifo', abi.POLICY_S3FIFO]];

describe('the core against the reference model (exact victims, counters, bytes, log)', () => {
  for (const [pname, policy] of POLICIES) {
    for (const cfg of CONFIGS) {
      it(`${pname}: ${cfg.name}`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(opArb(cfg.keys, cfg.maxValue, cfg.segments, cfg.typical, cfg.reads), { minLength: 20, maxLength: 400, size: 'max' }), (ops) =>
            runSequence('release', policy, cfg, ops),
          ),
          { numRuns: 40, endOnFailure: true },
        );
      });
    }
    it(`${pname}: the shared build behaves the same`, async () => {
      const cfg = CONFIGS[0];
      await fc.assert(
        fc.asyncProperty(fc.array(opArb(cfg.keys, cfg.maxValue, cfg.segments, cfg.typical), { minLength: 20, maxLength: 300, size: 'max' }), (ops) =>
          runSequence('shared', policy, cfg, ops),
        ),
        { numRuns: 25, endOnFailure: true },
      );
    });
  }
});

describe('bounded work per call', () => {
  for (const [pname, policy, chances] of [['clock', abi.POLICY_CLOCK, abi.CLOCK_CHANCES], ['s3fifo', abi.POLICY_S3FIFO, abi.S3_CHANCES]] as const) {
    it(`${pname}: a set gives at most ${chances} second chances, then evicts (every entry was hit)`, async () => {
      const core = await RawCore.create({ policy, maxBytes: 64 * 1024, segments: 1, maxKey: 16, maxValue: 64, maxEntries: 100, now: 0, logMode: 1 });
      const enc = new TextEncoder();
      // s3fifo: new keys take main while it has room (90 entries), the last 10 the small queue.
      let n = 0;
      for (; n < 100; n++) expect(core.set(enc.encode(`k${n}`), new Uint8Array(16), 0, 0)).toBe(abi.OK);
      for (let i = 0; i < n; i++) expect(core.get(enc.encode(`k${i}`), 0)).not.toBeNull();
      core.drain();
      const before = core.stats(0);
      // The entry limit is reached: one more entry must evict one, after at most `chances` moves
      // (s3fifo: the small queue's oldest, hit, moves to main, whose full queue makes room so).
      expect(core.set(enc.encode('new'), new Uint8Array(16), 0, 0)).toBe(abi.OK);
      const after = core.stats(0);
      expect(after.moves - before.moves).toBe(chances + (policy === abi.POLICY_S3FIFO ? 1 : 0));
      expect(after.evictions - before.evictions).toBe(1);
      // The victim is the oldest entry after the ones moved: k<chances>.
      expect(core.drain()).toEqual([[abi.REASON_EVICT, Buffer.from(`k${chances}`).toString('hex'), '']]);
      expect(core.check()).toBe(0);
    });
  }
});

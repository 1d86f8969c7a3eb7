// Differential property test: random operation sequences against ArenaCache and the reference
// model must give the same results, the same counters, the same evictions (keys, values and
// reasons, in order) and the same contents; after each sequence the core's invariant checker walks
// every segment. The sequences drive every public method: single-key calls, getInto, getMany and
// setMany (ASCII, non-ASCII and byte keys and values, up to the I/O area's size), partial sweeps,
// purges, transfers of returned values, bad arguments (which must change nothing), iteration in
// every form (order and contents against the model's, and no promotion or counting: the later
// steps and counters would differ), and onEvict callbacks that call back into the cache, on
// private arenas and on the shared build.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ArenaCache } from '../../src/core/index.js';
import type { EvictionPolicy, EvictReason } from '../../src/core/types.js';
import { ModelCache, hex } from './model.js';
import { coreShapeOf, hostShapeOf } from './policy-model/shape.js';

const enc = new TextEncoder();

// ---- keys and values ------------------------------------------------------------------------

type ValueKind = 'bytes' | 'ascii' | 'utf8';
interface ValueSpec { size: number; kind: ValueKind }

interface Shape {
  maxKeyBytes: number;
  /** Some keys are this long (near maxKeyBytes), 0 for none. */
  longKeys: number;
}

/** Key `k` as passed to the cache (string or bytes), and its bytes. */
function keyOf(k: number, shape: Shape): { key: string | Uint8Array; bytes: Uint8Array } {
  let key: string | Uint8Array;
  if (k === 0) key = new Uint8Array(0);
  else if (shape.longKeys > 0 && k % 5 === 3) key = `${k}:`.padEnd(shape.longKeys - (k % 17), 'L');
  else if (k % 7 === 0) key = Uint8Array.of(0xff, 0xfe, k & 0xff, (k >> 8) & 0xff);
  else if (k % 5 === 1) key = `ключ-${k}`;
  else if (k % 3 === 2) key = enc.encode(`key-${k}`);
  else key = `key-${k}`;
  return { key, bytes: typeof key === 'string' ? enc.encode(key) : key };
}

const UTF8_CHARS = ['é', '€', '😀', 'a', 'ж'];

/** A value of about `size` bytes (exactly `size` for bytes and ASCII). */
function valueOf(spec: ValueSpec, seed: number): { value: string | Uint8Array; bytes: Uint8Array } {
  let value: string | Uint8Array;
  if (spec.kind === 'bytes') {
    value = new Uint8Array(spec.size);
    for (let i = 0; i < spec.size; i++) value[i] = (seed * 31 + i * 7) & 0xff;
  } else if (spec.kind === 'ascii') {
    value = String.fromCharCode(97 + (seed % 26)).repeat(spec.size);
  } else {
    let s = '';
    let bytes = 0;
    for (let i = seed; bytes + 4 <= spec.size; i++) {
      const c = UTF8_CHARS[i % UTF8_CHARS.length];
      s += c;
      bytes += enc.encode(c).length;
    }
    value = s.padEnd(s.length + (spec.size - bytes), 'z');
  }
  return { value, bytes: typeof value === 'string' ? enc.encode(value) : value };
}

// ---- operations -----------------------------------------------------------------------------

type Op =
  | { op: 'set'; key: number; value: ValueSpec; ttl?: number }
  | { op: 'get' | 'peek' | 'has' | 'delete' | 'transfer'; key: number }
  | { op: 'getInto'; key: number; room: number; offset: number }
  | { op: 'getMany'; keys: number[] }
  | { op: 'setMany'; entries: { key: number; value: ValueSpec; ttl?: number }[] }
  | { op: 'sweep'; steps: number }
  | { op: 'purge' }
  | { op: 'clear' }
  | { op: 'bad'; which: number; key: number }
  | { op: 'iterate'; which: IterationKind }
  | { op: 'none' };

const ITERATIONS = ['entries', 'keys', 'values', 'rentries', 'rkeys', 'rvalues', 'forEach', 'rforEach', 'spread'] as const;
type IterationKind = (typeof ITERATIONS)[number];
/** The kinds that walk most recent first under lru (keys/values/entries/forEach and the iterator). */
const NEWEST_FIRST = new Set<IterationKind>(['entries', 'keys', 'values', 'forEach', 'spread']);

type Step = Op & { thread: number };
type TopOp = Step | { op: 'tick'; ms: number; thread: number };

interface Config {
  name: string;
  policy: EvictionPolicy;
  /** onEvict's reasons (default: evictions and expirations). */
  reasons?: EvictReason[];
  segments: number;
  maxBytes: number;
  maxKeyBytes: number;
  maxValueBytes?: number;
  ttl: number;
  keys: number;
  /** Typical value sizes are up to this; a few go up to the limit and one past it. */
  typical: number;
  longKeys: number;
  shared: boolean;
  runs: number;
  length: number;
}

function opArb(cfg: Config, maxValue: number, nested: boolean): fc.Arbitrary<Op> {
  const size = fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0, max: cfg.typical }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: maxValue }) },
    { weight: 2, arbitrary: fc.integer({ min: Math.max(0, maxValue - 300), max: maxValue + 1 }) },
  );
  const value = fc.record({ size, kind: fc.constantFrom<ValueKind>('bytes', 'ascii', 'utf8') });
  const key = fc.integer({ min: 0, max: cfg.keys - 1 });
  const ttl = fc.option(fc.integer({ min: 0, max: 50 }), { nil: undefined });
  const w = nested ? 0 : 1;
  // A long key first, then many short ones: the batch layout's tightest case.
  const longIds = Array.from({ length: cfg.keys }, (_, k) => k).filter((k) => cfg.longKeys > 0 && k % 5 === 3);
  const longFirst = longIds.length === 0
    ? fc.constant({ op: 'none' as const })
    : fc.record({
      op: fc.constant('getMany' as const),
      keys: fc.tuple(fc.constantFrom(...longIds), fc.array(key, { minLength: 10, maxLength: 60 })).map(([l, rest]) => [l, ...rest]),
    });
  return fc.oneof(
    { weight: longIds.length === 0 ? 0 : 6, arbitrary: longFirst },
    { weight: 60, arbitrary: fc.record({ op: fc.constant('set' as const), key, value, ttl }) },
    { weight: 50, arbitrary: fc.record({ op: fc.constantFrom('get' as const, 'peek' as const, 'has' as const, 'delete' as const), key }) },
    { weight: 10, arbitrary: fc.record({ op: fc.constant('getInto' as const), key, room: fc.integer({ min: 0, max: cfg.typical * 2 }), offset: fc.integer({ min: 0, max: 9 }) }) },
    { weight: 12, arbitrary: fc.record({ op: fc.constant('getMany' as const), keys: fc.array(key, { maxLength: 40 }) }) },
    { weight: 10, arbitrary: fc.record({ op: fc.constant('setMany' as const), entries: fc.array(fc.record({ key, value, ttl }), { maxLength: 8 }) }) },
    { weight: 8, arbitrary: fc.record({ op: fc.constant('sweep' as const), steps: fc.integer({ min: 0, max: 60 }) }) },
    { weight: 3, arbitrary: fc.constant({ op: 'purge' as const }) },
    { weight: 4 * w, arbitrary: fc.record({ op: fc.constant('transfer' as const), key }) },
    { weight: 4 * w, arbitrary: fc.record({ op: fc.constant('bad' as const), which: fc.nat(), key }) },
    { weight: 1 * w, arbitrary: fc.constant({ op: 'clear' as const }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('iterate' as const), which: fc.constantFrom(...ITERATIONS) }) },
    { weight: nested ? 40 : 0, arbitrary: fc.constant({ op: 'none' as const }) },
  );
}

function sequenceArb(cfg: Config, maxValue: number) {
  const thread = fc.integer({ min: 0, max: cfg.shared ? 1 : 0 });
  const step = fc.tuple(opArb(cfg, maxValue, false), thread).map(([o, t]) => ({ ...o, thread: t }) as Step);
  const tick = fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 30 }), thread: fc.constant(0) });
  return fc.record({
    ops: fc.array(fc.oneof({ weight: 9, arbitrary: step }, { weight: 1, arbitrary: tick }) as fc.Arbitrary<TopOp>, {
      minLength: 1, maxLength: cfg.length, size: 'max',
    }),
    // What onEvict does for the i-th record delivered: calls back into the cache (or not).
    plan: fc.array(opArb(cfg, maxValue, true), { maxLength: 30 }),
  });
}

// ---- running an operation on the model and on the cache --------------------------------------

type Result = unknown;

interface World {
  cfg: Config;
  model: ModelCache;
  now: () => number;
  shape: Shape;
  /** The thread of the step being run (onEvict's calls run on the thread whose call evicted). */
  thread: number;
}

/** Fixes what a step depends on in the model's state (getMany's keys must fit one eviction log). */
function shapeStep(w: World, o: Op): Op {
  if (o.op !== 'getMany') return o;
  const keep = w.model.fitLog(o.keys.map((k) => keyOf(k, w.shape).bytes), w.now());
  return { ...o, keys: o.keys.filter((_, i) => keep[i]) };
}

const view = (v: Uint8Array | undefined) => (v === undefined ? undefined : hex(v));

function runModel(w: World, o: Op): Result {
  const { model } = w;
  const now = w.now();
  const k = (n: number) => keyOf(n, w.shape).bytes;
  switch (o.op) {
    case 'set': {
      const v = valueOf(o.value, o.key).bytes;
      return model.set(k(o.key), v, o.ttl, now) ? 'ok' : 'refused';
    }
    case 'get':
    case 'transfer':
      return view(model.get(k(o.key), now));
    case 'peek':
      return view(model.peek(k(o.key), now));
    case 'has':
      return model.has(k(o.key), now);
    case 'delete':
      return model.delete(k(o.key), now);
    case 'getInto': {
      const v = model.get(k(o.key), now);
      if (v === undefined) return -1;
      if (v.length > o.room) return 'too small';
      return view(v);
    }
    case 'getMany':
      return model.getMany(o.keys.map(k), now).map(view);
    case 'setMany': {
      const entries = o.entries.map((e) => [k(e.key), valueOf(e.value, e.key).bytes, e.ttl] as [Uint8Array, Uint8Array, number | undefined]);
      return model.setMany(entries, now) ? 'ok' : 'refused';
    }
    case 'sweep':
      return model.sweep(o.steps, now, w.thread);
    case 'purge':
      return model.purgeStale(now);
    case 'clear':
      model.clear();
      return 'ok';
    case 'bad':
      return 'threw';
    case 'iterate': {
      // Under lru keys()/entries() walk most recent first; clock and s3fifo have one order.
      const order = model.iteration(w.cfg.policy === 'lru' && NEWEST_FIRST.has(o.which), now);
      return order.map(({ key, value }) => {
        if (o.which.endsWith('keys')) return key;
        if (o.which.endsWith('values')) return value;
        return `${key}=${value}`;
      });
    }
    case 'none':
      return undefined;
  }
}

/** The cache's iteration of kind `which`, as the model renders it. */
function iterate(c: ArenaCache, which: IterationKind): string[] {
  const pair = (k: Uint8Array, v: Uint8Array) => `${hex(k)}=${hex(v)}`;
  const out: string[] = [];
  switch (which) {
    case 'entries': for (const [k, v] of c.entries()) out.push(pair(k, v)); break;
    case 'rentries': for (const [k, v] of c.rentries()) out.push(pair(k, v)); break;
    case 'keys': for (const k of c.keys()) out.push(hex(k)); break;
    case 'rkeys': for (const k of c.rkeys()) out.push(hex(k)); break;
    case 'values': for (const v of c.values()) out.push(hex(v)); break;
    case 'rvalues': for (const v of c.rvalues()) out.push(hex(v)); break;
    case 'forEach': c.forEach((v, k, self) => { expect(self).toBe(c); out.push(pair(k, v)); }); break;
    case 'rforEach': c.rforEach((v, k) => out.push(pair(k, v))); break;
    case 'spread': for (const [k, v] of [...c]) out.push(pair(k, v)); break;
  }
  return out;
}

function runCache(w: World, c: ArenaCache, o: Op): Result {
  const k = (n: number) => keyOf(n, w.shape).key;
  const options = (ttl: number | undefined) => (ttl === undefined ? undefined : { ttl });
  switch (o.op) {
    case 'set': {
      const v = valueOf(o.value, o.key).value;
      try {
        c.set(k(o.key), v, options(o.ttl));
        return 'ok';
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        return 'refused';
      }
    }
    case 'get':
      return view(c.get(k(o.key)));
    case 'transfer': {
      const v = c.get(k(o.key));
      if (v === undefined) return undefined;
      const copy = hex(v);
      // Transferring detaches the buffer (a pool shared with other values): the cache must not reuse it.
      const moved = structuredClone(v, { transfer: [v.buffer as ArrayBuffer] });
      expect(hex(moved)).toBe(copy);
      return copy;
    }
    case 'peek':
      return view(c.peek(k(o.key)));
    case 'has':
      return c.has(k(o.key));
    case 'delete':
      return c.delete(k(o.key));
    case 'getInto': {
      const target = new Uint8Array(o.offset + o.room).fill(0xee);
      let n: number;
      try {
        n = c.getInto(k(o.key), target, o.offset);
      } catch (e) {
        expect(String(e)).toMatch(/RangeError: getInto: the value is \d+ bytes/);
        expect(target.every((b) => b === 0xee)).toBe(true);
        return 'too small';
      }
      if (n < 0) return -1;
      expect(target.subarray(0, o.offset).every((b) => b === 0xee)).toBe(true);
      expect(target.subarray(o.offset + n).every((b) => b === 0xee)).toBe(true);
      return hex(target.subarray(o.offset, o.offset + n));
    }
    case 'getMany':
      return c.getMany(o.keys.map(k)).map(view);
    case 'setMany': {
      const entries = o.entries.map((e) => [k(e.key), valueOf(e.value, e.key).value, options(e.ttl)] as const);
      try {
        c.setMany(entries as never);
        return 'ok';
      } catch (e) {
        expect(e).toBeInstanceOf(RangeError);
        return 'refused';
      }
    }
    case 'sweep':
      return c.sweep(o.steps);
    case 'purge':
      return c.purgeStale();
    case 'clear':
      c.clear();
      return 'ok';
    case 'bad': {
      const key = k(o.key);
      const calls: (() => unknown)[] = [
        () => c.getMany([key, key, 42 as never]),
        () => c.getMany([...Array.from({ length: 300 }, (_, i) => k(i % w.cfg.keys)), 'x'.repeat(w.cfg.maxKeyBytes + 1)]),
        () => c.getInto(key, new Uint8Array(8), 1.5),
        () => c.getInto(key, new Uint16Array(8) as never),
        () => c.set(key, 'v', 5 as never),
        () => c.set(key, 'v', { ttl: -1 }),
        () => c.setMany([[key, 'v'], [key, 5 as never]]),
        () => c.setMany([[key, 'v'], ['x'.repeat(w.cfg.maxKeyBytes + 1), 'v']]),
        () => c.sweep(-1),
        () => c.get(null as never),
        () => c.getMany('abc' as never),
        () => c.has(new Uint16Array(2) as never),
      ];
      expect(calls[o.which % calls.length]).toThrow(/must|between|bytes/);
      return 'threw';
    }
    case 'iterate':
      return iterate(c, o.which);
    case 'none':
      return undefined;
  }
}

// ---- one sequence ---------------------------------------------------------------------------

/** Calls onEvict makes back into the cache per top-level step, at most. */
const NESTED = 8;

async function runSequence(cfg: Config, ops: TopOp[], plan: Op[]): Promise<number> {
  let now = 1_000;
  const shape: Shape = { maxKeyBytes: cfg.maxKeyBytes, longKeys: cfg.longKeys };
  const evicted: [string, string, string][] = [];
  // What each delivered record's callback did in the model (the cache's callback repeats it).
  const executed: { op: Op; result: Result }[] = [];
  const caches: ArenaCache[] = [];
  const onEvictFor = (thread: number) => (key: Uint8Array, value: Uint8Array, reason: string) => {
    const i = evicted.length;
    evicted.push([hex(key), hex(value), reason]);
    const done = executed[i];
    if (done !== undefined) expect(runCache(world, caches[thread], done.op), `callback ${i}: ${JSON.stringify(done.op)}`).toEqual(done.result);
  };
  const seed = [0x01234567, 0x89abcdef, 0x0badf00d, 0xdeadbeef] as const;
  const reasons = cfg.reasons ?? ['evict', 'expire'];
  const epoch = now;
  const base = {
    maxBytes: cfg.maxBytes, segments: cfg.segments, ttl: cfg.ttl, maxKeyBytes: cfg.maxKeyBytes, clock: () => now, sweepIntervalMs: 0,
    policy: cfg.policy, seed, disposeReasons: reasons,
  };
  const limits = cfg.maxValueBytes === undefined ? {} : { maxValueBytes: cfg.maxValueBytes };
  if (cfg.shared) {
    const { cache, handle } = await ArenaCache.createShared({ ...base, ...limits, threads: 2, onEvict: onEvictFor(0) });
    caches.push(cache, await ArenaCache.attach(handle, { clock: () => now, onEvict: onEvictFor(1), disposeReasons: reasons }));
  } else {
    caches.push(await ArenaCache.create({ ...base, ...limits, onEvict: onEvictFor(0) }));
  }
  const c0 = caches[0];
  const removals = reasons.includes('delete') || reasons.includes('set');
  const model = new ModelCache(
    coreShapeOf(c0, { seed, epoch, defaultTtl: cfg.ttl, logs: true, removals }),
    hostShapeOf(c0, true, reasons),
  );
  const world: World = { cfg, model, now: () => now, shape, thread: 0 };
  // The plan is used round-robin, at most NESTED calls per top-level step (a callback's own calls
  // may evict again: this bounds the cascade).
  let budget = 0;
  let next = 0;
  model.onRecord = (_r, i) => {
    if (plan.length === 0 || budget === 0) return;
    budget--;
    const op = shapeStep(world, plan[next++ % plan.length]);
    executed[i] = { op, result: runModel(world, op) };
  };
  try {
    for (const [i, top] of ops.entries()) {
      const where = `op ${i} ${JSON.stringify(top)}`;
      if (top.op === 'tick') {
        now += top.ms;
        continue;
      }
      world.thread = top.thread;
      budget = NESTED;
      const o = shapeStep(world, top);
      const expected = runModel(world, o);
      expect(runCache(world, caches[top.thread], o), where).toEqual(expected);
      expect(evicted.length, where).toBe(model.delivered.length);
      expect(c0.size, where).toBe(model.size);
      expect(c0.bytes, where).toBe(model.bytes);
    }
    for (const c of caches) c.checkIntegrity();
    // Same evictions, values included, in the same order.
    expect(evicted).toEqual(model.delivered.map((r) => [hex(r.key), hex(r.value), r.reason]));
    // Same counters (read before the contents check below, which may expire entries).
    const s = c0.stats();
    const { hits, misses, sets, deletes, evictions, expirations, rejected } = s;
    expect({ hits, misses, sets, deletes, evictions, expirations, rejected }).toEqual(model.counters);
    expect(s.bytesUsed).toBeLessThanOrEqual(s.budget);
    for (const seg of s.segments) expect(seg.bytesUsed).toBeLessThanOrEqual(seg.budget);
    // Same contents: every live entry of the model is in the cache with the same bytes.
    for (const e of model.allEntries()) {
      if (e.expires === 0 || e.expires > now) expect(c0.peek(e.key)).toEqual(e.value);
    }
    return s.moves;
  } finally {
    for (const c of caches.slice().reverse()) c.close();
  }
}

// ---- the properties -------------------------------------------------------------------------

const CONFIGS: Config[] = [
  { name: 'a small arena (4 segments, tight budget)', policy: 'lru', segments: 4, maxBytes: 4 * 4096, maxKeyBytes: 64, ttl: 0, keys: 300, typical: 200, longKeys: 0, shared: false, runs: 40, length: 300 },
  { name: 'a small arena, clock, with deletes and replacements reported', policy: 'clock', reasons: ['evict', 'expire', 'delete', 'set'], segments: 4, maxBytes: 4 * 4096, maxKeyBytes: 64, ttl: 0, keys: 300, typical: 200, longKeys: 0, shared: false, runs: 30, length: 300 },
  { name: 'a small arena, s3fifo', policy: 's3fifo', segments: 4, maxBytes: 4 * 4096, maxKeyBytes: 64, ttl: 0, keys: 300, typical: 200, longKeys: 0, shared: false, runs: 30, length: 300 },
  { name: 'a default TTL and a single segment', policy: 'clock', segments: 1, maxBytes: 8192, maxKeyBytes: 64, ttl: 40, keys: 100, typical: 200, longKeys: 0, shared: false, runs: 40, length: 300 },
  { name: 'many keys and 16 segments (moves: second chances and promotions)', policy: 's3fifo', segments: 16, maxBytes: 16 * 2048, maxKeyBytes: 64, ttl: 0, keys: 300, typical: 120, longKeys: 0, shared: false, runs: 40, length: 400 },
  // Values up to the I/O area's size: batches span several areas and calls, the log holds one record.
  { name: 'values as large as the I/O area', policy: 'lru', segments: 2, maxBytes: 512 * 1024, maxKeyBytes: 1024, maxValueBytes: 70_000, ttl: 0, keys: 40, typical: 20_000, longKeys: 1000, shared: false, runs: 15, length: 80 },
  // Keys as large as the I/O area: getMany batches of one long key.
  { name: 'keys as large as the I/O area', policy: 'clock', segments: 1, maxBytes: 1 << 20, maxKeyBytes: 65535, maxValueBytes: 64, ttl: 0, keys: 60, typical: 64, longKeys: 65535, shared: false, runs: 20, length: 80 },
  { name: 'the shared build, two threads', policy: 's3fifo', reasons: ['evict', 'expire', 'set'], segments: 4, maxBytes: 4 * 8192, maxKeyBytes: 64, ttl: 0, keys: 200, typical: 300, longKeys: 0, shared: true, runs: 20, length: 200 },
];

describe('ArenaCache against the reference model', () => {
  for (const cfg of CONFIGS) {
    it(`random sequences: ${cfg.name}`, async () => {
      // The value limit as the core caps it: probe one cache.
      const probe = await ArenaCache.create({ maxBytes: cfg.maxBytes, segments: cfg.segments, maxKeyBytes: cfg.maxKeyBytes, policy: cfg.policy, ...(cfg.maxValueBytes === undefined ? {} : { maxValueBytes: cfg.maxValueBytes }), sweepIntervalMs: 0 });
      const maxValue = probe.maxValueBytes;
      probe.close();
      let moves = 0;
      await fc.assert(
        fc.asyncProperty(sequenceArb(cfg, maxValue), async ({ ops, plan }) => {
          moves += await runSequence(cfg, ops, plan);
        }),
        { numRuns: cfg.runs },
      );
      // The 16-segment config must have moved entries (second chances, promotions), or it proves less than it says.
      if (cfg.segments === 16) expect(moves).toBeGreaterThan(0);
    });
  }
});

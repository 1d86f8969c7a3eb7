// Snapshots (dump/dumpChunks → load/loadChunks/ArenaCache.load): round trips keep contents, order
// and remaining TTLs; other sizes, segment counts and policies; streams cut anywhere, files through
// Node streams; and damage: every truncation point and every flipped byte of a small snapshot,
// another format, bytes after the end — each refused with a SnapshotError, the target unchanged.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArenaCache, SnapshotError } from '../../src/core/index.js';
import { HeaderField, TrailerField } from '../../src/core/snapshot-format.js';
import type { ArenaCacheOptions, EvictionPolicy } from '../../src/core/types.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const SEED = [9, 8, 7, 6] as const;
const POLICIES: EvictionPolicy[] = ['lru', 'clock', 's3fifo'];

function clockAt(t: number) {
  const clock = { now: t };
  return { clock, read: () => clock.now };
}

const make = (extra: Partial<ArenaCacheOptions> = {}) =>
  ArenaCache.create({ maxBytes: 1 << 20, sweepIntervalMs: 0, seed: SEED, ...extra });

/** Everything a load could change: each entry with its value and remaining TTL, and the totals. */
function contents(c: ArenaCache): { entries: string[]; size: number; bytes: number } {
  const entries = [...c.rentries()].map(([k, v]) => `${text(k)}=${text(v)}@${c.getRemainingTTL(k)}`).sort();
  return { entries, size: c.size, bytes: c.bytes };
}

function concat(chunks: Iterable<Uint8Array>): Uint8Array {
  const list = [...chunks];
  const out = new Uint8Array(list.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of list) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The keys of a snapshot's records, in stream order (read here independently of the reader). */
function recordKeys(snap: Uint8Array): string[] {
  const dv = new DataView(snap.buffer, snap.byteOffset, snap.byteLength);
  const keys: string[] = [];
  for (let p = 64; dv.getUint32(p, true) !== 0xffff_ffff;) {
    const klen = dv.getUint32(p, true);
    const vlen = dv.getUint32(p + 4, true);
    keys.push(text(snap.subarray(p + 24, p + 24 + klen)));
    p += Math.ceil((24 + klen + vlen) / 8) * 8;
  }
  return keys;
}

async function filled(policy: EvictionPolicy, n: number, extra: Partial<ArenaCacheOptions> = {}) {
  const t = clockAt(50_000);
  const c = await make({ policy, clock: t.read, ...extra });
  for (let i = 0; i < n; i++) c.set(`k${i}`, `v${i}:${'x'.repeat(i % 17)}`, i % 3 === 0 ? { ttl: 1000 + i } : undefined);
  for (let i = 0; i < n; i += 5) c.get(`k${i}`);
  return { c, t };
}

describe('round trips', () => {
  it('contents, remaining TTLs and order come back (same options)', async () => {
    for (const policy of POLICIES) {
      const { c, t } = await filled(policy, 300, { segments: 4 });
      const snap = c.dump();
      const d = await ArenaCache.load(snap, { maxBytes: 1 << 20, sweepIntervalMs: 0, seed: SEED, policy, segments: 4, clock: t.read });
      expect(contents(d), policy).toEqual(contents(c));
      // lru and clock rebuild each segment's order exactly; s3fifo places the entries in its
      // queues anew (new keys go to main while it has room), keeping each queue's order.
      if (policy !== 's3fifo') expect([...d.rkeys()].map(text), policy).toEqual([...c.rkeys()].map(text));
      d.checkIntegrity();
    }
  });

  it('TTLs count down the time since the dump; entries whose time is up are not stored', async () => {
    const { c, t } = await filled('lru', 60);
    const snap = c.dump();
    const later = clockAt(t.clock.now + 1030); // k0 (1000), k3 (1003), ..., k30 (1030) have expired
    const d = await make({ policy: 'lru', clock: later.read });
    expect(d.load(snap)).toEqual({ loaded: 60 - 11, expired: 11, skipped: 0, overflow: 0 });
    for (let i = 0; i < 60; i++) {
      const left = d.getRemainingTTL(`k${i}`);
      if (i % 3 !== 0) expect(left).toBe(0);
      else if (i <= 30) expect(left, `k${i}`).toBeUndefined();
      else expect(left).toBe(1000 + i - 1030);
    }
    // A clock behind the dump's counts no time.
    const early = await make({ clock: () => 0 });
    early.load(snap);
    expect(early.getRemainingTTL('k3')).toBe(1003);
  });

  it('dump() and the concatenated dumpChunks() are the same bytes; an empty cache makes a valid snapshot', async () => {
    const { c } = await filled('s3fifo', 200, { segments: 8 });
    expect(concat(c.dumpChunks())).toEqual(c.dump());
    const empty = await make();
    const snap = empty.dump();
    expect(snap.length).toBe(64 + 24);
    const info = await ArenaCache.checkSnapshot(snap);
    expect(info).toMatchObject({ format: 1, entries: 0, bytes: 0, policy: 's3fifo', segments: 16, maxBytes: 1 << 20, abi: 2 });
    expect((await make()).load(snap)).toEqual({ loaded: 0, expired: 0, skipped: 0, overflow: 0 });
  });

  it('checkSnapshot tells what the snapshot holds', async () => {
    const t = clockAt(123_456);
    const c = await make({ policy: 'clock', segments: 2, clock: t.read, maxBytes: 1 << 19 });
    c.set('a', 'xyz').set('bb', 'q');
    expect(await ArenaCache.checkSnapshot(c.dump())).toEqual({
      format: 1, createdAt: 123_456, policy: 'clock', segments: 2, maxBytes: 1 << 19, abi: 2, entries: 2, bytes: 32 + 32,
    });
  });
});

describe('s3fifo', () => {
  async function withSmallQueue(n: number) {
    const c = await make({ policy: 's3fifo', segments: 1, maxBytes: 64 * 1024, maxEntries: 100 });
    let i = 0;
    while (c.stats().smallEntries < n) c.set(`k${i++}`, 'v'.repeat(20));
    expect(c.stats().evictions).toBe(0);
    return { c, keys: i, small: c.stats().smallEntries };
  }

  it('a dump lists main\'s entries, then the small queue\'s, so that a load rebuilds both queues', async () => {
    const { c, keys, small } = await withSmallQueue(10);
    // New keys fill main first, so the small queue holds the last `small` keys.
    const inSmall = Array.from({ length: small }, (_, i) => `k${keys - small + i}`);
    const inMain = Array.from({ length: keys - small }, (_, i) => `k${i}`);
    expect(recordKeys(c.dump())).toEqual([...inMain, ...inSmall]);
    const d = await ArenaCache.load(c.dump(), { maxBytes: 64 * 1024, maxEntries: 100, segments: 1, policy: 's3fifo', sweepIntervalMs: 0, seed: SEED });
    expect(d.stats().smallEntries).toBe(small);
    expect([...d.rkeys()].map(text)).toEqual([...c.rkeys()].map(text));
  });

  it('entries moving from the small queue to main while the dump runs are not missed', async () => {
    const { c, keys, small } = await withSmallQueue(10);
    const inSmall = Array.from({ length: small }, (_, i) => `k${keys - small + i}`);
    const { scanner, io } = c as unknown as { scanner: { spans(flags: number, mainFirst: boolean): Iterable<{ from: number; to: number; count: number }> }; io: { u8: Uint8Array } };
    const seen = new Set<string>();
    let moved = false;
    for (const { from, count } of scanner.spans(1 /* values */, true)) {
      const dv = new DataView(io.u8.buffer);
      for (let p = from, i = 0; i < count; i++) {
        const klen = dv.getUint32(p, true);
        const vlen = dv.getUint32(p + 4, true);
        seen.add(text(io.u8.slice(p + 24, p + 24 + klen)));
        p += Math.ceil((24 + klen + vlen) / 8) * 8;
      }
      if (!moved && seen.size > keys - small) {
        // Main is done and the small queue's walk has begun: every small entry is hit, then new
        // keys make the small queue move them to main (behind the finished walk of main) as it
        // makes room. Only the last part of the dump (main again, from where it ended) finds them.
        moved = true;
        for (const k of inSmall) c.get(k);
        for (let i = 0; c.stats().smallEntries > 0 && i < 200; i++) c.set(`new${i}`, 'v'.repeat(20));
      }
    }
    expect(moved).toBe(true);
    for (const k of inSmall) expect(c.has(k), k).toBe(true);
    for (let i = 0; i < keys; i++) if (c.has(`k${i}`)) expect(seen, `k${i}`).toContain(`k${i}`);
  });
});

describe('into another cache', () => {
  it('another policy or segment count: the same contents when it is big enough', async () => {
    for (const from of POLICIES) {
      const { c, t } = await filled(from, 250, { segments: 8 });
      const snap = c.dump();
      for (const to of POLICIES) {
        for (const segments of [1, 2, 32]) {
          const d = await make({ policy: to, segments, maxBytes: 4 << 20, seed: [1, 1, 1, 1], clock: t.read });
          d.load(snap);
          // bytes: an entry's cost depends on the policy (its header).
          expect(contents(d).entries, `${from} → ${to} × ${segments}`).toEqual(contents(c).entries);
          if (to === from) expect(d.bytes).toBe(c.bytes);
        }
      }
    }
  });

  it('smaller: the most recent entries that fit are kept, in order; the earliest are left out, not stored to be evicted', async () => {
    for (const policy of POLICIES) {
      const c = await make({ policy, segments: 1 });
      for (let i = 0; i < 400; i++) c.set(`k${i}`, 'v'.repeat(40));
      for (let i = 0; i < 400; i += 7) c.get(`k${i}`);
      const order = [...c.rkeys()].map(text);
      const evicted: string[] = [];
      const d = await make({ policy, segments: 1, maxBytes: 8192, onEvict: (k) => evicted.push(text(k)) });
      const r = d.load(c.dump());
      const kept = [...d.rkeys()].map(text);
      expect(kept.length, policy).toBeGreaterThan(50);
      // The snapshot's last records (s3fifo dumps main, then the small queue).
      const dumped = recordKeys(c.dump());
      const tail = new Set(dumped.slice(dumped.length - r.loaded));
      expect(kept.every((k) => tail.has(k)), policy).toBe(true);
      expect(r.overflow + r.loaded, policy).toBe(400);
      if (policy !== 's3fifo') {
        expect(kept, policy).toEqual(order.slice(order.length - kept.length));
        // The estimate fits this one segment: nothing was stored only to be evicted.
        expect(evicted, policy).toEqual([]);
      } else {
        // Its small queue holds a little less than the budget: a record or two may go again.
        expect(evicted.length, policy).toBeLessThanOrEqual(2);
      }
      expect(d.size).toBe(r.loaded - evicted.length);
    }
  });

  it('smaller, other segment count and seed: what is kept is the most recent (to within the interleaving)', async () => {
    const c = await make({ policy: 'lru', segments: 16 });
    for (let i = 0; i < 4000; i++) c.set(`k${i}`, 'v'.repeat(40));
    const d = await make({ policy: 'lru', segments: 4, maxBytes: 64 * 1024, seed: [5, 5, 5, 5] });
    d.load(c.dump());
    const kept = [...d.keys()].map((k) => Number(text(k).slice(1)));
    expect(kept.length).toBeGreaterThan(500);
    // Inserted in order k0..k3999: the kept ones are the newest, give or take the segments' imbalance.
    const newest = 4000 - kept.length;
    const outside = kept.filter((i) => i < newest).length;
    expect(outside / kept.length).toBeLessThan(0.1);
    expect(Math.min(...kept)).toBeGreaterThan(newest - kept.length * 0.3);
  });

  it('entries over the target\'s limits are skipped and counted', async () => {
    const c = await make();
    c.set('small', 'v').set('big', 'x'.repeat(5000)).set('k'.repeat(200), 'v');
    const d = await make({ maxValueBytes: 1000, maxKeyBytes: 100 });
    expect(d.load(c.dump())).toEqual({ loaded: 1, expired: 0, skipped: 2, overflow: 0 });
    expect(contents(d).entries).toEqual(['small=v@0']);
  });

  it('a load replaces existing values and reports them with disposeReasons', async () => {
    const c = await make();
    c.set('a', 'new');
    const heard: string[] = [];
    const d = await make({ disposeReasons: ['set'], onEvict: (k, v, why) => heard.push(`${text(k)}=${text(v)}:${why}`) });
    d.set('a', 'old').set('b', 'kept');
    d.load(c.dump());
    expect(contents(d).entries).toEqual(['a=new@0', 'b=kept@0']);
    expect(heard).toEqual(['a=old:set']);
  });
});

describe('streams', () => {
  it('dumpChunks → loadChunks, the stream cut anywhere (property)', async () => {
    const { c, t } = await filled('lru', 120, { segments: 2, maxValueBytes: 4000 });
    c.set('large', 'L'.repeat(3500));
    const snap = c.dump();
    const want = contents(c);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: snap.length }), { maxLength: 12 }), fc.boolean(), async (cuts, asyncSource) => {
        const points = [0, ...cuts.sort((a, b) => a - b), snap.length];
        const pieces = points.slice(1).map((p, i) => snap.subarray(points[i], p));
        const d = await make({ policy: 'lru', segments: 2, maxValueBytes: 4000, clock: t.read });
        const source = asyncSource ? (async function* () { for (const p of pieces) yield p; })() : pieces;
        await d.loadChunks(source);
        expect(contents(d)).toEqual(want);
      }),
      { numRuns: 60 },
    );
  });

  it('to a file and back through Node streams (pipeline, a read stream, a function opening one)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arenacache-snap-'));
    try {
      const { c, t } = await filled('s3fifo', 3000, { segments: 8 });
      const path = join(dir, 'cache.snap');
      await pipeline(Readable.from(c.dumpChunks()), createWriteStream(path));
      expect(new Uint8Array(await readFile(path))).toEqual(c.dump());
      expect((await ArenaCache.checkSnapshot(createReadStream(path, { highWaterMark: 1000 }))).entries).toBe(3000);
      const opts = { maxBytes: 1 << 20, sweepIntervalMs: 0, seed: SEED, policy: 's3fifo' as const, segments: 8, clock: t.read };
      const a = await make(opts);
      await a.loadChunks(createReadStream(path, { highWaterMark: 777 }));
      const b = await make(opts);
      await b.loadChunks(() => createReadStream(path));
      const s = await ArenaCache.load(() => createReadStream(path), opts);
      for (const d of [a, b, s]) expect(contents(d)).toEqual(contents(c));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a dump consumed while the cache changes holds every entry present throughout', async () => {
    const c = await make({ policy: 'lru', segments: 4 });
    for (let i = 0; i < 2000; i++) c.set(`k${i}`, 'v');
    const chunks: Uint8Array[] = [];
    let i = 0;
    for (const chunk of c.dumpChunks()) {
      chunks.push(chunk);
      c.get(`k${(i * 37) % 2000}`); // promotions
      c.set(`new${i}`, 'n'); // insertions
      c.delete(`k${1000 + (i++ % 500)}`); // removals (k1000..k1499 are not "present throughout")
    }
    const d = await make({ policy: 'lru', segments: 4 });
    d.load(concat(chunks));
    for (let k = 0; k < 2000; k++) if (k < 1000 || k >= 1500) expect(d.has(`k${k}`), `k${k}`).toBe(true);
  });
});

describe('damage is refused and changes nothing', () => {
  /** A small snapshot, and a target with entries of its own (some with the same keys). */
  async function setup() {
    const t = clockAt(1000);
    const src = await make({ policy: 'lru', segments: 2, clock: t.read });
    src.set('a', 'alpha').set('b', 'beta', { ttl: 5000 }).set(Uint8Array.of(0xff, 0), 'bytes');
    const snap = src.dump();
    const target = await make({ policy: 'lru', segments: 2, clock: t.read });
    target.set('a', 'mine').set('z', 'zeta');
    const before = { ...contents(target), sets: target.stats().sets };
    const unchanged = () => expect({ ...contents(target), sets: target.stats().sets }).toEqual(before);
    return { snap, target, unchanged };
  }

  it('every truncation point: load, loadChunks of a function, checkSnapshot', async () => {
    const { snap, target, unchanged } = await setup();
    expect(snap.length).toBeLessThan(300);
    for (let n = 0; n < snap.length; n++) {
      const cut = snap.slice(0, n);
      expect(() => target.load(cut), `${n} bytes`).toThrow(SnapshotError);
      await expect(target.loadChunks(() => [cut.subarray(0, n >> 1), cut.subarray(n >> 1)]), `${n} bytes`).rejects.toThrow(SnapshotError);
      await expect(ArenaCache.checkSnapshot([cut])).rejects.toThrow(/snapshot: (truncated|not an arenacache snapshot)/);
      unchanged();
    }
    // The whole is fine (the loop above proves nothing if it is not).
    expect(target.load(snap).loaded).toBe(3);
  });

  it('every byte flipped (each bit pattern 0x01 and 0x80): load and loadChunks of a function', async () => {
    const { snap, target, unchanged } = await setup();
    for (let i = 0; i < snap.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = snap.slice();
        bad[i] ^= bit;
        expect(() => target.load(bad), `byte ${i} ^ ${bit}`).toThrow(SnapshotError);
        await expect(target.loadChunks(() => [bad]), `byte ${i}`).rejects.toThrow(SnapshotError);
        unchanged();
      }
    }
  });

  it('clear messages: another format, not a snapshot, bytes after the end, a bad checksum, a bad count', async () => {
    const { snap, target, unchanged } = await setup();
    const v2 = snap.slice();
    new DataView(v2.buffer).setUint32(HeaderField.FORMAT, 2, true);
    expect(() => target.load(v2)).toThrow('snapshot: format 2; this version of arenacache reads format 1');
    expect(() => target.load(new TextEncoder().encode('ARENAXXX'.padEnd(100, ' ')))).toThrow('not an arenacache snapshot (bad magic)');
    expect(() => target.load(concat([snap, Uint8Array.of(0)]))).toThrow(/1 bytes after the end/);
    const sum = snap.slice();
    const end = sum.length - 24;
    new DataView(sum.buffer).setUint32(end + TrailerField.CHECKSUM, new DataView(sum.buffer).getUint32(end + TrailerField.CHECKSUM, true) ^ 1, true);
    expect(() => target.load(sum)).toThrow('checksum mismatch');
    const count = snap.slice();
    new DataView(count.buffer).setUint32(end + TrailerField.RECORDS_LO, 4, true);
    expect(() => target.load(count)).toThrow('the trailer counts 4 records; the stream holds 3');
    expect(() => target.load(new Uint8Array(0))).toThrow('snapshot: truncated (0 bytes; the header alone is 64)');
    unchanged();
  });

  it('a stream read once: damage found at the end leaves an empty cache empty; a function source leaves any cache unchanged', async () => {
    const { snap, target, unchanged } = await setup();
    const bad = snap.slice();
    bad[bad.length - 24 + TrailerField.CHECKSUM] ^= 1; // found only after every record
    const empty = await make({ policy: 'lru', segments: 2 });
    await expect(empty.loadChunks([bad])).rejects.toThrow(SnapshotError);
    expect(empty.size).toBe(0);
    await expect(target.loadChunks(() => [bad])).rejects.toThrow('checksum mismatch');
    unchanged();
    // A stream read once into a cache with entries: records are applied an I/O area at a time, so
    // damage found at the end leaves a small snapshot unapplied, and a large one partly loaded.
    await expect(target.loadChunks([bad])).rejects.toThrow(SnapshotError);
    unchanged();
    const big = await make({ policy: 'lru', segments: 2, maxBytes: 8 << 20 });
    for (let i = 0; i < 3000; i++) big.set(`big${i}`, new Uint8Array(1000));
    const large = big.dump();
    large[large.length - 24 + TrailerField.CHECKSUM] ^= 1;
    await expect(target.loadChunks([large])).rejects.toThrow('checksum mismatch');
    expect([...target.rkeys()].filter((k) => text(k).startsWith('big')).length).toBeGreaterThan(100); // part of it
    // ArenaCache.load refuses too (and closes the cache it made).
    await expect(ArenaCache.load(bad, { maxBytes: 1 << 20 })).rejects.toThrow(SnapshotError);
  });

  it('bad arguments: TypeError before anything is read', async () => {
    const { target, unchanged } = await setup();
    expect(() => target.load('ARENASNP' as never)).toThrow(TypeError);
    expect(() => target.load([1, 2] as never)).toThrow(/load: snapshot must be a Uint8Array/);
    await expect(target.loadChunks(new Uint8Array(10) as never)).rejects.toThrow(/use load for one Uint8Array/);
    await expect(target.loadChunks('abc' as never)).rejects.toThrow(TypeError);
    await expect(target.loadChunks([1, 2, 3] as never)).rejects.toThrow(/snapshot chunks must be Uint8Arrays/);
    await expect(ArenaCache.checkSnapshot(42 as never)).rejects.toThrow(TypeError);
    await expect(ArenaCache.load(null as never, { maxBytes: 1 << 20 })).rejects.toThrow(TypeError);
    unchanged();
  });
});

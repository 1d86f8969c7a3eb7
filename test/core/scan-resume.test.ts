// The core's scan resumed after the segment changed between calls (docs/ABI.md section 8): every
// entry present throughout must come back, whatever moved. lru resumes from the last entry looked
// at; when that entry was promoted or replaced meanwhile it must start the segment over rather
// than continue from the entry's new place at the head (which skipped every entry in between).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as abi from '../../src/core/abi.generated.js';
import { RawCore } from './policy-model/raw-core.js';

const enc = new TextEncoder();
const key = (i: number) => enc.encode(`k${i}`);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One segment's scan, `chunk` records per call, calling `between(calls)` between calls. */
function scanWith(core: RawCore, flags: number, chunk: number, between: (call: number, last: Uint8Array) => void): string[] {
  const records = (abi.SCAN_KEY + core.shape.maxKey + 7) & ~7;
  const cursor = new Uint8Array(records);
  const out: string[] = [];
  core.dv.setUint32(core.io + abi.SCAN_STATE, abi.SCAN_START, true);
  for (let call = 0; call < 10_000; call++) {
    const n = core.ex.scan(0, 0, chunk, flags, 0);
    expect(n).toBeGreaterThanOrEqual(0);
    const dv = core.dv;
    let p = core.io + records;
    let last = new Uint8Array(0);
    for (let i = 0; i < n; i++) {
      const klen = dv.getUint32(p, true);
      const vlen = dv.getUint32(p + 4, true);
      last = core.u8.slice(p + abi.SCAN_RECORD_HEADER, p + abi.SCAN_RECORD_HEADER + klen);
      out.push(new TextDecoder().decode(last));
      p += (abi.SCAN_RECORD_HEADER + klen + vlen + 7) & ~7;
    }
    if (dv.getUint32(core.io + abi.SCAN_STATE, true) === abi.SCAN_DONE) return out;
    if (out.length > 100_000) break;
    cursor.set(core.u8.subarray(core.io, core.io + records));
    between(call, last);
    core.u8.set(cursor, core.io);
  }
  throw new Error('the scan does not finish');
}

async function lruCore(entries: number): Promise<RawCore> {
  const core = await RawCore.create({ policy: abi.POLICY_LRU, maxBytes: 1 << 20, segments: 1, maxKey: 32, maxValue: 64, now: 0 });
  for (let i = 0; i < entries; i++) expect(core.set(key(i), Uint8Array.of(i & 0xff), 0, 0)).toBe(abi.OK);
  return core;
}

describe('lru scan resumed after its cursor entry moved', () => {
  it('oldest first: promoting the last entry returned does not end the walk early', async () => {
    const core = await lruCore(100);
    const seen = scanWith(core, 0, 10, (_c, last) => expect(core.get(last, 0)).not.toBeNull());
    // Every entry comes back (the promoted ones again at the end, as the newest).
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: 100 }, (_, i) => `k${i}`)));
    expect(core.check()).toBe(0);
  });

  it('oldest first: promoting the cursor, then one entry returned before it, still misses nothing', async () => {
    const core = await lruCore(100);
    // The cursor moves to the head and is no longer the head when the scan resumes.
    const seen = scanWith(core, 0, 10, (c, last) => {
      expect(core.get(last, 0)).not.toBeNull();
      expect(core.get(key((c * 10) % 100), 0)).not.toBeNull();
    });
    expect(new Set(seen)).toEqual(new Set(Array.from({ length: 100 }, (_, i) => `k${i}`)));
  });

  it('oldest first: replacing the cursor (a new block, same size or not) restarts, missing nothing', async () => {
    for (const size of [1, 9]) {
      const core = await lruCore(60);
      const seen = scanWith(core, 0, 7, (_c, last) => expect(core.set(last, new Uint8Array(size), 0, 0)).toBe(abi.OK));
      expect(new Set(seen)).toEqual(new Set(Array.from({ length: 60 }, (_, i) => `k${i}`)));
    }
  });

  it('a scan left alone resumes where it stopped: no entry twice', async () => {
    const core = await lruCore(100);
    for (const flags of [0, abi.SCAN_NEWEST_FIRST]) {
      const seen = scanWith(core, flags, 7, () => {});
      expect(seen).toHaveLength(100);
      expect(new Set(seen).size).toBe(100);
    }
  });

  it('two interleaved scans keep their own marks (one resuming does not restart the other)', async () => {
    const core = await lruCore(50);
    const records = (abi.SCAN_KEY + core.shape.maxKey + 7) & ~7;
    const cursors = [new Uint8Array(records), new Uint8Array(records)];
    const seen: string[][] = [[], []];
    const done = [false, false];
    for (const c of cursors) new DataView(c.buffer).setUint32(abi.SCAN_STATE, abi.SCAN_START, true);
    while (!done[0] || !done[1]) {
      for (const w of [0, 1]) {
        if (done[w]) continue;
        core.u8.set(cursors[w], core.io);
        const n = core.ex.scan(0, 0, 3, w === 0 ? 0 : abi.SCAN_NEWEST_FIRST, 0);
        let p = core.io + records;
        for (let i = 0; i < n; i++) {
          const klen = core.dv.getUint32(p, true);
          const vlen = core.dv.getUint32(p + 4, true);
          seen[w].push(hex(core.u8.subarray(p + abi.SCAN_RECORD_HEADER, p + abi.SCAN_RECORD_HEADER + klen)));
          p += (abi.SCAN_RECORD_HEADER + klen + vlen + 7) & ~7;
        }
        cursors[w].set(core.u8.subarray(core.io, core.io + records));
        done[w] = core.dv.getUint32(core.io + abi.SCAN_STATE, true) === abi.SCAN_DONE;
      }
    }
    // Nothing moved: neither walk started over, so neither returned an entry twice.
    expect(seen[0]).toHaveLength(50);
    expect(seen[1]).toEqual([...seen[0]].reverse());
    expect(core.check()).toBe(0);
  });

  it('random changes between calls: every entry present throughout is returned (all policies)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(abi.POLICY_LRU, abi.POLICY_CLOCK, abi.POLICY_S3FIFO),
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        fc.array(fc.array(fc.record({ op: fc.constantFrom('get', 'get', 'set', 'remove'), k: fc.nat(79) }), { maxLength: 6 }), { maxLength: 60 }),
        async (policy, newest, chunk, plan) => {
          const core = await RawCore.create({ policy, maxBytes: 1 << 20, segments: 1, maxKey: 32, maxValue: 64, now: 0 });
          for (let i = 0; i < 60; i++) core.set(key(i), Uint8Array.of(i), 0, 0);
          const touched = new Set<number>();
          const flags = newest && policy === abi.POLICY_LRU ? abi.SCAN_NEWEST_FIRST : 0;
          const seen = scanWith(core, flags, chunk, (call) => {
            for (const { op, k } of plan[call] ?? []) {
              if (op === 'get') core.get(key(k), 0);
              else if (op === 'set') core.set(key(k), Uint8Array.of(k, 1), 0, 0);
              else core.remove(key(k), 0);
              if (op === 'remove' || flags !== 0) touched.add(k);
            }
          });
          // Present throughout: never removed (and, most recent first, never read or written: those move behind the walk).
          for (let i = 0; i < 60; i++) if (!touched.has(i)) expect(seen, `k${i}`).toContain(`k${i}`);
          expect(core.check()).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('ring scans: one queue, and resuming a finished walk', () => {
  /** One scan call of segment 0 from the cursor bytes given; returns the keys and the cursor after. */
  function call(core: RawCore, cursor: Uint8Array, flags: number): { keys: string[]; cursor: Uint8Array; n: number } {
    const records = (abi.SCAN_KEY + core.shape.maxKey + 7) & ~7;
    core.u8.set(cursor, core.io);
    const n = core.ex.scan(0, 0, 1000, flags, 0);
    const keys: string[] = [];
    let p = core.io + records;
    for (let i = 0; i < Math.max(n, 0); i++) {
      const klen = core.dv.getUint32(p, true);
      const vlen = core.dv.getUint32(p + 4, true);
      keys.push(new TextDecoder().decode(core.u8.subarray(p + abi.SCAN_RECORD_HEADER, p + abi.SCAN_RECORD_HEADER + klen)));
      p += (abi.SCAN_RECORD_HEADER + klen + vlen + 7) & ~7;
    }
    return { keys, n, cursor: core.u8.slice(core.io, core.io + records) };
  }

  it('s3fifo: main alone, the small queue alone, then what moved to main meanwhile (nothing twice, nothing missed)', async () => {
    const core = await RawCore.create({ policy: abi.POLICY_S3FIFO, maxBytes: 64 * 1024, segments: 1, maxKey: 32, maxValue: 64, maxEntries: 100, now: 0 });
    let n = 0;
    while (core.stats(0).smallEntries < 8) expect(core.set(key(n++), Uint8Array.of(1), 0, 0)).toBe(abi.OK);
    const records = (abi.SCAN_KEY + core.shape.maxKey + 7) & ~7;
    const mainCursor = new Uint8Array(records);
    new DataView(mainCursor.buffer).setUint32(abi.SCAN_STATE, abi.SCAN_MORE, true); // queue 0 (main), position 0: its tail
    const main = call(core, mainCursor, abi.SCAN_ONE_QUEUE);
    const afterMain = new DataView(main.cursor.buffer);
    expect(afterMain.getUint32(abi.SCAN_STATE, true)).toBe(abi.SCAN_DONE);
    const small = call(core, new Uint8Array(records), abi.SCAN_ONE_QUEUE);
    expect(small.keys).toHaveLength(core.stats(0).smallEntries);
    expect(new Set([...main.keys, ...small.keys])).toEqual(new Set(Array.from({ length: n }, (_, i) => `k${i}`)));
    expect(main.keys.length + small.keys.length).toBe(n);
    // The walk of main kept its end: set back to MORE it has nothing new...
    afterMain.setUint32(abi.SCAN_STATE, abi.SCAN_MORE, true);
    expect(call(core, main.cursor, 0).keys).toEqual([]);
    // ...until entries move to main: a hit small entry moves there when the small queue makes room.
    expect(core.get(key(n - 1), 0)).not.toBeNull();
    for (let i = 0; i < 40; i++) core.set(key(1000 + i), Uint8Array.of(2), 0, 0);
    const moved = call(core, main.cursor, 0).keys;
    expect(moved).toContain(`k${n - 1}`);
    expect(moved.some((k) => main.keys.includes(k))).toBe(false); // only appended since
    expect(core.check()).toBe(0);
  });

  it('SCAN_ONE_QUEUE is refused under lru (one list), as SCAN_NEWEST_FIRST is under the rings', async () => {
    const lru = await lruCore(3);
    lru.dv.setUint32(lru.io + abi.SCAN_STATE, abi.SCAN_START, true);
    expect(lru.ex.scan(0, 0, 10, abi.SCAN_ONE_QUEUE, 0)).toBe(abi.E_BAD_ARG);
    const clock = await RawCore.create({ policy: abi.POLICY_CLOCK, maxBytes: 1 << 20, segments: 1, maxKey: 32, maxValue: 64, now: 0 });
    clock.dv.setUint32(clock.io + abi.SCAN_STATE, abi.SCAN_START, true);
    expect(clock.ex.scan(0, 0, 10, abi.SCAN_NEWEST_FIRST, 0)).toBe(abi.E_BAD_ARG);
  });
});

// The raw core ABI: hash vectors, status codes, and the "no state outside linear memory" rule.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { defaultModule, defaultModuleBytes, Status, type CoreExports } from '../../src/core/index.js';
import * as abi from '../../src/core/abi.generated.js';

async function core(): Promise<CoreExports> {
  const instance = await WebAssembly.instantiate(await defaultModule('release'), {});
  return instance.exports as unknown as CoreExports;
}

interface InitArgs {
  maxBytes?: number; segments?: number; threads?: number; maxKey?: number; maxValue?: number; maxEntries?: number;
  policy?: number; flags?: number; ttl?: number; now?: number; seed?: number[];
}

/** init with test defaults (1 MiB, 16 segments, clock, seed word 0 = 0: the published FNV-1a). */
function init(ex: CoreExports, a: InitArgs = {}): number {
  const seed = a.seed ?? [0, 1, 2, 3];
  return ex.init(
    a.maxBytes ?? 1 << 20, a.segments ?? 16, a.threads ?? 1, a.maxKey ?? 1024, a.maxValue ?? 4096, a.maxEntries ?? 0,
    a.policy ?? abi.POLICY_CLOCK, a.flags ?? 0, a.ttl ?? 0, a.now ?? 0, seed[0], seed[1], seed[2], seed[3],
  );
}

function hashOf(ex: CoreExports, text: string): number {
  const bytes = new TextEncoder().encode(text);
  new Uint8Array(ex.memory.buffer).set(bytes, ex.io_ptr(0));
  return ex.hash(0, bytes.length) >>> 0;
}

/** Reads the sections of a wasm binary: id -> list of payloads. */
function sections(bytes: Uint8Array): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  let p = 8;
  const leb = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++];
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = leb();
    const list = out.get(id) ?? [];
    list.push(bytes.subarray(p, p + size));
    out.set(id, list);
    p += size;
  }
  return out;
}

describe('FNV-1a (32-bit) matches the published test vectors', () => {
  // From the FNV reference test suite (Landon Curt Noll), FNV-1a 32-bit.
  const vectors: [string, number][] = [
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['b', 0xe70c2de5],
    ['c', 0xe60c2c52],
    ['foo', 0xa9f37ed7],
    ['foob', 0x3f5076ef],
    ['fooba', 0x39aaa18a],
    ['foobar', 0xbf9cf968],
    ['chongo was here!\n', 0xd49930d5],
  ];
  it.each(vectors)('fnv1a(%j)', async (text, expected) => {
    const ex = await core();
    expect(init(ex)).toBeGreaterThan(0);
    expect(hashOf(ex, text)).toBe(expected);
  });

  it('is seeded: seed word 0 is xored into the offset basis', async () => {
    const ex = await core();
    expect(init(ex, { seed: [0x5eed, 1, 2, 3] })).toBeGreaterThan(0);
    // FNV-1a of '' is its offset basis.
    expect(hashOf(ex, '')).toBe((0x811c9dc5 ^ 0x5eed) >>> 0);
    expect(hashOf(ex, 'foobar')).not.toBe(0xbf9cf968);
  });
});

describe('core ABI', () => {
  it('reports its ABI version and lays out a header', async () => {
    const ex = await core();
    expect(ex.abi_version()).toBe(2);
    expect(ex.ready()).toBe(0);
    const size = ex.arena_size(1 << 20, 16, 1, 256, 4096, 0, abi.POLICY_CLOCK, 0);
    const h = init(ex, { maxKey: 256 });
    expect(h).toBe(ex.header());
    expect(ex.ready()).toBe(1);
    // arena_size predicted exactly where the arena ends.
    expect(new DataView(ex.memory.buffer).getUint32(h + abi.H_END, true)).toBe(size);
    // A second init over the same memory is refused: attach instead.
    expect(init(ex, { maxKey: 256 })).toBe(Status.BAD_ARG);
  });

  it('a refused init changes nothing: the memory takes a good init afterwards', async () => {
    const ex = await core();
    expect(init(ex, { segments: 3 })).toBe(Status.BAD_ARG);
    expect(init(ex, { maxBytes: 1 << 20, maxEntries: 1 << 20 })).toBe(Status.BAD_ARG); // the index leaves no storage
    expect(ex.ready()).toBe(0);
    expect(init(ex)).toBeGreaterThan(0);
    expect(ex.ready()).toBe(1);
  });

  it('refuses bad configurations with BAD_ARG', async () => {
    const ex = await core();
    expect(init(ex, { segments: 3 })).toBe(Status.BAD_ARG); // not a power of two
    expect(init(ex, { segments: 0 })).toBe(Status.BAD_ARG);
    expect(init(ex, { threads: 0 })).toBe(Status.BAD_ARG); // no thread slot
    expect(init(ex, { maxKey: 0 })).toBe(Status.BAD_ARG); // no key
    expect(init(ex, { maxBytes: 1000 })).toBe(Status.BAD_ARG); // < 1 KiB of storage per segment
    expect(init(ex, { ttl: -1 })).toBe(Status.BAD_ARG); // negative ttl
    expect(init(ex, { now: Number.NaN })).toBe(Status.BAD_ARG);
    expect(init(ex, { policy: abi.POLICY_COUNT })).toBe(Status.BAD_ARG); // no such policy
    expect(init(ex, { flags: 4 })).toBe(Status.BAD_ARG); // unknown flag
    // A limit below the per-segment minimum (one, or two for s3fifo's two queues).
    expect(init(ex, { segments: 16, maxEntries: 15, policy: abi.POLICY_LRU })).toBe(Status.BAD_ARG);
    expect(init(ex, { segments: 16, maxEntries: 31, policy: abi.POLICY_S3FIFO })).toBe(Status.BAD_ARG);
    expect(ex.arena_size(1000, 16, 1, 256, 4096, 0, 0, 0)).toBe(Status.BAD_ARG);
    expect(ex.ready()).toBe(0);
  });

  it('returns the documented status codes', async () => {
    const ex = await core();
    init(ex, { maxBytes: 64 * 1024, segments: 4, maxKey: 8, maxValue: 100_000 });
    const u8 = new Uint8Array(ex.memory.buffer);
    const io = ex.io_ptr(0);
    u8.set(new TextEncoder().encode('key1value'), io);
    expect(ex.set(0, 4, 5, 0, 0)).toBe(Status.OK);
    u8.set(new TextEncoder().encode('key1'), io);
    expect(ex.get(0, 4, 0)).toBe(5);
    expect(new TextDecoder().decode(u8.subarray(io, io + 5))).toBe('value');
    u8.set(new TextEncoder().encode('nope'), io);
    expect(ex.get(0, 4, 0)).toBe(Status.NOT_FOUND);
    expect(ex.get(0, 9, 0)).toBe(Status.KEY_TOO_LONG);
    expect(ex.set(0, 9, 1, 0, 0)).toBe(Status.KEY_TOO_LONG);
    // Larger than one segment (16 KiB minus its index): refused and counted.
    expect(ex.set(0, 4, 20_000, 0, 0)).toBe(Status.TOO_LARGE);
    ex.stats(0, 0);
    let rejected = 0;
    for (let s = 0; s < 4; s++) {
      ex.stats(0, s);
      rejected += Number(new DataView(ex.memory.buffer).getBigUint64(io + abi.ST_REJECTED, true));
    }
    expect(rejected).toBe(1);
    expect(ex.count()).toBe(1);
    expect(ex.sweep(0, 4, 10, 0, 0)).toBe(Status.BAD_ARG);
    expect(ex.sweep(0, 0, 10, 0, 2)).toBe(Status.BAD_ARG); // unknown flag
    // info and get_ref
    u8.set(new TextEncoder().encode('key1'), io);
    expect(ex.info(0, 4, 0)).toBe(1);
    const dv = new DataView(ex.memory.buffer);
    expect([dv.getUint32(io + abi.INFO_VLEN, true), dv.getUint32(io + abi.INFO_COST, true), dv.getFloat64(io + abi.INFO_EXPIRES, true)]).toEqual([5, 24, 0]);
    u8.set(new TextEncoder().encode('key1'), io);
    expect(ex.get_ref(0, 4, 0)).toBe(5);
    const at = dv.getUint32(io, true);
    expect(new TextDecoder().decode(u8.subarray(at, at + 5))).toBe('value');
    // A batch laid out past the I/O area is refused before any key is read.
    const ioBytes = dv.getUint32(ex.header() + abi.H_IO_BYTES, true);
    dv.setUint32(io, 4, true);
    expect(ex.get_many(0, 1, 0, 4, ioBytes, 0)).toBe(Status.BAD_ARG);
    dv.setUint32(io, ioBytes, true);
    expect(ex.get_many(0, 1, 0, 4, 8, 0)).toBe(Status.BAD_ARG);
    dv.setUint32(io, 8, true);
    dv.setUint32(io + 4, ioBytes, true);
    expect(ex.set_many(0, 1, 0, 0)).toBe(Status.BAD_ARG);
    for (let s = 0; s < 4; s++) expect(ex.check(0, s)).toBe(0);
  });

  it('refuses a thread slot that does not exist instead of writing elsewhere', async () => {
    const ex = await core();
    init(ex, { maxBytes: 64 * 1024, segments: 4, maxKey: 8, maxValue: 1000 });
    const before = new Uint8Array(ex.memory.buffer).slice();
    for (const slot of [1, 7, 0xffffffff]) {
      expect(ex.set(slot, 1, 1, 0, 0)).toBe(Status.BAD_ARG);
      expect(ex.get(slot, 1, 0)).toBe(Status.BAD_ARG);
      expect(ex.peek(slot, 1, 0)).toBe(Status.BAD_ARG);
      expect(ex.has(slot, 1, 0)).toBe(Status.BAD_ARG);
      expect(ex.remove(slot, 1, 0)).toBe(Status.BAD_ARG);
      expect(ex.get_many(slot, 1, 0, 4, 8, 0)).toBe(Status.BAD_ARG);
      expect(ex.set_many(slot, 1, 0, 0)).toBe(Status.BAD_ARG);
      expect(ex.stats(slot, 0)).toBe(Status.BAD_ARG);
      expect(ex.sweep(slot, 0, 10, 0, 0)).toBe(Status.BAD_ARG);
      expect(ex.scan(slot, 0, 10, 0, 0)).toBe(Status.BAD_ARG);
      expect(ex.info(slot, 1, 0)).toBe(Status.BAD_ARG);
      expect(ex.get_ref(slot, 1, 0)).toBe(Status.BAD_ARG);
      expect(ex.check(slot, 0)).toBe(Status.BAD_ARG);
      expect(ex.io_ptr(slot)).toBe(0);
      expect(ex.log_ptr(slot)).toBe(0);
      ex.clear(slot);
      ex.set_flags(slot, 7);
    }
    expect(new Uint8Array(ex.memory.buffer)).toEqual(before);
  });

  for (const flavor of ['release', 'shared'] as const) {
    it(`the ${flavor} module keeps no state outside linear memory`, () => {
      const bytes = defaultModuleBytes(flavor);
      const s = sections(bytes);
      // No globals (a per-instance global would split the cache between instances), no data
      // segments (re-applied at every instantiation), no start function.
      expect(s.get(6)).toBeUndefined(); // global section
      expect(s.get(11)).toBeUndefined(); // data section
      expect(s.get(8)).toBeUndefined(); // start section
      const module = new WebAssembly.Module(bytes);
      const imports = WebAssembly.Module.imports(module);
      if (flavor === 'release') expect(imports).toEqual([]);
      else expect(imports).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    });
  }

  it('the built file matches the inlined module', () => {
    const built = readFileSync(new URL('../../build/arenacache.wasm', import.meta.url));
    expect(Buffer.compare(built, Buffer.from(defaultModuleBytes('release')))).toBe(0);
  });

  it('a second instance over the same state sees the same cache', async () => {
    // The release build owns its memory, so copy one instance's memory into another's: if any
    // state lived in wasm globals the copy would not be a working cache.
    const a = await core();
    init(a, { maxKey: 64, maxValue: 1024 });
    const u8a = new Uint8Array(a.memory.buffer);
    const io = a.io_ptr(0);
    for (let i = 0; i < 500; i++) {
      u8a.set(new TextEncoder().encode(`k${i}:v${i}`), io);
      a.set(0, `k${i}`.length, `:v${i}`.length, 0, 0);
    }
    const b = await core();
    b.memory.grow(a.memory.buffer.byteLength / 65536 - b.memory.buffer.byteLength / 65536);
    new Uint8Array(b.memory.buffer).set(new Uint8Array(a.memory.buffer));
    expect(b.ready()).toBe(1);
    expect(b.count()).toBe(500);
    const u8b = new Uint8Array(b.memory.buffer);
    u8b.set(new TextEncoder().encode('k123'), io);
    const n = b.get(0, 4, 0);
    expect(new TextDecoder().decode(u8b.subarray(io, io + n))).toBe(':v123');
    for (let s = 0; s < 16; s++) expect(b.check(0, s)).toBe(0);
  });
});

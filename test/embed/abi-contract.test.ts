// docs/ABI.md is the contract: this suite holds the page to the binaries. Every export of both
// builds is documented with its exact wasm signature; the header, stats and return-code tables
// match assembly/abi.ts (through the generated constants the JS host uses); the builds' imports
// and features are as stated; and a raw host written from the page (no wrapper) observes the
// documented sizing, slot, eviction-log, TTL, hashing and entry-cost rules.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as abi from '../../src/core/abi.generated.js';
import { DIST_CORE, path, RELEASE_WASM, requireBuild, SHARED_WASM } from './helpers.js';

const doc = readFileSync(path('docs/ABI.md'), 'utf8');

/** Rows `| \`name(args)\` | \`(types) -> result\` | ...` of the export tables. */
function documentedExports(): Map<string, { args: string[]; params: string[]; result: string }> {
  const out = new Map<string, { args: string[]; params: string[]; result: string }>();
  for (const m of doc.matchAll(/^\| `(\w+)\(([^)]*)\)` \| `\(([^)]*)\) -> (\w+)` \|/gm)) {
    const split = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
    if (out.has(m[1])) throw new Error(`docs/ABI.md documents ${m[1]} twice`);
    out.set(m[1], { args: split(m[2]), params: split(m[3]), result: m[4] });
  }
  return out;
}

/** Exported functions of a build with their wasm signature, from the .wat the build writes. */
function watExports(watFile: string): Map<string, { params: string[]; result: string }> {
  const wat = readFileSync(watFile, 'utf8');
  const out = new Map<string, { params: string[]; result: string }>();
  for (const m of wat.matchAll(/\(export "(\w+)" \(func (\$[^\s)]+)\)\)/g)) {
    const esc = m[2].replace(/[$/.*+?^{}()|[\]\\]/g, '\\$&');
    const head = new RegExp(`^ \\(func ${esc}(?=[\\s)])((?: \\(param \\$\\d+ \\w+\\))*)(?: \\(result (\\w+)\\))?`, 'm').exec(wat);
    if (!head) throw new Error(`no definition of ${m[2]} in ${watFile}`);
    out.set(m[1], { params: [...head[1].matchAll(/\(param \$\d+ (\w+)\)/g)].map((p) => p[1]), result: head[2] ?? 'void' });
  }
  return out;
}

const wasmType = (t: string) => ({ u32: 'i32', i32: 'i32', f64: 'f64', u64: 'i64', i64: 'i64', void: 'void' })[t] ?? `?${t}`;
const section = (from: string, to: string) => doc.slice(doc.indexOf(from), doc.indexOf(to, doc.indexOf(from)));

describe('docs/ABI.md matches the binaries', () => {
  beforeAll(() => requireBuild());

  for (const [flavor, file] of [['release', 'build/arenacache.wat'], ['shared', 'build/arenacache.shared.wat']] as const) {
    it(`documents every export of the ${flavor} build with its exact signature`, () => {
      const documented = documentedExports();
      const actual = watExports(path(file));
      expect([...documented.keys()].sort()).toEqual([...actual.keys()].sort());
      for (const [name, sig] of actual) {
        const d = documented.get(name)!;
        expect(d.params.map(wasmType), `${name} parameters`).toEqual(sig.params);
        expect(d.args, `${name}: one named argument per parameter`).toHaveLength(sig.params.length);
        expect(wasmType(d.result), `${name} result`).toBe(sig.result);
      }
    });
  }

  it('states the imports and features of each build', async () => {
    const release = await WebAssembly.compile(readFileSync(RELEASE_WASM));
    const shared = await WebAssembly.compile(readFileSync(SHARED_WASM));
    expect(WebAssembly.Module.imports(release)).toEqual([]);
    expect(WebAssembly.Module.imports(shared)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    for (const m of [release, shared]) expect(WebAssembly.Module.exports(m)).toContainEqual({ name: 'memory', kind: 'memory' });
    const releaseWat = readFileSync(path('build/arenacache.wat'), 'utf8');
    const sharedWat = readFileSync(path('build/arenacache.shared.wat'), 'utf8');
    // wasm2c rejects threads and SIMD: the non-shared build must use neither.
    expect(releaseWat).not.toMatch(/atomic|v128|shared/);
    expect(sharedWat).not.toMatch(/v128/);
    expect(sharedWat).toMatch(/\(import "env" "memory" \(memory \$0 1 65536 shared\)\)/);
    expect(releaseWat).toMatch(/^ \(memory \$0 0\)$/m);
    for (const wat of [releaseWat, sharedWat]) {
      expect(wat).not.toMatch(/^ \(start /m);
      expect(wat).not.toMatch(/^ \(data /m);
      expect(wat).not.toMatch(/^ \(global /m);
    }
    expect(doc).toMatch(/\| `build\/arenacache\.wasm` \| none \|/);
    expect(doc).toMatch(/`env\.memory`: shared, initial ≥ 1 page, maximum ≤ 65536 pages/);
  });

  it('has the header, stats and return-code constants of assembly/abi.ts', async () => {
    const generated = abi as unknown as Record<string, number>;
    // Header table: | offset | type | `NAME` | meaning |
    const header = [...section('### Header', '## 5.').matchAll(/^\| (\d+) \| (?:u32|f64|u32 ×4) \| `([A-Z_]+)` \|/gm)].map((m) => [m[2], Number(m[1])] as const);
    const fromSource = Object.entries(generated).filter(([k]) => k.startsWith('H_')).map(([k, v]) => [k.slice(2), v] as const);
    expect(Object.fromEntries(header)).toEqual(Object.fromEntries(fromSource));
    // Stats snapshot table: | offset | type | `camelName` |
    const snake = (s: string) => s.replace(/[A-Z]/g, (x) => `_${x}`).toUpperCase();
    const stats = [...section('## 9. Segment snapshot', '## 10.').matchAll(/^\| (\d+) \| (u32|u64) \| `([a-z][A-Za-z]*)`/gm)];
    const statFields = Object.entries(generated).filter(([k]) => k.startsWith('ST_'));
    expect(stats.length).toBe(statFields.length);
    for (const m of stats) expect(generated[`ST_${snake(m[3])}`], `stats field ${m[3]}`).toBe(Number(m[1]));
    expect(abi.STATS_SIZE).toBe(128);
    expect(doc).toContain('writes 128 bytes to io');
    // Return codes: | code | `NAME` | meaning |
    const codes = [...doc.matchAll(/^\| (0|−\d+) \| `(\w+)` \|/gm)].map((m) => [m[2], Number(m[1].replace('−', '-'))] as const);
    const sourceCodes = Object.entries(generated).filter(([k, v]) => k === 'OK' || ((k === 'NOT_FOUND' || k.startsWith('E_')) && v < 0));
    expect(Object.fromEntries(codes)).toEqual(Object.fromEntries(sourceCodes));
    // The numbers the page states in prose.
    expect(abi.ABI_VERSION).toBe(2);
    expect(doc).toMatch(/^# The arenacache core ABI \(version 2\)$/m);
    expect(abi.MAGIC).toBe(0x43414341);
    expect(abi.HEADER_SIZE).toBe(256);
    expect([abi.SLOT_SIZE, abi.COUNTER_SIZE, abi.TABLE_ALIGN, abi.DEBUG_SEG_SIZE]).toEqual([16, 16, 64, 256]);
    expect([abi.ENTRY_HEADER, abi.ENTRY_HEADER_LRU, abi.ENTRY_ALIGN]).toEqual([12, 20, 4]);
    expect([abi.LOG_HEADER, abi.REC_HEADER, abi.BATCH_RECORD_HEADER, abi.SCAN_RECORD_HEADER]).toEqual([8, 12, 24, 24]);
    expect([abi.REASON_EVICT, abi.REASON_EXPIRE, abi.REASON_DELETE, abi.REASON_REPLACE]).toEqual([1, 2, 3, 4]);
    expect([abi.POLICY_LRU, abi.POLICY_CLOCK, abi.POLICY_S3FIFO]).toEqual([0, 1, 2]);
    for (const text of [
      'H ............. H + 256', '+ 16 × THREADS', '+ 256 × SEGMENTS', '(12 + klen + vlen + 3) & ~3', '(24 + klen + vlen + 7) & ~7',
      'align4(HDR + klen + vlen)', '`CLOCK_CHANCES` = 8', '`S3_CHANCES` = 8', '`S3_SMALL_PERCENT` = 20%', '`DEFAULT_BYTES_PER_ENTRY` (64)',
    ]) {
      expect(doc.replace(/\s+/g, ' ').includes(text), text).toBe(true);
    }
    expect([abi.CLOCK_CHANCES, abi.S3_CHANCES, abi.S3_SMALL_PERCENT, abi.DEFAULT_BYTES_PER_ENTRY]).toEqual([8, 8, 20, 64]);
    // The JS host reads every header offset from the same generated constants.
    const { Header } = await import(path('dist/core/abi.js'));
    for (const [k, v] of Object.entries(Header as Record<string, number>)) expect(generated[`H_${k}`], k).toBe(v);
  });

  it('sections 1 and 3 say the same about slot checks, and every export that takes a slot does it', async () => {
    const rule = 'a wrong slot returns `E_BAD_ARG` (`io_ptr`, `log_ptr` and `hash` return 0; `clear` and `set_flags` do nothing)';
    const flat = doc.replace(/\s+/g, ' ');
    const s1 = flat.slice(flat.indexOf('## 1. The two builds'), flat.indexOf('## 2. Life cycle'));
    const s3 = flat.slice(flat.indexOf('## 3. Exports'), flat.indexOf('### Arena and slots'));
    expect(s1).toContain(rule);
    expect(s3).toContain(rule);
    expect(flat).not.toMatch(/trusts it|No range check/);
    const returnsZero = new Set(['io_ptr', 'log_ptr', 'hash']);
    for (const wasm of [RELEASE_WASM, SHARED_WASM]) {
      const module = await WebAssembly.compile(readFileSync(wasm));
      const memory = wasm === SHARED_WASM ? new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }) : undefined;
      const instance = await WebAssembly.instantiate(module, memory ? { env: { memory } } : {});
      const ex = instance.exports as Raw['ex'];
      const threads = 2;
      expect(ex.init(1 << 20, 4, threads, 64, 1000, 0, abi.POLICY_S3FIFO, abi.INIT_LOG, 0, 0, 1, 2, 3, 4)).toBeGreaterThan(0);
      const before = new Uint8Array(ex.memory.buffer).slice();
      for (const [name, d] of documentedExports()) {
        if (d.args[0] !== 'slot') continue;
        for (const slot of [threads, threads + 1, 0xffffffff]) {
          const r = ex[name](slot, ...d.args.slice(1).map(() => 1));
          if (d.result === 'void') expect(r, `${name}(${slot})`).toBeUndefined();
          else expect(r, `${name}(${slot})`).toBe(returnsZero.has(name) ? 0 : abi.E_BAD_ARG);
        }
      }
      expect(Buffer.compare(Buffer.from(new Uint8Array(ex.memory.buffer)), Buffer.from(before)), `${wasm}: memory changed`).toBe(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A raw host written from the page

interface Raw {
  ex: Record<string, (...args: number[]) => number> & { memory: WebAssembly.Memory };
  u8: Uint8Array;
  dv: DataView;
  H: number;
  h(field: number): number;
}

type InitArgs = [maxBytes: number, segments: number, threads: number, maxKey: number, maxValue: number, maxEntries: number, policy: number, flags: number, ttl: number, now: number];
const SEED = [0, 0x1234, 0x5678, 0x9abc];

const enc = new TextEncoder();

async function rawArena(args: InitArgs): Promise<Raw> {
  const { instance } = await WebAssembly.instantiate(readFileSync(RELEASE_WASM), {});
  const ex = instance.exports as Raw['ex'];
  expect(ex.abi_version()).toBe(2);
  expect(ex.ready()).toBe(0);
  expect(ex.attach(0, 0)).toBe(abi.E_NOT_READY);
  const H = ex.init(...args, ...SEED);
  expect(H).toBeGreaterThan(0);
  expect(H).toBe(ex.header());
  expect(H % 64).toBe(0);
  const u8 = new Uint8Array(ex.memory.buffer); // after init: init grew the memory
  const dv = new DataView(ex.memory.buffer);
  return { ex, u8, dv, H, h: (field) => dv.getUint32(H + field, true) };
}

/** Writes key (and value) at the slot's io. */
function put(r: Raw, slot: number, key: string | Uint8Array, value?: Uint8Array): [number, number] {
  const io = r.ex.io_ptr(slot) >>> 0;
  const k = typeof key === 'string' ? enc.encode(key) : key;
  r.u8.set(k, io);
  if (value) r.u8.set(value, io + k.length);
  return [k.length, value?.length ?? 0];
}

const align4 = (n: number) => (n + 3) & ~3;
const align16 = (n: number) => (n + 15) & ~15;
const align64 = (n: number) => (n + 63) & ~63;

/** Section 11's rules, computed by a host. */
function predicted([maxBytes, segments, threads, maxKey, maxValue, maxEntries, policy, flags]: InitArgs) {
  const share = Math.floor(maxBytes / segments) & ~63;
  const entries = maxEntries || Math.floor(maxBytes / 64);
  const segEntries = Math.max(1, Math.ceil(entries / segments));
  const buckets = Math.floor((2 * segEntries + 20) / 21);
  let ghost = 0;
  if (policy === abi.POLICY_S3FIFO) for (ghost = 8; ghost < segEntries; ghost *= 2);
  const region = share - 64 * buckets - align64(2 * ghost);
  const small = policy === abi.POLICY_S3FIFO ? Math.floor((region * 20) / 100) & ~63 : 0;
  const hdr = policy === abi.POLICY_LRU ? 20 : 12;
  const limit = policy === abi.POLICY_LRU ? (region - (region >> 3)) & ~3 : region - small - 2 * hdr;
  const effValue = Math.min(maxValue, limit - hdr);
  const ioBytes = Math.max(65536, align16(2 * maxKey + effValue + 96));
  const logBytes = flags & abi.INIT_LOG ? ioBytes : 0;
  const ioStride = align64(ioBytes + logBytes + align16(maxKey));
  return { share, segEntries, buckets, ghost, region, small, hdr, limit, effValue, ioBytes, logBytes, ioStride, threads };
}

describe('a raw host following docs/ABI.md', () => {
  beforeAll(() => requireBuild());

  it('predicts the layout from the sizing rules (section 11) and finds tables, slots and I/O areas where stated', async () => {
    const configs: InitArgs[] = [
      [1 << 20, 16, 1, 1024, 8 << 20, 0, abi.POLICY_S3FIFO, abi.INIT_LOG, 0, 0],
      [65536, 2, 1, 64, 4096, 500, abi.POLICY_LRU, abi.INIT_LOG, 10000, 1e12],
      [131072, 1, 4, 100, 100, 0, abi.POLICY_CLOCK, 0, 0, 5],
      [3 * 1024 * 1024 + 17, 8, 3, 65535, 0, 10_000, abi.POLICY_S3FIFO, abi.INIT_LOG | abi.INIT_PREFAULT, 5, 0],
    ];
    for (const cfg of configs) {
      const p = predicted(cfg);
      const r = await rawArena(cfg);
      const at = `config ${JSON.stringify(cfg)}`;
      const [maxBytes, segments, threads, maxKey, , , policy, flags, ttl, now] = cfg;
      expect([r.h(abi.H_MAGIC), r.h(abi.H_ABI), r.h(abi.H_STATE)], at).toEqual([0x43414341, 2, 2]);
      expect([r.h(abi.H_SEGMENTS), r.h(abi.H_SEG_BITS), r.h(abi.H_THREADS), r.h(abi.H_POLICY)], at).toEqual([segments, Math.log2(segments), threads, policy]);
      expect([r.h(abi.H_ENTRY_HEADER), r.h(abi.H_REGION), r.h(abi.H_SEG_ENTRIES), r.h(abi.H_BUCKETS)], at).toEqual([p.hdr, p.region, p.segEntries, p.buckets]);
      expect([r.h(abi.H_SMALL_BYTES), r.h(abi.H_GHOST_SLOTS), r.h(abi.H_ENTRY_LIMIT), r.h(abi.H_MAX_VALUE)], at).toEqual([p.small, p.ghost, p.limit, p.effValue]);
      expect([r.h(abi.H_IO_BYTES), r.h(abi.H_LOG_BYTES), r.h(abi.H_MAX_KEY), r.h(abi.H_MAX_BYTES)], at).toEqual([p.ioBytes, p.logBytes, maxKey, maxBytes]);
      expect([r.h(abi.H_MAX_ENTRIES), r.h(abi.H_FLAGS), r.h(abi.H_SEG_STRIDE), r.h(abi.H_IO_STRIDE)], at).toEqual([p.segEntries * segments, flags, p.share, p.ioStride]);
      expect(r.h(abi.H_BUDGET), at).toBe(policy === abi.POLICY_LRU ? p.limit : p.region);
      expect([r.dv.getFloat64(r.H + abi.H_DEFAULT_TTL, true), r.dv.getFloat64(r.H + abi.H_EPOCH, true)], at).toEqual([ttl, now]);
      expect(r.h(abi.H_TTL_SEEN), at).toBe(ttl > 0 ? 1 : 0);
      expect([0, 4, 8, 12].map((o) => r.h(abi.H_SEED + o)), at).toEqual(SEED);
      // The tables, in the documented order, each at a 64-byte boundary after the previous one.
      const slotTable = r.h(abi.H_SLOT_TABLE);
      const segTable = r.h(abi.H_SEG_TABLE);
      const counters = r.h(abi.H_COUNTER_TABLE);
      const ioBase = r.h(abi.H_IO_BASE);
      const dataBase = r.h(abi.H_DATA_BASE);
      expect(slotTable, at).toBe(r.H + 256);
      expect(segTable, at).toBe(align64(slotTable + 16 * threads));
      expect(counters, at).toBe(align64(segTable + 256 * segments));
      expect(ioBase, at).toBe(align64(counters + 16 * threads * segments));
      expect(dataBase, at).toBe(align64(ioBase + threads * p.ioStride));
      expect(r.h(abi.H_END), at).toBe(dataBase + segments * p.share);
      expect(r.ex.arena_size(maxBytes, segments, threads, maxKey, cfg[4], cfg[5], policy, flags), at).toBe(r.h(abi.H_END));
      expect(r.ex.memory.buffer.byteLength, at).toBeGreaterThanOrEqual(r.h(abi.H_END));
      // init claimed slot 0 (flags 0); attach hands out the others, then E_NO_SLOT.
      expect(r.dv.getUint32(slotTable + abi.SL_FLAGS, true), at).toBe(0);
      const slots = [0];
      for (let s = 1; s < threads; s++) slots.push(r.ex.attach(100 + s, 0));
      expect(slots, at).toEqual([...Array(threads).keys()]);
      expect(r.ex.attach(999, 0), at).toBe(abi.E_NO_SLOT);
      for (const s of slots) {
        expect(r.ex.io_ptr(s) >>> 0, at).toBe(ioBase + s * p.ioStride);
        expect(r.ex.log_ptr(s) >>> 0, at).toBe((r.ex.io_ptr(s) >>> 0) + p.ioBytes);
        const entry = slotTable + 16 * s;
        expect(r.dv.getInt32(entry, true), at).toBe(abi.SLOT_LIVE);
        expect(r.dv.getUint32(entry + abi.SL_TAG, true), at).toBe(s === 0 ? 0 : 100 + s);
      }
      if (threads > 1) {
        expect(r.ex.detach(threads - 1)).toBe(0);
        expect(r.dv.getInt32(slotTable + 16 * (threads - 1), true)).toBe(abi.SLOT_FREE);
        expect(r.ex.attach(7, 0)).toBe(threads - 1);
      }
      expect(r.ex.init(...cfg, ...SEED), 'a second init').toBe(abi.E_BAD_ARG);
    }
  });

  it('refuses bad init arguments as documented, changing nothing', async () => {
    const ok: InitArgs = [1 << 20, 1, 1, 64, 64, 0, abi.POLICY_CLOCK, 0, 0, 0];
    const bad: [string, InitArgs][] = [
      ['segments not a power of two', [1 << 20, 3, 1, 64, 64, 0, 1, 0, 0, 0]],
      ['more than 1024 segments', [1 << 20, 2048, 1, 64, 64, 0, 1, 0, 0, 0]],
      ['no threads', [1 << 20, 1, 0, 64, 64, 0, 1, 0, 0, 0]],
      ['maxKey 0', [1 << 20, 1, 1, 0, 64, 0, 1, 0, 0, 0]],
      ['maxKey > 65535', [1 << 20, 1, 1, 65536, 64, 0, 1, 0, 0, 0]],
      ['a segment with less than 1 KiB of storage', [16 * 1023, 16, 1, 64, 64, 0, 1, 0, 0, 0]],
      ['an index that leaves no storage', [1 << 20, 1, 1, 64, 64, 1 << 20, 1, 0, 0, 0]],
      ['an unknown policy', [1 << 20, 1, 1, 64, 64, 0, 3, 0, 0, 0]],
      ['an unknown init flag', [1 << 20, 1, 1, 64, 64, 0, 1, 4, 0, 0]],
      ['a negative default TTL', [1 << 20, 1, 1, 64, 64, 0, 1, 0, -1, 0]],
      ['a NaN default TTL', [1 << 20, 1, 1, 64, 64, 0, 1, 0, NaN, 0]],
      ['a NaN clock', [1 << 20, 1, 1, 64, 64, 0, 1, 0, 0, NaN]],
    ];
    const { instance } = await WebAssembly.instantiate(readFileSync(RELEASE_WASM), {});
    const ex = instance.exports as Raw['ex'];
    for (const [why, cfg] of bad) expect(ex.init(...cfg, ...SEED), why).toBe(abi.E_BAD_ARG);
    // None of the refusals used the memory up.
    expect(ex.ready()).toBe(0);
    expect(ex.init(...ok, ...SEED)).toBeGreaterThan(0);
  });

  it('charges align4(HDR + klen + vlen) per entry and accepts exactly the entries whose cost fits ENTRY_LIMIT', async () => {
    for (const policy of [abi.POLICY_LRU, abi.POLICY_CLOCK, abi.POLICY_S3FIFO]) {
      const r = await rawArena([16384, 1, 1, 256, 1 << 20, 0, policy, 0, 0, 0]);
      const hdr = r.h(abi.H_ENTRY_HEADER);
      const limit = r.h(abi.H_ENTRY_LIMIT);
      let expected = 0;
      for (const [k, v] of [[1, 0], [3, 13], [10, 22], [0, 5], [40, 100]]) {
        const [klen, vlen] = put(r, 0, 'k'.repeat(k), new Uint8Array(v).fill(7));
        expect(r.ex.set(0, klen, vlen, 0, 0)).toBe(0);
        expected += align4(hdr + klen + vlen);
        expect(r.ex.used()).toBe(expected);
      }
      // MAX_VALUE = ENTRY_LIMIT - HDR: it fits with an empty key only.
      expect(r.h(abi.H_MAX_VALUE)).toBe(limit - hdr);
      const maxValue = r.h(abi.H_MAX_VALUE);
      put(r, 0, '', new Uint8Array(maxValue).fill(1));
      expect(r.ex.set(0, 0, maxValue, 0, 0)).toBe(0);
      put(r, 0, 'a', new Uint8Array(maxValue));
      expect(r.ex.set(0, 1, maxValue, 0, 0)).toBe(abi.E_TOO_LARGE);
      put(r, 0, 'abc', new Uint8Array(maxValue - 3).fill(1));
      expect(r.ex.set(0, 3, maxValue - 3, 0, 0)).toBe(0); // limit - HDR - klen: exactly the limit
      put(r, 0, 'k'.repeat(257));
      expect(r.ex.set(0, 257, 0, 0, 0)).toBe(abi.E_KEY_TOO_LONG);
      expect(r.ex.get(0, 257, 0)).toBe(abi.E_KEY_TOO_LONG);
      // get copies the value to the start of io.
      const [klen] = put(r, 0, 'abc');
      expect(r.ex.get(0, klen, 0)).toBe(maxValue - 3);
      expect(r.u8[r.ex.io_ptr(0) >>> 0]).toBe(1);
      // stats: entries, bytes, budget, rejected at the documented offsets.
      expect(r.ex.stats(0, 0)).toBe(128);
      const io = r.ex.io_ptr(0) >>> 0;
      expect(r.dv.getUint32(io + abi.ST_ENTRIES, true)).toBe(r.ex.count());
      expect(r.dv.getUint32(io + abi.ST_BYTES_USED, true)).toBe(r.ex.used());
      expect(r.dv.getUint32(io + abi.ST_BUDGET, true)).toBe(r.h(abi.H_BUDGET));
      expect(r.dv.getBigUint64(io + abi.ST_REJECTED, true)).toBe(1n);
      expect(r.ex.stats(0, 1)).toBe(abi.E_BAD_ARG);
      for (let s = 0; s < 1; s++) expect(r.ex.check(0, s)).toBe(0);
    }
  });

  it('stores expiry in whole ms after the epoch, rounded up: uses the default for ttl < 0 and never for ttl = 0', async () => {
    const r = await rawArena([1 << 16, 1, 1, 64, 1024, 0, abi.POLICY_CLOCK, 0, 500, 700]);
    const v = new Uint8Array([1, 2, 3]);
    const set = (key: string, ttl: number, now: number) => r.ex.set(0, ...put(r, 0, key, v), ttl, now);
    const get = (key: string, now: number) => r.ex.get(0, put(r, 0, key)[0], now);
    expect(set('short', 100, 1000)).toBe(0);
    expect(set('default', -1, 1000)).toBe(0);
    expect(set('never', 0, 1000)).toBe(0);
    expect(set('fraction', 100, 1000.5)).toBe(0);
    expect(get('short', 1099.9)).toBe(3);
    expect(get('short', 1100)).toBe(-1);
    expect(get('fraction', 1100.5)).toBe(3); // 1100.5 rounds up to 1101
    expect(get('fraction', 1101)).toBe(-1);
    expect(get('default', 1499)).toBe(3);
    expect(get('default', 1500)).toBe(-1);
    expect(get('never', 1e15)).toBe(3);
    expect(r.h(abi.H_TTL_SEEN)).toBe(1);
    // info reports the expiry on the host's clock.
    put(r, 0, 'never');
    expect(r.ex.info(0, 5, 2000)).toBe(1);
    expect(r.dv.getFloat64((r.ex.io_ptr(0) >>> 0) + abi.INFO_EXPIRES, true)).toBe(0);
  });

  it('logs evictions as documented and makes a set retryable after E_LOG_FULL', async () => {
    const r = await rawArena([64 * 1024, 1, 1, 64, 4096, 0, abi.POLICY_CLOCK, abi.INIT_LOG, 0, 0]);
    r.ex.set_flags(0, abi.LOG_KEYS_AND_VALUES << abi.LOG_MODE_SHIFT);
    const log = r.ex.log_ptr(0) >>> 0;
    const cap = r.h(abi.H_LOG_BYTES);
    const value = new Uint8Array(4000).fill(9);
    let full = -1;
    // Never drain: the log fills across calls until a set reports E_LOG_FULL.
    for (let i = 0; i < 200 && full < 0; i++) {
      const rc = r.ex.set(0, ...put(r, 0, `key-${i}`, value), 0, 0);
      if (rc === abi.E_LOG_FULL) full = i;
      else expect(rc).toBe(0);
    }
    expect(full).toBeGreaterThan(0);
    expect(r.ex.has(0, put(r, 0, `key-${full}`)[0], 0)).toBe(0); // the refused set stored nothing for its key
    // Records: [u32 reason][u32 klen][u32 vlen][key][value], 4-aligned; oldest evicted first (clock: FIFO).
    const count = r.dv.getUint32(log, true);
    const bytes = r.dv.getUint32(log + 4, true);
    expect(count).toBeGreaterThan(0);
    let p = log + 8;
    for (let k = 0; k < count; k++) {
      const [reason, klen, vlen] = [r.dv.getUint32(p, true), r.dv.getUint32(p + 4, true), r.dv.getUint32(p + 8, true)];
      expect(reason).toBe(abi.REASON_EVICT);
      expect(new TextDecoder().decode(r.u8.subarray(p + 12, p + 12 + klen))).toBe(`key-${k}`);
      expect(vlen).toBe(4000);
      expect(r.u8[p + 12 + klen + vlen - 1]).toBe(9);
      p += (12 + klen + vlen + 3) & ~3;
    }
    expect(p - (log + 8)).toBe(bytes);
    expect(8 + bytes).toBeLessThanOrEqual(cap);
    // Drain (zero both words) and repeat the same call: it succeeds.
    r.dv.setUint32(log, 0, true);
    r.dv.setUint32(log + 4, 0, true);
    expect(r.ex.set(0, ...put(r, 0, `key-${full}`, value), 0, 0)).toBe(0);
    expect(r.ex.get(0, put(r, 0, `key-${full}`)[0], 0)).toBe(4000);
    expect(r.ex.check(0, 0)).toBe(0);
    // With FLAG_LOG_REMOVALS, remove and replace are logged too.
    r.dv.setUint32(log, 0, true);
    r.dv.setUint32(log + 4, 0, true);
    r.ex.set_flags(0, (abi.LOG_KEYS << abi.LOG_MODE_SHIFT) | abi.FLAG_LOG_REMOVALS);
    expect(r.ex.set(0, ...put(r, 0, `key-${full}`, new Uint8Array(10)), 0, 0)).toBe(0);
    expect(r.ex.remove(0, put(r, 0, `key-${full}`)[0], 0)).toBe(1);
    expect(r.dv.getUint32(log, true)).toBe(2);
    expect([r.dv.getUint32(log + 8, true), r.dv.getUint32(log + 8 + 8, true)]).toEqual([abi.REASON_REPLACE, 0]); // keys only: vlen 0
  });

  it('hash() is the seeded FNV-1a, and the top SEG_BITS bits of fmix32(hash) pick the segment', async () => {
    const r = await rawArena([1 << 20, 8, 1, 64, 1024, 0, abi.POLICY_CLOCK, 0, 0, 0]);
    const fnv = (b: Uint8Array) => b.reduce((h, x) => Math.imul(h ^ x, 16777619) >>> 0, (2166136261 ^ SEED[0]) >>> 0);
    const fmix32 = (h: number) => {
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      return (h ^ (h >>> 16)) >>> 0;
    };
    const perSegment = new Array(8).fill(0);
    for (let i = 0; i < 200; i++) {
      const [klen] = put(r, 0, `key:${i}`);
      const h = fnv(enc.encode(`key:${i}`));
      expect(r.ex.hash(0, klen) >>> 0).toBe(h);
      expect(r.ex.set(0, ...put(r, 0, `key:${i}`, new Uint8Array(1)), 0, 0)).toBe(0);
      perSegment[fmix32(h) >>> (32 - r.h(abi.H_SEG_BITS))]++;
    }
    const counts = perSegment.map((_, s) => (r.ex.stats(0, s), r.dv.getUint32((r.ex.io_ptr(0) >>> 0) + abi.ST_ENTRIES, true)));
    expect(counts).toEqual(perSegment);
    expect(r.ex.count()).toBe(200);
  });

  it('the JS host mirrors the documented codes', async () => {
    const { Status, ABI_VERSION } = await import(DIST_CORE);
    expect(ABI_VERSION).toBe(2);
    expect(Status).toEqual({ OK: 0, NOT_FOUND: -1, KEY_TOO_LONG: -2, TOO_LARGE: -3, BAD_ARG: -4, LOG_FULL: -5, NOT_READY: -6, NO_MEMORY: -7, NO_SLOT: -8 });
  });

  it('the generated constants are up to date with assembly/abi.ts', async () => {
    const { execFileSync } = await import('node:child_process');
    expect(() => execFileSync(process.execPath, [path('scripts/gen-abi.mjs'), '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});

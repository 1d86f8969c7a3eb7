// docs/ABI.md is the contract: this suite holds the page to the binaries. Every export of both
// builds is documented with its exact wasm signature; the header, stats and return-code tables
// match assembly/layout.ts and the JS host's mirror; the builds' imports and features are as
// stated; and a raw host written from the page (no wrapper) observes the documented sizing,
// slot, eviction-log, TTL and entry-cost rules.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DIST_CORE, path, RELEASE_WASM, requireBuild, SHARED_WASM } from './helpers.js';

const doc = readFileSync(path('docs/ABI.md'), 'utf8');
const layout = readFileSync(path('assembly/layout.ts'), 'utf8');

/** `export const NAME: type = value;` constants of assembly/layout.ts. */
function layoutConstants(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of layout.matchAll(/^export const (\w+): \w+ = (-?(?:0x[0-9a-fA-F]+|\d+));/gm)) out.set(m[1], Number(m[2]));
  return out;
}

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
    // wasm2c 1.0.32 rejects threads and SIMD: the non-shared build must use neither.
    expect(releaseWat).not.toMatch(/atomic|v128|shared/);
    expect(sharedWat).not.toMatch(/v128/);
    expect(sharedWat).toMatch(/\(import "env" "memory" \(memory \$0 1 65536 shared\)\)/);
    expect(releaseWat).toMatch(/^ \(memory \$0 0\)$/m);
    for (const wat of [releaseWat, sharedWat]) {
      expect(wat).not.toMatch(/^ \(start /m);
      expect(wat).not.toMatch(/^ \(data /m);
    }
    expect(doc).toMatch(/\| `build\/arenacache\.wasm` \| none \|/);
    expect(doc).toMatch(/`env\.memory`: shared, initial ≥ 1 page, maximum ≤ 65536 pages/);
  });

  it('has the header, stats, return-code and layout constants of assembly/layout.ts', async () => {
    const c = layoutConstants();
    // Header table: | offset | type | `NAME` | meaning |
    const section = (from: string, to: string) => doc.slice(doc.indexOf(from), doc.indexOf(to, doc.indexOf(from)));
    const header = [...section('### Header', '### Eviction log').matchAll(/^\| (\d+) \| (u32|f64) \| `([A-Z_]+)` \|/gm)].map((m) => [m[3], Number(m[1])] as const);
    const layoutHeader = [...c].filter(([k]) => k.startsWith('H_')).map(([k, v]) => [k.slice(2), v] as const);
    expect(Object.fromEntries(header)).toEqual(Object.fromEntries(layoutHeader));
    const { Header } = await import(path('dist/core/abi.js'));
    expect(Object.fromEntries(header)).toEqual(Header);
    // Stats snapshot table: | offset | type | `camelName`: meaning |
    const snake = (s: string) => s.replace(/[A-Z]/g, (x) => `_${x}`).toUpperCase();
    const stats = [...section('## 5. Segment snapshot', '## 6.').matchAll(/^\| (\d+) \| (u32|u64) \| `([a-z][A-Za-z]*)`/gm)];
    expect(stats.length).toBeGreaterThanOrEqual(17);
    for (const m of stats) expect(c.get(`S_${snake(m[3])}`), `stats field ${m[3]}`).toBe(Number(m[1]));
    expect(c.get('SEG_STATS_SIZE')).toBe(200);
    expect(doc).toContain('copies 200 bytes to io');
    // Return codes: | code | `NAME` | meaning |
    const codes = [...doc.matchAll(/^\| (0|−\d+) \| `(\w+)` \|/gm)].map((m) => [m[2], Number(m[1].replace('−', '-'))] as const);
    // (E_PREV, E_NEXT, ... are entry offsets, not codes: codes are OK and the negative constants.)
    const layoutCodes = [...c].filter(([k, v]) => k === 'OK' || ((k === 'NOT_FOUND' || k.startsWith('E_')) && v < 0));
    expect(Object.fromEntries(codes)).toEqual(Object.fromEntries(layoutCodes));
    // The numbers the page states in prose.
    expect(c.get('ABI_VERSION')).toBe(1);
    expect(doc).toMatch(/^# The arenacache core ABI \(version 1\)$/m);
    expect(c.get('MAGIC')).toBe(0x43414341);
    expect(c.get('HEADER_SIZE')).toBe(128);
    expect(c.get('SLOT_SIZE')).toBe(16);
    expect(c.get('SEG_SIZE')).toBe(896);
    expect(c.get('ENTRY_HEADER')).toBe(32);
    expect(c.get('LOG_HEADER')).toBe(8);
    expect(c.get('REC_HEADER')).toBe(12);
    expect(c.get('SL_TAG')).toBe(4);
    expect(c.get('LOG_MODE_SHIFT')).toBe(1);
    expect(c.get('REASON_EVICT')).toBe(1);
    expect(c.get('REASON_EXPIRE')).toBe(2);
    for (const text of ['H+128', '+16*THREADS', '+896*SEGMENTS', '(12 + klen + vlen + 3) & ~3', '(24 + klen + vlen + 7) & ~7', 'align16(32 + klen + vlen)']) {
      expect(doc).toContain(text);
    }
    // The JS host's named layout constants (src/core/abi.ts) are the core's.
    const abi = await import(path('dist/core/abi.js'));
    expect([abi.HEADER_BYTES, abi.SLOT_BYTES, abi.SEGMENT_HEADER_BYTES, abi.STATS_BYTES, abi.SlotField.TAG, abi.SlotField.FLAGS])
      .toEqual(['HEADER_SIZE', 'SLOT_SIZE', 'SEG_SIZE', 'SEG_STATS_SIZE', 'SL_TAG', 'SL_FLAGS'].map((k) => c.get(k)));
    expect([abi.ENTRY_HEADER, abi.LOG_HEADER, abi.RECORD_HEADER]).toEqual(['ENTRY_HEADER', 'LOG_HEADER', 'REC_HEADER'].map((k) => c.get(k)));
  });

  it('sections 1 and 3 say the same about slot checks, and every export that takes a slot does it', async () => {
    const rule = '`slot >= THREADS` returns `E_BAD_ARG` (`io_ptr`, `log_ptr` and `hash` return 0; `clear` and `set_flags` do nothing)';
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
      expect(ex.init(1 << 20, 4, threads, 64, 1000, 1, 0)).toBeGreaterThan(0);
      const before = new Uint8Array(ex.memory.buffer).slice();
      for (const [name, d] of documentedExports()) {
        if (d.args[0] !== 'slot') continue;
        for (const slot of [threads, threads + 1, 0xffffffff]) {
          const r = ex[name](slot, ...d.args.slice(1).map(() => 1));
          if (d.result === 'void') expect(r, `${name}(${slot})`).toBeUndefined();
          else expect(r, `${name}(${slot})`).toBe(returnsZero.has(name) ? 0 : -4);
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

const enc = new TextEncoder();

async function rawArena(args: [number, number, number, number, number, number, number]): Promise<Raw> {
  const { instance } = await WebAssembly.instantiate(readFileSync(RELEASE_WASM), {});
  const ex = instance.exports as Raw['ex'];
  expect(ex.abi_version()).toBe(1);
  expect(ex.ready()).toBe(0);
  expect(ex.attach(0, 0)).toBe(-6); // E_NOT_READY
  const H = ex.init(...args);
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

const align16 = (n: number) => (n + 15) & ~15;

describe('a raw host following docs/ABI.md', () => {
  beforeAll(() => requireBuild());

  it('predicts the layout from the sizing rules (section 7) and finds slots and I/O areas where stated', async () => {
    const configs: [number, number, number, number, number, number, number][] = [
      [1 << 20, 16, 1, 1024, 8 << 20, 1, 0],
      [32768, 2, 1, 64, 4096, 1, 10000],
      [65536, 1, 4, 100, 100, 0, 0],
      [3 * 1024 * 1024 + 17, 8, 3, 65535, 0, 1, 5],
    ];
    for (const cfg of configs) {
      const [maxBytes, segments, threads, maxKey, maxValue, logEnabled, defaultTtl] = cfg;
      const r = await rawArena(cfg);
      const share = Math.floor(maxBytes / segments) & ~15;
      let buckets = 8;
      while (buckets < share >> 7) buckets <<= 1;
      const region = (share - 4 * buckets) & ~15;
      const effValue = Math.min(maxValue, region - 32);
      const ioBytes = Math.max(65536, align16(maxKey + effValue + 76));
      const logBytes = logEnabled ? ioBytes : 0;
      const at = `config ${JSON.stringify(cfg)}`;
      expect(r.h(0), at).toBe(0x43414341);
      expect(r.h(4), at).toBe(1);
      expect(r.h(8), at).toBe(2);
      expect([r.h(12), r.h(16), r.h(20)], at).toEqual([segments, Math.log2(segments), threads]);
      expect([r.h(24), r.h(28), r.h(44)], at).toEqual([region, buckets, effValue]);
      expect([r.h(32), r.h(36), r.h(40), r.h(48)], at).toEqual([ioBytes, logBytes, maxKey, maxBytes]);
      expect(r.h(56), at).toBe(r.H + 128);
      expect(r.h(72), at).toBe(4 * buckets + region);
      expect(r.h(76), at).toBe(ioBytes + logBytes);
      expect(r.dv.getFloat64(r.H + 80, true), at).toBe(defaultTtl);
      expect(r.h(88), at).toBe(defaultTtl > 0 ? 1 : 0);
      expect(r.h(68) - r.h(64), at).toBe(segments * r.h(72));
      expect(r.ex.memory.buffer.byteLength, at).toBeGreaterThanOrEqual(r.h(68));
      // init claimed slot 0; attach hands out the others, then E_NO_SLOT.
      const slots = [0];
      for (let s = 1; s < threads; s++) slots.push(r.ex.attach(100 + s, 0));
      expect(slots, at).toEqual([...Array(threads).keys()]);
      expect(r.ex.attach(999, 0), at).toBe(-8);
      for (const s of slots) {
        expect(r.ex.io_ptr(s) >>> 0, at).toBe(r.h(60) + s * r.h(76));
        expect(r.ex.log_ptr(s) >>> 0, at).toBe((r.ex.io_ptr(s) >>> 0) + ioBytes);
        const entry = r.h(56) + 16 * s;
        expect(r.dv.getInt32(entry, true), at).toBe(1); // live
        expect(r.dv.getUint32(entry + 4, true), at).toBe(s === 0 ? 0 : 100 + s); // tag
      }
      if (threads > 1) {
        expect(r.ex.detach(threads - 1)).toBe(0);
        expect(r.dv.getInt32(r.h(56) + 16 * (threads - 1), true)).toBe(0);
        expect(r.ex.attach(7, 0)).toBe(threads - 1);
      }
      expect(r.ex.init(...cfg), 'a second init').toBe(-4);
    }
  });

  it('refuses bad init arguments as documented', async () => {
    const bad: [number, number, number, number, number, number, number][] = [
      [1 << 20, 3, 1, 64, 64, 0, 0], // segments not a power of two
      [1 << 20, 2048, 1, 64, 64, 0, 0], // > 1024 segments
      [1 << 20, 1, 0, 64, 64, 0, 0], // no threads
      [1 << 20, 1, 1, 0, 64, 0, 0], // maxKey 0
      [1 << 20, 1, 1, 65536, 64, 0, 0], // maxKey > 65535
      [16 * 1023, 16, 1, 64, 64, 0, 0], // share < 1024
      [1 << 20, 1, 1, 64, 64, 0, -1], // negative default TTL
      [1 << 20, 1, 1, 64, 64, 0, NaN],
    ];
    for (const cfg of bad) {
      const { instance } = await WebAssembly.instantiate(readFileSync(RELEASE_WASM), {});
      expect((instance.exports as Raw['ex']).init(...cfg), JSON.stringify(cfg)).toBe(-4);
    }
  });

  it('charges align16(32 + klen + vlen) per entry and accepts exactly the entries that fit', async () => {
    const r = await rawArena([8192, 1, 1, 256, 1 << 20, 0, 0]);
    const region = r.h(24);
    let expected = 0;
    for (const [k, v] of [[1, 0], [3, 13], [10, 22], [0, 5], [40, 100]]) {
      const [klen, vlen] = put(r, 0, 'k'.repeat(k), new Uint8Array(v).fill(7));
      expect(r.ex.set(0, klen, vlen, 0, 0)).toBe(0);
      expected += align16(32 + klen + vlen);
      expect(r.ex.used() >>> 0).toBe(expected);
    }
    // An entry costing exactly the budget fits (evicting everything else); 16 bytes more does not.
    const key = 'exact';
    const fits = region - 32 - key.length;
    expect(r.h(44)).toBe(region - 32);
    put(r, 0, key, new Uint8Array(fits).fill(1));
    expect(r.ex.set(0, key.length, fits, 0, 0)).toBe(0);
    expect(r.ex.used() >>> 0).toBe(region);
    expect(r.ex.count()).toBe(1);
    put(r, 0, 'other', new Uint8Array(fits + 16));
    expect(r.ex.set(0, 5, fits + 16 - 5, 0, 0)).toBe(-3); // value ≤ MAX_VALUE, but the entry exceeds the budget
    expect(r.ex.count()).toBe(1);
    put(r, 0, 'k'.repeat(257));
    expect(r.ex.set(0, 257, 0, 0, 0)).toBe(-2);
    expect(r.ex.get(0, 257, 0)).toBe(-2);
    // get copies the value to the start of io.
    const [klen] = put(r, 0, key);
    expect(r.ex.get(0, klen, 0)).toBe(fits);
    expect(r.u8[r.ex.io_ptr(0) >>> 0]).toBe(1);
    // stats: count, used, budget, rejected at the documented offsets.
    expect(r.ex.stats(0, 0)).toBe(200);
    const io = r.ex.io_ptr(0) >>> 0;
    expect([r.dv.getUint32(io + 12, true), r.dv.getUint32(io + 16, true), r.dv.getUint32(io + 20, true)]).toEqual([1, region, region]);
    expect(r.dv.getBigUint64(io + 176, true)).toBe(1n);
    expect(r.ex.stats(0, 1)).toBe(-4);
  });

  it('expires at now + ttl, uses the default for ttl < 0 and never for ttl = 0', async () => {
    const r = await rawArena([1 << 16, 1, 1, 64, 1024, 0, 500]);
    const v = new Uint8Array([1, 2, 3]);
    const set = (key: string, ttl: number, now: number) => r.ex.set(0, ...put(r, 0, key, v), ttl, now);
    const get = (key: string, now: number) => r.ex.get(0, put(r, 0, key)[0], now);
    expect(set('short', 100, 1000)).toBe(0);
    expect(set('default', -1, 1000)).toBe(0);
    expect(set('never', 0, 1000)).toBe(0);
    expect(get('short', 1099.9)).toBe(3);
    expect(get('short', 1100)).toBe(-1);
    expect(get('default', 1499)).toBe(3);
    expect(get('default', 1500)).toBe(-1);
    expect(get('never', 1e15)).toBe(3);
    expect(r.h(88)).toBe(1);
  });

  it('logs evictions as documented and makes a set retryable after E_LOG_FULL', async () => {
    const r = await rawArena([64 * 1024, 1, 1, 64, 4096, 1, 0]);
    r.ex.set_flags(0, 2 << 1); // log keys and values
    const log = r.ex.log_ptr(0) >>> 0;
    const cap = r.h(36);
    const value = new Uint8Array(4000).fill(9);
    let full = -1;
    // Never drain: the log fills across calls until a set reports E_LOG_FULL.
    for (let i = 0; i < 200 && full < 0; i++) {
      const rc = r.ex.set(0, ...put(r, 0, `key-${i}`, value), 0, 0);
      if (rc === -5) full = i;
      else expect(rc).toBe(0);
    }
    expect(full).toBeGreaterThan(0);
    expect(r.ex.has(0, put(r, 0, `key-${full}`)[0], 0)).toBe(0); // the refused set changed nothing for its key
    // Records: [u32 reason][u32 klen][u32 vlen][key][value], 4-aligned; oldest evicted first.
    const count = r.dv.getUint32(log, true);
    const bytes = r.dv.getUint32(log + 4, true);
    expect(count).toBeGreaterThan(0);
    let p = log + 8;
    for (let k = 0; k < count; k++) {
      const [reason, klen, vlen] = [r.dv.getUint32(p, true), r.dv.getUint32(p + 4, true), r.dv.getUint32(p + 8, true)];
      expect(reason).toBe(1);
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
  });

  it('hash() is FNV-1a and picks the segment by its top SEG_BITS bits', async () => {
    const r = await rawArena([1 << 20, 8, 1, 64, 1024, 0, 0]);
    const fnv = (b: Uint8Array) => b.reduce((h, x) => Math.imul(h ^ x, 16777619) >>> 0, 2166136261);
    const perSegment = new Array(8).fill(0);
    for (let i = 0; i < 200; i++) {
      const [klen] = put(r, 0, `key:${i}`);
      const h = fnv(enc.encode(`key:${i}`));
      expect(r.ex.hash(0, klen) >>> 0).toBe(h);
      expect(r.ex.set(0, ...put(r, 0, `key:${i}`, new Uint8Array(1)), 0, 0)).toBe(0);
      perSegment[h >>> (32 - r.h(16))]++;
    }
    // Each entry landed in segment hash >>> (32 - SEG_BITS).
    const counts = perSegment.map((_, s) => (r.ex.stats(0, s), r.dv.getUint32((r.ex.io_ptr(0) >>> 0) + 12, true)));
    expect(counts).toEqual(perSegment);
    expect(r.ex.count()).toBe(200);
  });

  it('the JS host mirrors the documented codes', async () => {
    const { Status, ABI_VERSION } = await import(DIST_CORE);
    expect(ABI_VERSION).toBe(1);
    expect(Status).toEqual({ OK: 0, NOT_FOUND: -1, KEY_TOO_LONG: -2, TOO_LARGE: -3, BAD_ARG: -4, LOG_FULL: -5, NOT_READY: -6, NO_MEMORY: -7, NO_SLOT: -8 });
  });
});

// Drives the core through its raw exports (no ArenaCache), for tests that compare it with the
// reference model or poke at the ABI directly.
import { readFileSync } from 'node:fs';
import * as abi from '../../../src/core/abi.generated.js';
import type { CoreExports } from '../../../src/core/abi.js';
import type { ArenaShape, LogRecord } from './arena-model.js';

/** The core's exports, as the host declares them (one declaration). */
export type RawExports = CoreExports;

export type Flavor = 'release' | 'shared';

const modules = new Map<Flavor, WebAssembly.Module>();
export function coreModule(flavor: Flavor): WebAssembly.Module {
  let m = modules.get(flavor);
  if (!m) {
    const file = flavor === 'release' ? 'arenacache.wasm' : 'arenacache.shared.wasm';
    m = new WebAssembly.Module(readFileSync(new URL(`../../../build/${file}`, import.meta.url)));
    modules.set(flavor, m);
  }
  return m;
}

export interface RawConfig {
  flavor?: Flavor;
  maxBytes: number;
  segments: number;
  threads?: number;
  maxKey: number;
  maxValue: number;
  maxEntries?: number;
  policy: number;
  flags?: number;
  defaultTtl?: number;
  now?: number;
  seed?: readonly number[];
  logMode?: number;
  logRemovals?: boolean;
}

export class RawCore {
  readonly ex: RawExports;
  readonly H: number;
  readonly io: number;
  readonly shape: ArenaShape;
  readonly slot = 0;

  private constructor(ex: RawExports, cfg: RawConfig) {
    this.ex = ex;
    const seed = cfg.seed ?? [0x9e3779b9, 0x7f4a7c15, 0x85ebca6b, 0xc2b2ae35];
    const H = ex.init(
      cfg.maxBytes, cfg.segments, cfg.threads ?? 1, cfg.maxKey, cfg.maxValue, cfg.maxEntries ?? 0, cfg.policy,
      cfg.flags ?? ((cfg.logMode ?? 0) !== 0 ? abi.INIT_LOG : 0), cfg.defaultTtl ?? 0, cfg.now ?? 0,
      seed[0], seed[1], seed[2], seed[3],
    );
    if (H <= 0) throw new Error(`init failed: ${H}`);
    this.H = H;
    const mode = ((cfg.logMode ?? 0) << abi.LOG_MODE_SHIFT) | (cfg.logRemovals ? abi.FLAG_LOG_REMOVALS : 0);
    ex.set_flags(0, mode | (cfg.flavor === 'shared' ? abi.FLAG_CAN_WAIT : 0));
    this.io = ex.io_ptr(0);
    this.shape = {
      policy: cfg.policy,
      segments: this.h32(abi.H_SEGMENTS),
      entryHeader: this.h32(abi.H_ENTRY_HEADER),
      region: this.h32(abi.H_REGION),
      small: this.h32(abi.H_SMALL_BYTES),
      segEntries: this.h32(abi.H_SEG_ENTRIES),
      ghostSlots: this.h32(abi.H_GHOST_SLOTS),
      maxKey: this.h32(abi.H_MAX_KEY),
      maxValue: this.h32(abi.H_MAX_VALUE),
      seed,
      epoch: cfg.now ?? 0,
      defaultTtl: cfg.defaultTtl ?? 0,
      logMode: cfg.logMode ?? 0,
      logRemovals: cfg.logRemovals ?? false,
    };
  }

  static async create(cfg: RawConfig): Promise<RawCore> {
    const flavor = cfg.flavor ?? 'release';
    const module = coreModule(flavor);
    let imports: WebAssembly.Imports = {};
    if (flavor === 'shared') {
      const probe = (await WebAssembly.instantiate(module, { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }) } })) as unknown as { exports: RawExports };
      const end = probe.exports.arena_size(cfg.maxBytes, cfg.segments, cfg.threads ?? 1, cfg.maxKey, cfg.maxValue, cfg.maxEntries ?? 0, cfg.policy, cfg.flags ?? ((cfg.logMode ?? 0) !== 0 ? abi.INIT_LOG : 0));
      if (end < 0) throw new Error(`arena_size: ${end}`);
      imports = { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: Math.ceil(end / 65536), shared: true }) } };
    }
    const instance = await WebAssembly.instantiate(module, imports);
    return new RawCore(instance.exports as unknown as RawExports, { ...cfg, flavor });
  }

  get u8(): Uint8Array {
    return new Uint8Array(this.ex.memory.buffer);
  }

  get dv(): DataView {
    return new DataView(this.ex.memory.buffer);
  }

  h32(off: number): number {
    return this.dv.getUint32(this.H + off, true);
  }

  private put(key: Uint8Array, value?: Uint8Array): void {
    const u8 = this.u8;
    u8.set(key, this.io);
    if (value) u8.set(value, this.io + key.length);
  }

  private checkLog(r: number): number {
    if (r === abi.E_LOG_FULL) throw new Error('E_LOG_FULL: the test configuration must give the log room for a whole segment');
    return r;
  }

  set(key: Uint8Array, value: Uint8Array, ttl: number, now: number): number {
    this.put(key, value);
    return this.checkLog(this.ex.set(0, key.length, value.length, ttl, now));
  }

  get(key: Uint8Array, now: number): Uint8Array | null {
    this.put(key);
    const n = this.ex.get(0, key.length, now);
    return n >= 0 ? this.u8.slice(this.io, this.io + n) : null;
  }

  getRef(key: Uint8Array, now: number): Uint8Array | null {
    this.put(key);
    const n = this.ex.get_ref(0, key.length, now);
    if (n < 0) return null;
    const at = this.dv.getUint32(this.io, true);
    return this.u8.slice(at, at + n);
  }

  peek(key: Uint8Array, now: number): Uint8Array | null {
    this.put(key);
    const n = this.ex.peek(0, key.length, now);
    return n >= 0 ? this.u8.slice(this.io, this.io + n) : null;
  }

  has(key: Uint8Array, now: number): number {
    this.put(key);
    return this.ex.has(0, key.length, now);
  }

  remove(key: Uint8Array, now: number): number {
    this.put(key);
    return this.checkLog(this.ex.remove(0, key.length, now));
  }

  sweep(seg: number, maxSteps: number, now: number, restart: boolean): [number, number, number] {
    const r = this.ex.sweep(0, seg, maxSteps, now, restart ? abi.SWEEP_RESTART : 0);
    if (r < 0) throw new Error(`sweep: ${r}`);
    const dv = this.dv;
    return [dv.getUint32(this.io + abi.SW_REMOVED, true), dv.getUint32(this.io + abi.SW_EXAMINED, true), dv.getUint32(this.io + abi.SW_PASS_DONE, true)];
  }

  stats(seg: number) {
    if (this.ex.stats(0, seg) !== abi.STATS_SIZE) throw new Error('stats failed');
    const dv = this.dv;
    const o = this.io;
    const u32 = (f: number) => dv.getUint32(o + f, true);
    const u64 = (f: number) => Number(dv.getBigUint64(o + f, true));
    return {
      entries: u32(abi.ST_ENTRIES), bytesUsed: u32(abi.ST_BYTES_USED), budget: u32(abi.ST_BUDGET), region: u32(abi.ST_REGION),
      maxEntries: u32(abi.ST_MAX_ENTRIES), logBytes: u32(abi.ST_LOG_BYTES), smallEntries: u32(abi.ST_SMALL_ENTRIES),
      smallBytes: u32(abi.ST_SMALL_BYTES), hits: u64(abi.ST_HITS), misses: u64(abi.ST_MISSES), sets: u64(abi.ST_SETS),
      deletes: u64(abi.ST_DELETES), evictions: u64(abi.ST_EVICTIONS), expirations: u64(abi.ST_EXPIRATIONS),
      rejected: u64(abi.ST_REJECTED), moves: u64(abi.ST_MOVES), recoveries: u64(abi.ST_RECOVERIES),
      indexEvictions: u64(abi.ST_INDEX_EVICTIONS), ghostHits: u64(abi.ST_GHOST_HITS), sweepPasses: u64(abi.ST_SWEEP_PASSES),
    };
  }

  info(key: Uint8Array, now: number): [vlen: number, cost: number, expires: number] | null {
    this.put(key);
    if (this.ex.info(0, key.length, now) !== 1) return null;
    const dv = this.dv;
    return [dv.getUint32(this.io + abi.INFO_VLEN, true), dv.getUint32(this.io + abi.INFO_COST, true), dv.getFloat64(this.io + abi.INFO_EXPIRES, true)];
  }

  /** A whole segment through scan, `chunk` entries per call: [key hex, value hex, expires][]. */
  scanSegment(seg: number, chunk: number, flags: number, now: number): [string, string, number][] {
    const out: [string, string, number][] = [];
    this.dv.setUint32(this.io + abi.SCAN_STATE, abi.SCAN_START, true);
    const records = (abi.SCAN_KEY + this.shape.maxKey + 7) & ~7;
    for (let calls = 0; ; calls++) {
      if (calls > 100_000) throw new Error('scan does not finish');
      const n = this.ex.scan(0, seg, chunk, flags, now);
      if (n < 0) throw new Error(`scan: ${n}`);
      const dv = this.dv;
      let p = this.io + records;
      for (let i = 0; i < n; i++) {
        const klen = dv.getUint32(p, true);
        const vlen = dv.getUint32(p + 4, true);
        const exp = dv.getFloat64(p + 8, true);
        const k = p + abi.SCAN_RECORD_HEADER;
        out.push([Buffer.from(this.u8.subarray(k, k + klen)).toString('hex'), Buffer.from(this.u8.subarray(k + klen, k + klen + vlen)).toString('hex'), exp]);
        p += (abi.SCAN_RECORD_HEADER + klen + vlen + 7) & ~7;
      }
      if (dv.getUint32(this.io + abi.SCAN_STATE, true) === abi.SCAN_DONE) return out;
    }
  }

  /** Reads and empties the slot's eviction log. */
  drain(): LogRecord[] {
    const log = this.ex.log_ptr(0);
    if (this.h32(abi.H_LOG_BYTES) === 0) return [];
    const dv = this.dv;
    const n = dv.getUint32(log, true);
    const out: LogRecord[] = [];
    let p = log + abi.LOG_HEADER;
    for (let i = 0; i < n; i++) {
      const reason = dv.getUint32(p, true);
      const klen = dv.getUint32(p + 4, true);
      const vlen = dv.getUint32(p + 8, true);
      const k = p + abi.REC_HEADER;
      out.push([reason, Buffer.from(this.u8.subarray(k, k + klen)).toString('hex'), Buffer.from(this.u8.subarray(k + klen, k + klen + vlen)).toString('hex')]);
      p += (abi.REC_HEADER + klen + vlen + 3) & ~3;
    }
    dv.setUint32(log, 0, true);
    dv.setUint32(log + 4, 0, true);
    return out;
  }

  /** 0 for every segment, else [segment, code]. */
  check(): [number, number] | 0 {
    for (let s = 0; s < this.shape.segments; s++) {
      const r = this.ex.check(0, s);
      if (r !== 0) return [s, r];
    }
    return 0;
  }
}

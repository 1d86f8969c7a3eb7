/**
 * A Map-based ByteCache (LRU by insertion order, TTL, byte budget) used only to develop the
 * cluster layer before the real ArenaCache existed, and in unit tests of pure cluster logic.
 */
import type { ByteCache, CacheStats, Key, SetOptions, Value } from '../../src/core/types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Entry {
  value: Uint8Array;
  expiresAt: number;
}

export interface MapCacheOptions {
  maxBytes: number;
  ttl?: number;
  maxKeyBytes?: number;
  maxValueBytes?: number;
  clock?: () => number;
}

export class MapCache implements ByteCache {
  private readonly map = new Map<string, Entry>();
  private used = 0;
  private hits = 0;
  private misses = 0;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  private readonly clock: () => number;

  constructor(private readonly opts: MapCacheOptions) {
    this.maxKeyBytes = opts.maxKeyBytes ?? 1024;
    this.maxValueBytes = opts.maxValueBytes ?? Math.min(opts.maxBytes, 8 << 20);
    this.clock = opts.clock ?? Date.now;
  }

  static async create(opts: MapCacheOptions): Promise<MapCache> {
    return new MapCache(opts);
  }

  private k(key: Key): string {
    const s = typeof key === 'string' ? key : dec.decode(key);
    if (enc.encode(s).length > this.maxKeyBytes) throw new RangeError('key too long');
    return s;
  }

  private live(key: string): Entry | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expiresAt !== 0 && this.clock() >= e.expiresAt) {
      this.drop(key, e);
      return undefined;
    }
    return e;
  }

  private drop(key: string, e: Entry): void {
    this.map.delete(key);
    this.used -= e.value.length + key.length;
  }

  get(key: Key): Uint8Array | undefined {
    const s = this.k(key);
    const e = this.live(s);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(s);
    this.map.set(s, e);
    return e.value.slice();
  }

  peek(key: Key): Uint8Array | undefined {
    return this.live(this.k(key))?.value.slice();
  }

  has(key: Key): boolean {
    return this.live(this.k(key)) !== undefined;
  }

  set(key: Key, value: Value, options?: SetOptions): this {
    const s = this.k(key);
    const v = typeof value === 'string' ? enc.encode(value) : value.slice();
    if (v.length > this.maxValueBytes) throw new RangeError('value too large');
    const old = this.map.get(s);
    if (old) this.drop(s, old);
    const ttl = options?.ttl ?? this.opts.ttl ?? 0;
    this.map.set(s, { value: v, expiresAt: ttl > 0 ? this.clock() + ttl : 0 });
    this.used += v.length + s.length;
    while (this.used > this.opts.maxBytes) {
      const first = this.map.entries().next();
      if (first.done) break;
      this.drop(first.value[0], first.value[1]);
    }
    return this;
  }

  delete(key: Key): boolean {
    const s = this.k(key);
    const e = this.map.get(s);
    if (!e) return false;
    this.drop(s, e);
    return true;
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.used;
  }

  stats(): CacheStats {
    const seg = {
      entries: this.map.size,
      bytesUsed: this.used,
      budget: this.opts.maxBytes,
      freeBytes: 0,
      freeBlocks: 0,
      untouchedBytes: this.opts.maxBytes - this.used,
      hits: this.hits,
      misses: this.misses,
      sets: 0,
      deletes: 0,
      evictions: 0,
      expirations: 0,
      rejected: 0,
      compactions: 0,
      recoveries: 0,
    };
    const total = this.hits + this.misses;
    return { ...seg, segments: [seg], memoryBytes: this.opts.maxBytes, hitRatio: total ? this.hits / total : 0, fragmentation: 0 };
  }
}

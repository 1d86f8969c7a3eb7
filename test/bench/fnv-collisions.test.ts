// The adversarial bench's key generator: every key it returns must collide under FNV-1a 32.
import { describe, expect, it } from 'vitest';
import { fnv1a32, fnvMulticollision, randomKeysLike } from '../../bench/lib/fnv-collisions.mjs';

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32 test vectors', () => {
    // from the FNV reference (draft-eastlake-fnv): offset basis 2166136261, prime 16777619
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
  it('continues from a state as if the prefix were part of the key', () => {
    expect(fnv1a32('bar', fnv1a32('foo'))).toBe(fnv1a32('foobar'));
  });
});

describe('fnvMulticollision', () => {
  it('gives 2^16 distinct URL-safe keys of one length that share one FNV-1a 32 hash', () => {
    const { keys, hash } = fnvMulticollision({ stages: 16, prefix: 'k/', seed: 7 });
    expect(keys.length).toBe(65536);
    expect(new Set(keys).size).toBe(65536);
    for (const k of keys) {
      expect(k).toMatch(/^k\/[A-Za-z0-9_-]{64}$/);
      expect(fnv1a32(k)).toBe(hash);
    }
  });
  it('is deterministic for a seed and differs between seeds', () => {
    const a = fnvMulticollision({ stages: 4, seed: 1 });
    expect(fnvMulticollision({ stages: 4, seed: 1 }).keys).toEqual(a.keys);
    expect(fnvMulticollision({ stages: 4, seed: 2 }).keys).not.toEqual(a.keys);
  });
});

describe('randomKeysLike', () => {
  it('makes control keys of the same shape whose hashes spread', () => {
    let s = 1;
    const rand = {
      u32: () => {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        return s >>> 0;
      },
    };
    const keys = randomKeysLike(1000, { prefix: 'k/', length: 64, rand });
    for (const k of keys) expect(k).toMatch(/^k\/[A-Za-z0-9_-]{64}$/);
    expect(new Set(keys.map((k) => fnv1a32(k))).size).toBe(1000);
  });
});

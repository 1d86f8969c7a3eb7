// Keys chosen to collide: 4,096 URL-safe keys with one unkeyed FNV-1a 32 hash (a Joux
// multicollision, what an attacker who knows the hash computes in a second). Under ABI 1 they all
// fell into one segment and one bucket chain. Now the segment hash is seeded and the index hash
// is keyed SipHash: with any seed, every key stays in one of its two buckets (the checker walks
// that for every entry: the probe bound), nothing is evicted for lack of index room, and each key
// is found. With seed word 0 = 0 (the published FNV-1a basis) they do share one segment: a
// segment is then merely full, which costs evictions, never a slower operation.
import { describe, expect, it } from 'vitest';
import * as abi from '../../src/core/abi.generated.js';
import { fnvMulticollision, fnv1a32 } from '../../bench/lib/fnv-collisions.mjs';
import { RawCore } from './policy-model/raw-core.js';

const { keys } = fnvMulticollision({ stages: 12, seed: 7 });
const enc = new TextEncoder();

describe('keys that collide under unkeyed FNV-1a', () => {
  it('are 4,096 distinct keys with one FNV-1a hash', () => {
    expect(new Set(keys).size).toBe(4096);
    expect(new Set(keys.map((k) => fnv1a32(k))).size).toBe(1);
  });

  for (const [name, policy] of [['lru', abi.POLICY_LRU], ['clock', abi.POLICY_CLOCK], ['s3fifo', abi.POLICY_S3FIFO]] as const) {
    for (const seed0 of [0, 0x5eed]) {
      it(`${name}, seed word 0 = ${seed0}: every key stored, found and within its two buckets`, async () => {
        const core = await RawCore.create({
          policy, maxBytes: 16 * 1024 * 1024, segments: 16, maxKey: 256, maxValue: 1024, maxEntries: 16 * 4096,
          seed: [seed0, 0x1234567, 0x89abcdef, 0x2468ace], now: 0,
        });
        for (const [i, k] of keys.entries()) expect(core.set(enc.encode(k), enc.encode(`v${i}`), 0, 0)).toBe(abi.OK);
        expect(core.ex.count()).toBe(keys.length);
        for (const [i, k] of keys.entries()) expect(new TextDecoder().decode(core.get(enc.encode(k), 0)!)).toBe(`v${i}`);
        expect(core.check()).toBe(0);
        const per = Array.from({ length: 16 }, (_, s) => core.stats(s));
        expect(per.reduce((n, s) => n + s.indexEvictions + s.evictions, 0)).toBe(0);
        const used = per.filter((s) => s.entries > 0).length;
        // Unseeded, FNV-1a sends them all to one segment; seeded, they spread over all 16.
        if (seed0 === 0) expect(used).toBe(1);
        else expect(used).toBe(16);
      });
    }
  }
});

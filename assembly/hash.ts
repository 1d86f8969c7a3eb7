// Hashing. FNV-1a (32-bit) picks a key's segment; SipHash-1-3 keyed with the arena's random seed
// places it in the segment's index. The index hash is keyed because keys may come from the
// internet: FNV-1a multicollisions are cheap to compute, SipHash collisions are not without the
// key. The segment hash is seeded too (its offset basis is xored with the seed), which breaks
// precomputed FNV-1a collisions; a skewed segment choice could only fill one segment, never make
// an operation slow, since every index probe is bounded.

import { H_SEED } from './abi';
import { headerPtr } from './layout';

export const FNV_OFFSET: u32 = 2166136261;
export const FNV_PRIME: u32 = 16777619;

/** FNV-1a of `len` bytes at `ptr`, from offset basis `basis` (FNV_OFFSET for the published vectors). */
export function fnv1a(ptr: usize, len: usize, basis: u32): u32 {
  let h = basis;
  const end = ptr + len;
  while (ptr < end) {
    h = (h ^ <u32>load<u8>(ptr)) * FNV_PRIME;
    ptr++;
  }
  return h;
}

/** The arena's segment hash of a key: FNV-1a from the seeded offset basis. */
// @ts-ignore: decorator
@inline export function segmentHash(ptr: usize, len: usize): u32 {
  return fnv1a(ptr, len, FNV_OFFSET ^ load<u32>(headerPtr() + <usize>H_SEED));
}

/** murmur3's fmix32: a bijection that spreads every input bit over the output. */
// @ts-ignore: decorator
@inline export function mix32(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

/**
 * The segment is chosen by the top `bits` bits of the finalised segment hash. FNV-1a's own top
 * bits are poorly mixed for similar keys (segments of uneven load cost hit ratio: 3.6 points on
 * a real trace, docs/policies.md); the finaliser fixes that.
 */
// @ts-ignore: decorator
@inline export function segmentOf(h: u32, bits: u32): u32 {
  return <u32>((<u64>mix32(h) << bits) >> 32);
}

/** SipHash-1-3 of `len` bytes at `ptr`, keyed with the arena seed. */
export function indexHash(ptr: usize, len: usize): u64 {
  const H = headerPtr() + <usize>H_SEED;
  const k0 = load<u64>(H);
  const k1 = load<u64>(H + 8);
  let v0: u64 = 0x736f6d6570736575 ^ k0;
  let v1: u64 = 0x646f72616e646f6d ^ k1;
  let v2: u64 = 0x6c7967656e657261 ^ k0;
  let v3: u64 = 0x7465646279746573 ^ k1;
  const end = ptr + (len & ~(<usize>7));
  while (ptr < end) {
    const m = load<u64>(ptr);
    v3 ^= m;
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
    v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
    v0 ^= m;
    ptr += 8;
  }
  // The last 0-7 bytes, byte by byte: a wider load could read past the end of memory.
  let b: u64 = <u64>len << 56;
  const rest = len & 7;
  for (let i: usize = 0; i < rest; i++) b |= <u64>load<u8>(ptr + i) << (<u64>i << 3);
  v3 ^= b;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 ^= b;
  v2 ^= 0xff;
  for (let i = 0; i < 3; i++) {
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
    v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  }
  return v0 ^ v1 ^ v2 ^ v3;
}

/** True if the `len` bytes at a and b are equal. */
export function bytesEqual(a: usize, b: usize, len: usize): bool {
  while (len >= 8) {
    if (load<u64>(a) != load<u64>(b)) return false;
    a += 8;
    b += 8;
    len -= 8;
  }
  while (len > 0) {
    if (load<u8>(a) != load<u8>(b)) return false;
    a++;
    b++;
    len--;
  }
  return true;
}

// FNV-1a (32-bit) picks the segment; a finaliser remixes it for the bucket inside a segment so the
// bits that chose the segment do not weaken the index.

export const FNV_OFFSET: u32 = 2166136261;
export const FNV_PRIME: u32 = 16777619;

export function fnv1a(ptr: usize, len: usize): u32 {
  let h = FNV_OFFSET;
  const end = ptr + len;
  while (ptr < end) {
    h = (h ^ <u32>load<u8>(ptr)) * FNV_PRIME;
    ptr++;
  }
  return h;
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

/** The segment is chosen by the top `bits` bits of the FNV-1a hash. */
// @ts-ignore: decorator
@inline export function segmentOf(h: u32, bits: u32): u32 {
  return <u32>((<u64>h << bits) >> 32);
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

// SipHash-c-d (Aumasson & Bernstein) over BigInt, for the reference model: the core places keys
// in its index and ghost filter with SipHash-1-3 keyed by the arena seed.
const M64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint) => ((x << b) | (x >> (64n - b))) & M64;

function readU64(bytes: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
  return v;
}

/** SipHash-c-d of `msg` with the 128-bit key k0 (low) | k1 (high). */
export function siphash(msg: Uint8Array, k0: bigint, k1: bigint, c = 1, d = 3): bigint {
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = () => {
    v0 = (v0 + v1) & M64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const full = msg.length - (msg.length % 8);
  for (let i = 0; i < full; i += 8) {
    const m = readU64(msg, i);
    v3 ^= m;
    for (let r = 0; r < c; r++) round();
    v0 ^= m;
  }
  let b = BigInt(msg.length & 0xff) << 56n;
  for (let i = 0; i < msg.length % 8; i++) b |= BigInt(msg[full + i]) << BigInt(8 * i);
  v3 ^= b;
  for (let r = 0; r < c; r++) round();
  v0 ^= b;
  v2 ^= 0xffn;
  for (let r = 0; r < d; r++) round();
  return (v0 ^ v1 ^ v2 ^ v3) & M64;
}

/** The arena's index hash: SipHash-1-3 keyed by the four seed words (little-endian). */
export function indexHash(key: Uint8Array, seed: readonly number[]): bigint {
  const k0 = BigInt(seed[0] >>> 0) | (BigInt(seed[1] >>> 0) << 32n);
  const k1 = BigInt(seed[2] >>> 0) | (BigInt(seed[3] >>> 0) << 32n);
  return siphash(key, k0, k1, 1, 3);
}

/** The arena's segment hash: FNV-1a from the offset basis xored with seed word 0. */
export function segmentHash(key: Uint8Array, seed0: number): number {
  let h = (0x811c9dc5 ^ seed0) >>> 0;
  for (const b of key) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h >>> 0;
}

/** murmur3's fmix32, which finalises the segment hash before its top bits pick the segment. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Seeded 32-bit hash of an integer key (murmur3's finaliser over key ^ seed). The simulators need
// it to spread dense trace ids over segments and ghost slots; the seed is what the noise runs vary.

/** 32-bit hash of a non-negative integer key under `seed`; uniform enough for bucket choice. */
export function hash32(key, seed) {
  let h = (key ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  // a second round, so keys differing in the top bits only still spread
  h = Math.imul((h ^ 0x9e3779b9) ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}

// The values of the cluster section's keys, one function for every side: the owner's origin
// module makes them (bench/lib/fetch-origin.mjs), Redis is filled with them, and every client
// compares each value it gets with them byte for byte. Deterministic, different for every key
// (a key's bytes are an xorshift stream seeded by the key's hash).

/** The `size` bytes of `key`. */
export function fetchValue(key, size) {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  const out = Buffer.allocUnsafe(size);
  let x = h | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

/** The keys of a group, in the order the closed loop walks them. */
export function fetchKeys(group, count) {
  return Array.from({ length: count }, (_, i) => `${group}:${i}`);
}

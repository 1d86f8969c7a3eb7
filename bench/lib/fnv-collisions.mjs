// Keys that all collide under unkeyed 32-bit FNV-1a, built by a Joux multicollision.
//
// FNV-1a is iterated: the hash after a key's prefix is the whole state. So if two short blocks
// b0 ≠ b1 take state s to the same state s', any key continues the same way after either, and
// k stages of such pairs give 2^k keys (one choice per stage) that all end in the same state.
// Each pair is found by a birthday search among 4-character blocks from the common state: about
// 2^16 blocks per stage for a 32-bit state, so 16 stages (65,536 keys) take well under a second.
// This is what an attacker who knows the hash can do to any unkeyed index: the bench uses the
// keys to show what such a key set costs (issue 17, "an index whose cost no key set can change").

export const FNV_OFFSET = 2166136261;
export const FNV_PRIME = 16777619;

/** URL-safe ASCII (RFC 4648 base64url): keys that a path segment or header carries unescaped. */
export const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BLOCK = 4; // characters per stage: 64^4 = 2^24 candidates, ample for a 32-bit birthday search

/** FNV-1a 32 of the bytes of an ASCII string, continuing from `h` (a state after a prefix). */
export function fnv1a32(s, h = FNV_OFFSET) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) throw new RangeError('fnv1a32: ASCII only (the bytes would differ from the UTF-16 units)');
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return h >>> 0;
}

const blockOf = (x) => ALPHABET[(x >>> 18) & 63] + ALPHABET[(x >>> 12) & 63] + ALPHABET[(x >>> 6) & 63] + ALPHABET[x & 63];

/**
 * Two different blocks that take `state` to the same state: a birthday search over blocks drawn
 * at random (an LCG on `rnd`). Random draws matter: enumerating blocks in order needs ~100× more
 * tries, because consecutive blocks differ in their last byte only and FNV's final multiply is a
 * bijection, so they never collide with each other.
 */
function collidingPair(state, rnd) {
  const seen = new Map();
  for (let j = 0; j < 1 << 26; j++) {
    rnd.s = (Math.imul(rnd.s, 1103515245) + 12345) >>> 0;
    const x = rnd.s >>> 8;
    const h = fnv1a32(blockOf(x), state);
    const other = seen.get(h);
    if (other !== undefined && other !== x) return { blocks: [blockOf(other), blockOf(x)], next: h };
    seen.set(h, x);
  }
  throw new Error('no FNV-1a collision found among 2^26 random blocks');
}

/**
 * 2^stages distinct keys `prefix + 4·stages characters` with one FNV-1a 32 hash.
 * Deterministic for a given seed. Returns `{ keys, hash, stages }`; keys are in the order of the
 * stage choices read as a binary number, so any prefix of the array is an arbitrary subset.
 */
export function fnvMulticollision({ stages = 16, prefix = 'k/', seed = 1 } = {}) {
  let state = fnv1a32(prefix);
  const rnd = { s: Math.imul(seed, 0x9e3779b1) >>> 0 };
  const pairs = [];
  for (let s = 0; s < stages; s++) {
    const p = collidingPair(state, rnd);
    pairs.push(p.blocks);
    state = p.next;
  }
  const keys = new Array(2 ** stages);
  for (let m = 0; m < keys.length; m++) {
    let k = prefix;
    for (let s = 0; s < stages; s++) k += pairs[s][(m >>> (stages - 1 - s)) & 1];
    keys[m] = k;
  }
  return { keys, hash: state >>> 0, stages };
}

/** `n` random keys shaped like the colliding ones (same prefix, same length): the control set. */
export function randomKeysLike(n, { prefix = 'k/', length = 64, rand }) {
  const keys = new Array(n);
  for (let i = 0; i < n; i++) {
    let k = prefix;
    for (let j = 0; j < length; j++) k += ALPHABET[rand.u32() >>> 26]; // top bits: the best ones of any generator
    keys[i] = k;
  }
  return keys;
}

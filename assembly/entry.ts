// An entry's header and its expiry time.
//
// entry (block) layout, 4-aligned:
//   0  u32 vlen
//   4  u16 klen
//   6  u8  flags (FL_DEAD)
//   7  u8  expiry bits 32-39
//   8  u32 expiry bits 0-31     ms after the arena's EPOCH, rounded up; 0 = never
//  12  u32 prev, 16 u32 next    lru only
//  HDR key, then value          (may wrap around the ring's end)
// 40 bits of milliseconds cover 34 years after the arena was created.

import { H_EPOCH, H_DEFAULT_TTL, H_TTL_SEEN } from './abi';
import { E_VLEN, E_KLEN, E_FLAGS, E_EXP_HI, E_EXP_LO, FL_DEAD, headerPtr } from './layout';

const MAX_EXPIRY: f64 = 1099511627775; // 2^40 - 1

/** `now` as milliseconds after the arena's epoch. */
// @ts-ignore: decorator
@inline export function relTime(now: f64): f64 {
  return now - load<f64>(headerPtr() + <usize>H_EPOCH);
}

/** The stored expiry for a `ttl` given at time `now` (ttl < 0: the arena default; 0: never). */
export function expiryFor(ttl: f64, now: f64): u64 {
  if (ttl < 0) ttl = load<f64>(headerPtr() + <usize>H_DEFAULT_TTL);
  if (ttl <= 0) return 0;
  // Tell hosts the clock now matters (written once: no cache-line ping-pong between threads).
  if (load<u32>(headerPtr() + <usize>H_TTL_SEEN) == 0) store<u32>(headerPtr() + <usize>H_TTL_SEEN, 1);
  let x = Math.ceil(relTime(now) + ttl);
  if (!(x >= 1)) x = 1;
  if (x > MAX_EXPIRY) x = MAX_EXPIRY;
  return <u64>x;
}

// @ts-ignore: decorator
@inline export function expiryOf(e: usize): u64 {
  return (<u64>load<u8>(e + E_EXP_HI) << 32) | <u64>load<u32>(e + E_EXP_LO);
}

// @ts-ignore: decorator
@inline export function setExpiry(e: usize, x: u64): void {
  store<u8>(e + E_EXP_HI, <u8>(x >> 32));
  store<u32>(e + E_EXP_LO, <u32>x);
}

/** Expired at relative time `rel` (an expiry x means: gone once rel >= x). */
// @ts-ignore: decorator
@inline export function isExpired(e: usize, rel: f64): bool {
  const x = expiryOf(e);
  return x != 0 && <f64>x <= rel;
}

// @ts-ignore: decorator
@inline export function isDead(e: usize): bool {
  return (<u32>load<u8>(e + E_FLAGS) & FL_DEAD) != 0;
}

// @ts-ignore: decorator
@inline export function writeHeader(e: usize, klen: u32, vlen: u32, x: u64): void {
  store<u32>(e + E_VLEN, vlen);
  store<u16>(e + E_KLEN, <u16>klen);
  store<u8>(e + E_FLAGS, 0);
  setExpiry(e, x);
}

// A ring: a circular log of blocks inside a segment's storage. Blocks are appended at the head
// and reclaimed at the tail, so allocation never searches and never fragments: a removed entry
// leaves a dead block that the tail passes over later. Every structure that moves entries moves
// them from a tail to a head, one block at a time, so the work of any call is linear in what it
// moves.
//
//   START                                                     END
//     |  ...live/dead blocks...  | gap (free) |  ...blocks...  |
//                              HEAD          TAIL
//
// A block is [entry header][key][value] padded to 4 bytes. Its header never straddles END (a
// position closer than one header to END is skipped: the next block starts at START), but its key
// and value may wrap around to START. SPAN counts the bytes from TAIL to HEAD, skipped bytes
// included. Between calls a ring keeps at least one entry header's worth of bytes free, so that
// HEAD == TAIL means empty and a move from tail to head always has a free byte to spare.

import { H_ENTRY_HEADER } from './abi';
import {
  R_START, R_END, R_HEAD, R_TAIL, R_SPAN, R_TAIL_LSN, S_RING0, S_RING1, S_CURSOR,
  E_VLEN, E_KLEN, hdr32, align4,
} from './layout';

// @ts-ignore: decorator
@inline export function entryHeader(): usize {
  return <usize>hdr32(H_ENTRY_HEADER);
}

// @ts-ignore: decorator
@inline export function blockSize(e: usize): usize {
  return align4(entryHeader() + <usize>load<u16>(e + E_KLEN) + <usize>load<u32>(e + E_VLEN));
}

/** The ring holding position `e`, or 0 if `e` is in neither ring (only possible for torn reads). */
// @ts-ignore: decorator
@inline export function ringOf(seg: usize, e: usize): usize {
  const r0 = seg + S_RING0;
  if (e >= <usize>load<u32>(r0 + R_START) && e < <usize>load<u32>(r0 + R_END)) return r0;
  const r1 = seg + S_RING1;
  if (e >= <usize>load<u32>(r1 + R_START) && e < <usize>load<u32>(r1 + R_END)) return r1;
  return 0;
}

// @ts-ignore: decorator
@inline export function ringLen(r: usize): usize {
  return <usize>load<u32>(r + R_END) - <usize>load<u32>(r + R_START);
}

/** Free bytes a new block may use (negative for a moment after moves near the ring's end). */
// @ts-ignore: decorator
@inline export function ringGap(r: usize): i64 {
  return <i64>ringLen(r) - <i64>load<u32>(r + R_SPAN) - <i64>entryHeader();
}

/** Whether a `size`-byte block can be appended now. */
// @ts-ignore: decorator
@inline export function ringFits(r: usize, size: usize): bool {
  return <i64>ringNeeded(r, size) <= ringGap(r);
}

/** Where the block after a `size`-byte block at `pos` starts. */
export function ringNext(r: usize, pos: usize, size: usize): usize {
  const start = <usize>load<u32>(r + R_START);
  const end = <usize>load<u32>(r + R_END);
  let n = pos + size;
  if (n >= end) n = start + (n - end);
  else if (end - n < entryHeader()) n = start;
  return n;
}

/** Bytes of ring from `a` forward to `b` (a block and the end it skips). */
// @ts-ignore: decorator
@inline export function ringDistance(r: usize, a: usize, b: usize): usize {
  return b >= a ? b - a : b + ringLen(r) - a;
}

/** Bytes a `size`-byte block appended now consumes (with the end it may skip). */
// @ts-ignore: decorator
@inline export function ringNeeded(r: usize, size: usize): usize {
  const head = <usize>load<u32>(r + R_HEAD);
  return ringDistance(r, head, ringNext(r, head, size));
}

/** Appends a block of `size` bytes at the head (the caller checked ringNeeded <= ringGap). */
export function ringAppend(r: usize, size: usize): usize {
  const head = <usize>load<u32>(r + R_HEAD);
  const next = ringNext(r, head, size);
  store<u32>(r + R_HEAD, <u32>next);
  store<u32>(r + R_SPAN, load<u32>(r + R_SPAN) + <u32>ringDistance(r, head, next));
  return head;
}

/** Drops the tail block (the caller already removed or moved its entry); keeps the sweep cursor valid. */
export function ringDropTail(seg: usize, r: usize): void {
  const tail = <usize>load<u32>(r + R_TAIL);
  const next = ringNext(r, tail, blockSize(tail));
  const used = ringDistance(r, tail, next);
  store<u32>(r + R_TAIL, <u32>next);
  store<u32>(r + R_SPAN, load<u32>(r + R_SPAN) - <u32>used);
  store<u64>(r + R_TAIL_LSN, load<u64>(r + R_TAIL_LSN) + <u64>used);
  if (<usize>load<u32>(seg + S_CURSOR) == tail) store<u32>(seg + S_CURSOR, <u32>next);
}

/** Position `p` of ring `r` after moving `off` bytes forward (wrapping at the end, no skipping). */
// @ts-ignore: decorator
@inline export function ringAt(r: usize, p: usize, off: usize): usize {
  const n = p + off;
  const end = <usize>load<u32>(r + R_END);
  return n >= end ? n - end + <usize>load<u32>(r + R_START) : n;
}

/** Copies `len` bytes from flat memory into ring `r` at `dst` (which may wrap). */
export function ringWrite(r: usize, dst: usize, src: usize, len: usize): void {
  const end = <usize>load<u32>(r + R_END);
  if (dst + len <= end) {
    memory.copy(dst, src, len);
    return;
  }
  const first = end - dst;
  memory.copy(dst, src, first);
  memory.copy(<usize>load<u32>(r + R_START), src + first, len - first);
}

/** Copies `len` bytes of ring `r` at `src` (which may wrap) to flat memory. */
export function ringRead(r: usize, src: usize, dst: usize, len: usize): void {
  const end = <usize>load<u32>(r + R_END);
  if (src + len <= end) {
    memory.copy(dst, src, len);
    return;
  }
  const first = end - src;
  memory.copy(dst, src, first);
  memory.copy(dst + first, <usize>load<u32>(r + R_START), len - first);
}

/**
 * Copies a `len`-byte block from ring `rs` at `src` to ring `rd` at `dst`, chunk by chunk where
 * neither side wraps. Within one ring the destination precedes the source (the gap lies just
 * before the tail), so copying in ring order never overwrites bytes not yet copied.
 */
export function ringMove(rs: usize, src: usize, rd: usize, dst: usize, len: usize): void {
  const sEnd = <usize>load<u32>(rs + R_END);
  const dEnd = <usize>load<u32>(rd + R_END);
  while (len > 0) {
    let chunk = len;
    if (sEnd - src < chunk) chunk = sEnd - src;
    if (dEnd - dst < chunk) chunk = dEnd - dst;
    memory.copy(dst, src, chunk);
    len -= chunk;
    src += chunk;
    dst += chunk;
    if (src == sEnd) src = <usize>load<u32>(rs + R_START);
    if (dst == dEnd) dst = <usize>load<u32>(rd + R_START);
  }
}

/** The ring position of history offset `lsn` (between the tail's and the head's). */
// @ts-ignore: decorator
@inline export function ringPosOf(r: usize, lsn: u64): usize {
  return <usize>load<u32>(r + R_START) + <usize>(lsn % <u64>ringLen(r));
}

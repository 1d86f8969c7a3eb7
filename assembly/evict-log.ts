// The per-thread eviction log: entries a call removes are reported to that call's thread through
// records in linear memory, so the core needs no imports. A record is written BEFORE its entry
// is removed; when the log is full the call stops with E_LOG_FULL (or quietly, where documented)
// and the host drains and repeats it, so no removal is ever lost.
//
// log: [u32 count][u32 bytes], then records [u32 reason][u32 klen][u32 vlen][key][value] (4-aligned)

import {
  H_LOG_BYTES, SL_FLAGS, LOG_MODE_SHIFT, LOG_MODE_MASK, LOG_KEYS_AND_VALUES, FLAG_LOG_REMOVALS,
  LOG_HEADER, REC_HEADER, REASON_DELETE, REASON_REPLACE,
} from './abi';
import { E_VLEN, E_KLEN, hdr32, slotPtr, logPtr } from './layout';
import { entryHeader, ringRead, ringAt, ringOf } from './ring';

/**
 * Appends a record for entry `e` of segment `seg` when slot `slot` asked for one. Returns false
 * when the log is full: the caller must stop before removing the entry.
 */
export function logRemoval(slot: u32, seg: usize, e: usize, reason: u32): bool {
  const flags = load<u32>(slotPtr(slot) + <usize>SL_FLAGS);
  const mode = (flags >> LOG_MODE_SHIFT) & LOG_MODE_MASK;
  if (mode == 0) return true;
  if ((reason == REASON_DELETE || reason == REASON_REPLACE) && (flags & FLAG_LOG_REMOVALS) == 0) return true;
  const cap = <usize>hdr32(H_LOG_BYTES);
  if (cap == 0) return true;
  const klen = <usize>load<u16>(e + E_KLEN);
  const vlen = mode == LOG_KEYS_AND_VALUES ? <usize>load<u32>(e + E_VLEN) : 0;
  const recSize = (<usize>REC_HEADER + klen + vlen + 3) & ~(<usize>3);
  const log = logPtr(slot);
  const used = <usize>load<u32>(log + 4);
  if (<usize>LOG_HEADER + used + recSize > cap) return false;
  const rec = log + <usize>LOG_HEADER + used;
  store<u32>(rec, reason);
  store<u32>(rec + 4, <u32>klen);
  store<u32>(rec + 8, <u32>vlen);
  const r = ringOf(seg, e);
  const kp = e + entryHeader();
  ringRead(r, kp, rec + <usize>REC_HEADER, klen);
  if (vlen != 0) ringRead(r, ringAt(r, kp, klen), rec + <usize>REC_HEADER + klen, vlen);
  store<u32>(log, load<u32>(log) + 1);
  store<u32>(log + 4, <u32>(used + recSize));
  return true;
}

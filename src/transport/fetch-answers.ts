/**
 * How a peer's GetManyResponse answers the callers of a coalesced batch (the client side of
 * key-answers.ts): one loop over the items, each settling its slot — a value, not found, or that
 * key's error — with no closure and no object per key. A unary GetMany response answers every
 * slot in order; a GetStream frame answers the slots it names (`slots`), in any order, over
 * several frames. Items the owner could not fit (TOO_LARGE) are left for the caller to fetch with
 * Get. A response that does not fit its batch (more items than keys, a slot out of range) is a
 * protocol error for the whole batch.
 */
import * as grpc from '@grpc/grpc-js';
import { PeerUnavailableError } from '../cluster/errors.js';
import type { FetchResult } from '../cluster/peer.js';
import type { Batch } from './coalescer.js';
import { errorFromStatus } from './status.js';
import { ItemStatus, type GetManyResult } from './wire/messages.js';

/** Why a response cannot answer `b`, or undefined when it can. `ordered`: a unary response (every slot, in order). */
export function misfit(b: Batch<FetchResult>, r: GetManyResult, ordered: boolean, peerId: string): PeerUnavailableError | undefined {
  const n = b.keys.length;
  let problem: string | undefined;
  if (ordered) {
    if (r.count !== n || r.slots !== undefined) problem = `GetMany answered ${r.count} items for ${n} keys`;
  } else if (r.slots === undefined) {
    if (r.count > n) problem = `a frame answered ${r.count} items for a batch of ${n} keys`;
  } else if (r.slots.length !== r.count) {
    problem = `a frame named ${r.slots.length} slots for ${r.count} items`;
  } else {
    for (const s of r.slots) {
      if (s >= n) {
        problem = `a frame answered slot ${s} of a batch of ${n} keys`;
        break;
      }
    }
  }
  return problem === undefined ? undefined : new PeerUnavailableError(`peer ${peerId}: ${problem}`, peerId, 'protocol');
}

/**
 * Settles the slots `r` answers (check `misfit` first). Returns the slots marked TOO_LARGE (to
 * fetch with Get), or undefined. `sizes` learns the sizes of the values that came back.
 */
export function settleFrom(b: Batch<FetchResult>, r: GetManyResult, peerId: string, sizes: ValueSizes): number[] | undefined {
  const { status, values, details, slots } = r;
  let tooLarge: number[] | undefined;
  let bytes = 0;
  let found = 0;
  for (let j = 0; j < r.count; j++) {
    const slot = slots === undefined ? j : slots[j]!;
    switch (status[j]) {
      case ItemStatus.FOUND: {
        const v = values[j]!;
        bytes += v.length;
        found++;
        b.settle(slot, v);
        break;
      }
      case ItemStatus.NOT_FOUND:
        b.settle(slot, undefined);
        break;
      case ItemStatus.TOO_LARGE:
        (tooLarge ??= []).push(slot);
        break;
      default: {
        const d = details?.[j];
        b.fail(slot, errorFromStatus(d?.code || grpc.status.UNKNOWN, d?.kind || undefined, d?.message || `item status ${status[j]}`, peerId));
      }
    }
  }
  if (found > 0) sizes.learn(b.group, bytes / found);
  return tooLarge;
}

/**
 * The value size a key of each group is expected to bring (a running average of what came back):
 * what a caller declares to the coalescer, so its byte cap bounds responses, not only requests.
 */
export class ValueSizes {
  private readonly avg = new Map<string, number>();

  expected(group: string): number {
    return this.avg.get(group) ?? 0;
  }

  learn(group: string, mean: number): void {
    const a = this.avg.get(group);
    this.avg.set(group, a === undefined ? mean : a + (mean - a) / 8);
  }
}

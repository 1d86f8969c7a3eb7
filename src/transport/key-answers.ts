/**
 * What a server answers for one key of a batch (GetMany, GetStream), and how it goes into a
 * response: a cached answer is written at once — its bytes copied straight from the cache's I/O
 * area into the message — and a key the group must load becomes a promise of an answer that never
 * rejects (an error is an answer: an ERROR item for that key alone).
 */
import { NOT_FOUND, type NotFound } from '../cluster/types.js';
import type { ServedGroup } from '../cluster/peer.js';
import type { GetManyResponseWriter } from './wire/get-many-response-writer.js';
import { statusOf, type WireStatus } from './status.js';

/** A loaded key's answer: its bytes, NOT_FOUND, or the status of its error. */
export type LoadAnswer = Uint8Array | NotFound | KeyError;

export class KeyError {
  constructor(
    readonly status: WireStatus,
    readonly message: string,
  ) {}
}

/**
 * The key's cached answer, or undefined when it must be loaded (`loadAnswer`). The bytes may be a
 * view the next call on the group overwrites: write them before anything else touches the group.
 */
export function cachedAnswer(group: ServedGroup, key: string): Uint8Array | NotFound | undefined {
  if (group.serveCachedView !== undefined) return group.serveCachedView(key);
  return group.serveCached?.(key);
}

/** Loads a key `cachedAnswer` did not have (or any key of a group that answers nothing from cache). */
export function loadAnswer(group: ServedGroup, key: string): Promise<LoadAnswer> {
  let p: Promise<Uint8Array | undefined>;
  try {
    p = group.serveLoad !== undefined && (group.serveCachedView !== undefined || group.serveCached !== undefined) ? group.serveLoad(key) : group.serveGet(key);
  } catch (err) {
    return Promise.resolve(keyError(err));
  }
  return p.then(loaded, keyError);
}

function loaded(v: Uint8Array | undefined): LoadAnswer {
  return v === undefined ? NOT_FOUND : v;
}

export function keyError(err: unknown): KeyError {
  return new KeyError(statusOf(err), err instanceof Error ? err.message : String(err));
}

/** Writes one key's answer as the next item of `w`. */
export function writeAnswer(w: GetManyResponseWriter, a: LoadAnswer): void {
  if (a === NOT_FOUND) w.notFound();
  else if (a instanceof KeyError) w.error(a.status.code, a.status.kind ?? '', a.message);
  else w.found(a);
}

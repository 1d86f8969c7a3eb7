/**
 * Paged key listings: `GET /v1/groups/{group}/keys?prefix=P&limit=N[&cursor=C]`.
 *
 * A listing is this node's keys of the group — those it holds as their owner (`Group.ownedKeys`;
 * list every node for the whole group) — optionally only those starting with `prefix`. The first
 * page starts an iteration over the group's main cache; its `cursor` names that iteration, kept
 * on this node, and the next page continues it. So the pages together give ArenaCache's iteration
 * guarantee: every key present for the whole listing is listed exactly once; keys added or
 * removed meanwhile may or may not be. A page holds at most `limit` keys and examines at most
 * MAX_EXAMINED entries (the event loop is never held for a whole cache), so it may hold fewer —
 * even none — and still not be the last: the listing is over when `cursor` is null.
 *
 * At most MAX_LISTINGS iterations are kept; one unused for IDLE_MS, or the least recently used
 * when a new one needs room, is dropped: its cursor then answers 410 `cursor_expired`.
 */
import { randomBytes } from 'node:crypto';
import type { Group } from '../cluster/group.js';
import { utf8Length } from '../cluster/hash.js';
import { HttpError } from './http-io.js';

export const LISTING = {
  defaultLimit: 100,
  maxLimit: 1000,
  /** Entries one page examines at most. */
  maxExamined: 65_536,
  /** Iterations kept at once. */
  maxListings: 8,
  /** An iteration not continued for this long is dropped (ms). */
  idleMs: 60_000,
} as const;

const PARAMS = new Set(['prefix', 'limit', 'cursor']);

interface Listing {
  group: Group;
  prefix: string;
  keys: Iterator<string | undefined>;
  usedAt: number;
}

export interface KeyPage {
  group: string;
  keys: string[];
  /** Pass it as `cursor` for the next page; null when the listing is complete. */
  cursor: string | null;
}

export class KeyListings {
  private readonly listings = new Map<string, Listing>();

  constructor(private readonly now: () => number = Date.now) {}

  /** One page for `rawQuery` (the URL's query string, undecoded). Throws HttpError for bad input. */
  page(group: Group, rawQuery: string): KeyPage {
    const q = parseQuery(rawQuery);
    const limit = parseLimit(q.get('limit'));
    const prefix = q.get('prefix') ?? '';
    if (utf8Length(prefix) > group.maxKeyBytes) {
      throw new HttpError(400, 'bad_prefix', `prefix is longer than the longest key of group ${group.name} (${group.maxKeyBytes} bytes)`);
    }
    this.expire();
    const cursor = q.get('cursor');
    let id: string;
    let listing: Listing;
    if (cursor !== undefined) {
      const found = this.listings.get(cursor);
      if (found === undefined) {
        throw new HttpError(410, 'cursor_expired', `cursor ${JSON.stringify(cursor.slice(0, 64))} is unknown or expired on this node (idle over ${LISTING.idleMs} ms, or this node restarted); start the listing again`);
      }
      if (found.group !== group) throw new HttpError(400, 'bad_cursor', `the cursor belongs to a listing of group ${found.group.name}`);
      if (q.has('prefix') && found.prefix !== prefix) throw new HttpError(400, 'bad_cursor', 'the cursor belongs to a listing with another prefix');
      id = cursor;
      listing = found;
    } else {
      if (this.listings.size >= LISTING.maxListings) this.dropOldest();
      id = randomBytes(16).toString('base64url');
      listing = { group, prefix, keys: group.ownedKeys()[Symbol.iterator](), usedAt: 0 };
      this.listings.set(id, listing);
    }
    listing.usedAt = this.now();
    const keys: string[] = [];
    let done = false;
    for (let examined = 0; keys.length < limit && examined < LISTING.maxExamined; examined++) {
      const next = listing.keys.next();
      if (next.done) {
        done = true;
        break;
      }
      const key = next.value;
      if (key !== undefined && key.startsWith(prefix)) keys.push(key);
    }
    if (done) this.listings.delete(id);
    return { group: group.name, keys, cursor: done ? null : id };
  }

  /** Iterations kept now (for tests and stats). */
  get size(): number {
    return this.listings.size;
  }

  private expire(): void {
    const now = this.now();
    for (const [id, l] of this.listings) if (now - l.usedAt >= LISTING.idleMs) this.drop(id);
  }

  private dropOldest(): void {
    let oldest: string | undefined;
    let at = Infinity;
    for (const [id, l] of this.listings) {
      if (l.usedAt < at) {
        at = l.usedAt;
        oldest = id;
      }
    }
    if (oldest !== undefined) this.drop(oldest);
  }

  private drop(id: string): void {
    this.listings.get(id)?.keys.return?.();
    this.listings.delete(id);
  }
}

/** The query, strictly: each parameter once, known names only, valid percent-encoding. */
function parseQuery(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    let value: string;
    try {
      value = decodeURIComponent((eq < 0 ? '' : part.slice(eq + 1)).replace(/\+/g, ' '));
    } catch {
      throw new HttpError(400, 'bad_request', `query parameter ${JSON.stringify(name)} is not valid percent-encoded UTF-8`);
    }
    if (!PARAMS.has(name)) throw new HttpError(400, 'bad_request', `unknown query parameter ${JSON.stringify(name.slice(0, 64))}: expected prefix, limit, cursor`);
    if (out.has(name)) throw new HttpError(400, 'bad_request', `query parameter ${name} is given twice`);
    out.set(name, value);
  }
  return out;
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return LISTING.defaultLimit;
  const n = /^[0-9]{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= LISTING.maxLimit)) {
    throw new HttpError(400, 'bad_limit', `limit must be an integer in 1..${LISTING.maxLimit}, got ${JSON.stringify(raw.slice(0, 32))}`);
  }
  return n;
}

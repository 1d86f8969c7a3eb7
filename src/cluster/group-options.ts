/**
 * The rules and defaults of a group's options: the one home for them. `Group` checks the options it
 * is given against these schemas; the node's configuration (src/node/config/) builds its group
 * section from the same schemas (after turning `64MiB` / `5s` into numbers), so a rule or a default
 * is written once.
 */
import { z } from 'zod';
import { InvalidArgumentError } from './errors.js';

/** setTimeout's limit: a deadline past it would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const GROUP_DEFAULTS = {
  /** TTL (ms) of loaded and set values (0 = none). */
  ttl: 0,
  /** TTL (ms) of a cached not-found. */
  notFoundTtl: 1000,
  /** Share of the group's bytes given to the hot cache. */
  hotCacheFraction: 1 / 8,
  /** Largest allowed hotCacheFraction. */
  maxHotCacheFraction: 0.5,
  /** Fetches of a key before it enters the hot cache. */
  hotAfter: 2,
  /** Upper bound of the default hot-cache TTL (ms): min(ttl, this), or this when ttl is 0. */
  hotTtlCap: 60_000,
  /** TTL (ms) of fallback loads and of loads served for keys this node does not own (capped by hotTtl). */
  fallbackTtl: 2000,
  /** Loader deadline (ms). */
  loadTimeout: 5000,
  /** Longest key in UTF-8 bytes. */
  maxKeyBytes: 1024,
  /** Owner unreachable: load here (true) or fail with PeerUnavailableError. */
  fallbackToLocalLoad: true,
} as const;

const ms = (what: string) => z.number({ error: `${what}: expected a number of ms` }).int(`${what}: expected a whole number of ms`);
const timer = (what: string) => ms(what).min(1, `must be in 1..${MAX_TIMER_MS} ms`).max(MAX_TIMER_MS, `must be in 1..${MAX_TIMER_MS} ms`);
const fractionRange = `must be in 0..${GROUP_DEFAULTS.maxHotCacheFraction}`;

/** One schema per option: the node's config reuses each (after parsing units). */
export const GROUP_OPTION_RULES = {
  maxBytes: z.number().int('expected a whole number of bytes').positive('must be positive'),
  ttl: ms('ttl').min(0, 'must not be negative'),
  notFoundTtl: ms('notFoundTtl').min(0, 'must not be negative'),
  hotTtl: ms('hotTtl').min(0, 'must not be negative'),
  fallbackTtl: ms('fallbackTtl').min(0, 'must not be negative'),
  hotCacheFraction: z.number().min(0, fractionRange).max(GROUP_DEFAULTS.maxHotCacheFraction, fractionRange),
  hotAfter: z.number().int().min(1).max(255),
  loadTimeout: timer('loadTimeout'),
  peerTimeout: timer('peerTimeout'),
  ownerTimeout: timer('ownerTimeout'),
  fallbackToLocalLoad: z.boolean(),
  maxKeyBytes: z.number().int().min(1, 'must be in 1..65535').max(65535, 'must be in 1..65535'),
  maxValueBytes: z.number().int().min(1, 'must be at least 1'),
  segments: z.number().int().positive(),
} as const;

const optionsSchema = z.object(GROUP_OPTION_RULES).partial().extend({ maxBytes: GROUP_OPTION_RULES.maxBytes });

/** Throw InvalidArgumentError naming the group and the first bad option. */
export function checkGroupOptions(group: string, options: unknown): void {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`group ${group}: options must be an object`);
  if (typeof (options as { load?: unknown }).load !== 'function') throw new InvalidArgumentError(`group ${group}: load must be a function`);
  const r = optionsSchema.safeParse(options);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InvalidArgumentError(`group ${group}: ${issue.path.join('.')} ${issue.message} (got ${String(valueAt(options, issue.path))})`);
  }
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const p of path) cur = (cur as Record<PropertyKey, unknown> | undefined)?.[p];
  return cur;
}

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
  /** TTL of loaded and set values (0 = none). */
  ttl: 0,
  notFoundTtl: 1000,
  hotCacheFraction: 1 / 8,
  hotAfter: 2,
  loadTimeout: 5000,
  maxKeyBytes: 1024,
  fallbackToLocalLoad: true,
} as const;

const ms = (what: string) => z.number({ error: `${what}: expected a number of ms` }).int(`${what}: expected a whole number of ms`);

/** One schema per option: the node's config reuses each (after parsing units). */
export const GROUP_OPTION_RULES = {
  maxBytes: z.number().int('expected a whole number of bytes').positive('must be positive'),
  ttl: ms('ttl').min(0, 'must not be negative'),
  notFoundTtl: ms('notFoundTtl').min(0, 'must not be negative'),
  hotTtl: ms('hotTtl').min(0, 'must not be negative'),
  hotCacheFraction: z.number().min(0, 'must be in 0..0.5').max(0.5, 'must be in 0..0.5'),
  hotAfter: z.number().int().min(1).max(255),
  loadTimeout: ms('loadTimeout').min(1, `must be in 1..${MAX_TIMER_MS} ms`).max(MAX_TIMER_MS, `must be in 1..${MAX_TIMER_MS} ms`),
  peerTimeout: ms('peerTimeout').min(1, `must be in 1..${MAX_TIMER_MS} ms`).max(MAX_TIMER_MS, `must be in 1..${MAX_TIMER_MS} ms`),
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

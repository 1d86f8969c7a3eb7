/**
 * The defaults and rules of the cluster's own options (ClusterOptions): the one home for them.
 * `Cluster` checks the options it is given against these schemas; the node's configuration
 * (src/node/config/) builds its `cluster` section from the same schemas and defaults. A group's
 * options have theirs in group-options.ts.
 */
import { z } from 'zod';
import { InvalidArgumentError } from './errors.js';
import { MAX_TIMER_MS } from './group-options.js';

/** Largest value any group may hold (cluster-wide cap; sizes transport messages). */
export const DEFAULT_MAX_VALUE_BYTES = 8 * 1024 * 1024;

export const CLUSTER_DEFAULTS = {
  /** Longest a get waits for the owner before loading locally (ms). */
  ownerTimeout: 1000,
  /**
   * For this long (ms) after gaining keys, an owner that misses asks the key's previous owner for
   * its copy before loading from the origin, and a node that lost keys keeps handing its copies over.
   */
  handoffWindowMs: 60_000,
  /**
   * Writes this node applied as owner in the last this-many ms are invalidated on every node when
   * a ring change gives their key to another node (a write racing the change must not be undone
   * by the new owner's older copy).
   */
  recentWritesMs: 10_000,
  /** ...at most this many keys per group (the oldest are forgotten first). */
  recentWritesMax: 65_536,
} as const;

/** The per-peer breaker (peer-guard.ts). */
export const BREAKER_DEFAULTS = {
  /** Calls a peer misses in a row before it is suspect. */
  failures: 3,
  /** How long a suspect peer is left alone before one probe call (ms). */
  halfOpenAfterMs: 1000,
} as const;

const timerRange = `must be in 1..${MAX_TIMER_MS} ms`;
const timer = () => z.number().int('expected a whole number of ms').min(1, timerRange).max(MAX_TIMER_MS, timerRange);

/** One schema per option (the node's config reuses each, after parsing units). */
export const CLUSTER_OPTION_RULES = {
  ownerTimeout: timer(),
  breakerFailures: z.number().int('expected a whole number').min(1, 'must be at least 1'),
  breakerHalfOpenMs: timer(),
  handoffWindowMs: z.number().int('expected a whole number of ms').min(0, 'must not be negative').max(MAX_TIMER_MS, timerRange),
  maxValueBytes: z.number().int('expected a whole number of bytes').min(1, 'must be at least 1'),
} as const;

const optionsSchema = z.object(CLUSTER_OPTION_RULES).partial();

/** Throw InvalidArgumentError naming the first bad option. */
export function checkClusterOptions(options: Partial<Record<keyof typeof CLUSTER_OPTION_RULES, unknown>>): void {
  const r = optionsSchema.safeParse(options);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new InvalidArgumentError(`${name} ${issue.message} (got ${String(options[name as keyof typeof options])})`);
  }
}

/**
 * Defaults of the cluster layer: the one place they are written. Group options are documented
 * where they are declared (GroupOptions in types.ts); the node's configuration reads these.
 */

/** Largest value any group may hold (cluster-wide cap; sizes transport messages). */
export const DEFAULT_MAX_VALUE_BYTES = 8 * 1024 * 1024;

export const GROUP_DEFAULTS = {
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
} as const;

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

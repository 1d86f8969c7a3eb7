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
  /** Loader deadline (ms). */
  loadTimeout: 5000,
  /** Longest key in UTF-8 bytes. */
  maxKeyBytes: 1024,
} as const;

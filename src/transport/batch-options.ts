/**
 * How a peer client coalesces keys into batches (`grpcTransport({ batch })`): the defaults and the
 * rules, the one home for them. The transport checks the options it is given against these
 * schemas; the node's configuration (src/node/config/schema.ts, `--batch-*` flags) reuses them.
 * How the coalescer applies them: coalescer.ts.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../cluster/errors.js';

/** Most keys one GetMany, GetStream batch, Remove or Invalidate may carry (a server refuses more). */
export const MAX_KEYS_PER_REQUEST = 4096;

/** Longest coalescing window (µs): a window is a short wait while the peer is busy, not a timer. */
export const MAX_WINDOW_US = 1_000_000;

export const BATCH_DEFAULTS = {
  /**
   * While the peer is busy (a batch in flight), how long a batch may gather keys after its first
   * one, in µs. 0 = the end of the current event-loop turn. An idle peer gets every batch at the
   * end of the turn whatever the window: a lone request never waits.
   */
  windowUs: 0,
  /** Most keys in one batch: a full batch goes out at once. */
  maxKeys: 256,
  /**
   * Most bytes in one batch: UTF-8 key bytes plus the value bytes each key is expected to bring
   * (the running average of the group's fetched values), so the cap bounds the response too.
   * 2 MiB: above a turn's worth of 4 KB values at 256 in flight (splitting those desynchronises
   * the callers into small batches), low enough that one response does not hold a stream shared by
   * every batch for long.
   */
  maxBytes: 2 << 20,
  /** Batches in flight to one peer before non-full batches wait for one to come back. */
  maxInFlight: Infinity,
} as const;

export interface BatchOptions {
  /** Coalescing window while the peer is busy, in µs (0..1,000,000). Default 0: the end of the turn. */
  windowUs?: number;
  /** Most keys in one batch (1..4096). Default 256. */
  maxKeys?: number;
  /** Most key + expected value bytes in one batch (≥ 1). Default 2 MiB. */
  maxBytes?: number;
  /** Batches in flight to one peer before non-full ones wait (≥ 1). Default no limit. */
  maxInFlight?: number;
}

/** One schema per option (the node's config reuses each, after parsing units). */
export const BATCH_OPTION_RULES = {
  windowUs: z
    .number({ error: 'expected a number of µs' })
    .int('expected a whole number of µs')
    .min(0, `must be in 0..${MAX_WINDOW_US} µs`)
    .max(MAX_WINDOW_US, `must be in 0..${MAX_WINDOW_US} µs`),
  maxKeys: z
    .number({ error: 'expected a number of keys' })
    .int('expected a whole number of keys')
    .min(1, `must be in 1..${MAX_KEYS_PER_REQUEST}`)
    .max(MAX_KEYS_PER_REQUEST, `must be in 1..${MAX_KEYS_PER_REQUEST} (what a server accepts in one request)`),
  maxBytes: z.number({ error: 'expected a number of bytes' }).int('expected a whole number of bytes').min(1, 'must be at least 1'),
  maxInFlight: z.union([z.literal(Infinity), z.number().int('expected a whole number').min(1, 'must be at least 1')], {
    error: 'expected a whole number ≥ 1 or Infinity',
  }),
} as const;

const schema = z.object(BATCH_OPTION_RULES).partial().strict();

/** The options with their defaults; throws InvalidArgumentError naming the first bad (or unknown) one. */
export function batchOptions(options: BatchOptions = {}): Required<BatchOptions> {
  const r = schema.safeParse(options);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const name = issue.code === 'unrecognized_keys' ? issue.keys[0]! : String(issue.path[0]);
    const got = (options as Record<string, unknown>)[name];
    const what = issue.code === 'unrecognized_keys' ? `is not a batch option (known: ${Object.keys(BATCH_OPTION_RULES).join(', ')})` : `${issue.message} (got ${String(got)})`;
    throw new InvalidArgumentError(`batch.${name} ${what}`);
  }
  return { ...BATCH_DEFAULTS, ...r.data };
}

/**
 * Typed errors of the cluster layer. Each has a `kind` that names it on the wire, so a caller on
 * any node sees the same class whether the failure happened locally or on the owner. How a kind
 * travels (a gRPC status code plus an `arenacache-error` trailer) is the transport's business:
 * see src/transport/status.ts.
 */

export type ErrorKind =
  | 'invalid-argument'
  | 'group'
  | 'loader'
  | 'load-timeout'
  | 'peer-unavailable'
  | 'not-owner'
  | 'closed';

export abstract class ArenaCacheError extends Error {
  abstract readonly kind: ErrorKind;
}

/** Bad input: empty/oversized/non-UTF-8 key, bad group name, oversized value, bad TTL. */
export class InvalidArgumentError extends ArenaCacheError {
  override readonly name = 'InvalidArgumentError';
  readonly kind = 'invalid-argument' as const;
}

/** Unknown group (or a group defined twice). */
export class GroupError extends ArenaCacheError {
  override readonly name = 'GroupError';
  readonly kind = 'group' as const;
}

/** The loader threw, rejected or returned something that is not bytes/string/NOT_FOUND. */
export class LoaderError extends ArenaCacheError {
  override readonly name = 'LoaderError';
  readonly kind = 'loader' as const;
}

/** The loader passed its deadline (kind `load-timeout`). */
export class DeadlineError extends ArenaCacheError {
  override readonly name = 'DeadlineError';
  readonly kind = 'load-timeout' as const;
}

/**
 * Why a peer could not answer:
 * - `unreachable`: refused, reset, no route, the channel failed or closed;
 * - `timeout`: the call's deadline passed (or the owner deadline, for a get);
 * - `suspect`: not called at all, its breaker is open (it missed its recent deadlines);
 * - `unauthenticated`: it refused our cluster credential;
 * - `protocol`: it answered something this node cannot use (wrong item count, ...).
 */
export type PeerFailure = 'unreachable' | 'timeout' | 'suspect' | 'unauthenticated' | 'protocol';

/** A peer could not answer: see `reason`. */
export class PeerUnavailableError extends ArenaCacheError {
  override readonly name = 'PeerUnavailableError';
  readonly kind = 'peer-unavailable' as const;
  constructor(
    message: string,
    readonly peerId: string,
    readonly reason: PeerFailure,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A call the transport refused without reaching the peer (reason `unreachable`): the connection
 * was down and waiting to retry after a failed attempt, and the call was one that does not wait
 * for it. It cost nothing and says nothing new about the peer — only that the last attempt to
 * connect failed, maybe before the peer listened (a static cluster starting in any order) — so
 * the breaker does not count it as a miss.
 */
export class NotConnectedError extends PeerUnavailableError {
  constructor(message: string, peerId: string, options?: ErrorOptions) {
    super(message, peerId, 'unreachable', options);
  }
}

/**
 * A write reached a node that does not own the key by its own ring (the two rings disagree during
 * a membership change). Nothing was changed; the writer routes again once its ring has moved on.
 */
export class NotOwnerError extends ArenaCacheError {
  override readonly name = 'NotOwnerError';
  readonly kind = 'not-owner' as const;
}

/** The cluster (or a membership) is closed or closing. */
export class ClosedError extends ArenaCacheError {
  override readonly name = 'ClosedError';
  readonly kind = 'closed' as const;
}

/** The error class of a kind, for a transport rebuilding an error a peer sent (undefined: not ours). */
export function errorOfKind(kind: string | undefined, message: string): ArenaCacheError | undefined {
  switch (kind) {
    case 'invalid-argument':
      return new InvalidArgumentError(message);
    case 'group':
      return new GroupError(message);
    case 'loader':
      return new LoaderError(message);
    case 'load-timeout':
      return new DeadlineError(message);
    case 'not-owner':
      return new NotOwnerError(message);
    default:
      return undefined;
  }
}

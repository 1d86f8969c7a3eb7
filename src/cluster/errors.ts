/**
 * Typed errors of the cluster layer. Each maps to one gRPC status code (plus an
 * `arenacache-error` trailer naming the kind) and back, so a caller on any node sees the same
 * class whether the failure happened locally or on the owner.
 */

/** gRPC status codes used here (values from the gRPC spec; kept local to avoid importing grpc-js). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  FAILED_PRECONDITION: 9,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export type ErrorKind =
  | 'invalid-argument'
  | 'group'
  | 'loader'
  | 'load-timeout'
  | 'peer-unavailable'
  | 'closed';

export abstract class ArenaCacheError extends Error {
  abstract readonly kind: ErrorKind;
  abstract readonly grpcCode: number;
}

/** Bad input: empty/oversized/non-UTF-8 key, bad group name, oversized value, bad TTL. */
export class InvalidArgumentError extends ArenaCacheError {
  override readonly name = 'InvalidArgumentError';
  readonly kind = 'invalid-argument' as const;
  readonly grpcCode = GrpcCode.INVALID_ARGUMENT;
}

/** Unknown group (or a group defined twice). Over gRPC: FAILED_PRECONDITION. */
export class GroupError extends ArenaCacheError {
  override readonly name = 'GroupError';
  readonly kind = 'group' as const;
  readonly grpcCode = GrpcCode.FAILED_PRECONDITION;
}

/** The loader threw, rejected or returned something that is not bytes/string/NOT_FOUND. */
export class LoaderError extends ArenaCacheError {
  override readonly name = 'LoaderError';
  readonly kind = 'loader' as const;
  readonly grpcCode = GrpcCode.UNKNOWN;
}

/** A deadline passed: the loader's (kind `load-timeout`) — over gRPC DEADLINE_EXCEEDED. */
export class DeadlineError extends ArenaCacheError {
  override readonly name = 'DeadlineError';
  readonly kind = 'load-timeout' as const;
  readonly grpcCode = GrpcCode.DEADLINE_EXCEEDED;
}

/**
 * A peer could not answer: unreachable, refused, its call deadline passed, or it failed at the
 * transport level. `code` is the gRPC status the call ended with.
 */
export class PeerUnavailableError extends ArenaCacheError {
  override readonly name = 'PeerUnavailableError';
  readonly kind = 'peer-unavailable' as const;
  readonly grpcCode = GrpcCode.UNAVAILABLE;
  constructor(
    message: string,
    readonly peerId: string,
    readonly code: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The cluster is closed (or closing). Over gRPC: UNAVAILABLE. */
export class ClosedError extends ArenaCacheError {
  override readonly name = 'ClosedError';
  readonly kind = 'closed' as const;
  readonly grpcCode = GrpcCode.UNAVAILABLE;
}

/** Build the error a status code + trailer kind stands for (the client side of the mapping). */
export function errorFromStatus(
  code: number,
  kind: string | undefined,
  message: string,
  peerId: string,
): ArenaCacheError {
  switch (kind) {
    case 'invalid-argument':
      return new InvalidArgumentError(message);
    case 'group':
      return new GroupError(message);
    case 'loader':
      return new LoaderError(message);
    case 'load-timeout':
      return new DeadlineError(message);
    default:
      break;
  }
  if (code === GrpcCode.INVALID_ARGUMENT) return new InvalidArgumentError(message);
  return new PeerUnavailableError(`peer ${peerId}: ${message}`, peerId, code);
}

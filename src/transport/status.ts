/**
 * The mapping between the cluster's errors and gRPC status codes, both ways. The cluster's errors
 * carry a `kind`; on the wire a failed call has a status code plus an `arenacache-error` trailer
 * naming the kind, so the caller rebuilds the same class.
 *
 * | kind               | status              |
 * | ------------------ | ------------------- |
 * | invalid-argument   | INVALID_ARGUMENT    |
 * | group              | FAILED_PRECONDITION |
 * | not-owner          | FAILED_PRECONDITION |
 * | loader             | UNKNOWN             |
 * | load-timeout       | DEADLINE_EXCEEDED   |
 * | peer-unavailable   | UNAVAILABLE         |
 * | closed             | UNAVAILABLE         |
 */
import * as grpc from '@grpc/grpc-js';
import {
  ArenaCacheError,
  errorOfKind,
  InvalidArgumentError,
  NotConnectedError,
  PeerUnavailableError,
  type ErrorKind,
  type PeerFailure,
} from '../cluster/errors.js';
import { ERROR_KIND_KEY } from './proto.js';

const CODE_OF_KIND: Record<ErrorKind, grpc.status> = {
  'invalid-argument': grpc.status.INVALID_ARGUMENT,
  group: grpc.status.FAILED_PRECONDITION,
  'not-owner': grpc.status.FAILED_PRECONDITION,
  loader: grpc.status.UNKNOWN,
  'load-timeout': grpc.status.DEADLINE_EXCEEDED,
  'peer-unavailable': grpc.status.UNAVAILABLE,
  closed: grpc.status.UNAVAILABLE,
};

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(grpc.status)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v, k]),
);

/** `DEADLINE_EXCEEDED` for 4, … (the number as a string for unknown codes). */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? String(code);
}

export interface WireStatus {
  code: grpc.status;
  /** The arenacache error kind (trailer), absent for failures that are not ours. */
  kind?: ErrorKind;
  details: string;
}

/** The status a server answers for `err` (anything that is not an ArenaCacheError is INTERNAL). */
export function statusOf(err: unknown): WireStatus {
  if (err instanceof ArenaCacheError) return { code: CODE_OF_KIND[err.kind], kind: err.kind, details: err.message };
  return { code: grpc.status.INTERNAL, details: `internal error: ${err instanceof Error ? err.message : String(err)}` };
}

/** The gRPC status a failed peer call ended with, as the reason the peer is unavailable. */
function failureOf(code: number): PeerFailure {
  switch (code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return 'timeout';
    case grpc.status.UNAUTHENTICATED:
      return 'unauthenticated';
    case grpc.status.UNIMPLEMENTED: // an older node without this method: it answered
      return 'protocol';
    default:
      return 'unreachable';
  }
}

/** The error a failed call stands for, from its status code and arenacache-error trailer. */
export function errorFromStatus(code: number, kind: string | undefined, message: string, peerId: string): ArenaCacheError {
  const known = errorOfKind(kind, message);
  if (known) return known;
  if (code === grpc.status.INVALID_ARGUMENT) return new InvalidArgumentError(message);
  return new PeerUnavailableError(`peer ${peerId}: ${message}`, peerId, failureOf(code));
}

/** The arenacache error kind a failed call carries in its trailer, if any. */
export function kindOf(err: unknown): string | undefined {
  const md = (err as Partial<grpc.ServiceError> | undefined)?.metadata;
  if (!md || typeof md.get !== 'function') return undefined;
  const v = md.get(ERROR_KIND_KEY)[0];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** The status object a server callback takes for `err` (code, details, kind trailer). */
export function serviceErrorOf(err: unknown): grpc.StatusObject {
  return statusObject(statusOf(err));
}

/** The status object a server callback takes for a status (code, details, kind trailer). */
export function statusObject(s: WireStatus): grpc.StatusObject {
  const metadata = new grpc.Metadata();
  if (s.kind) metadata.set(ERROR_KIND_KEY, s.kind);
  return { code: s.code, details: s.details, metadata };
}

/** Any failure of a call (a ServiceError or anything thrown) as the cluster's error. */
export function callError(err: unknown, peerId: string): Error {
  if (err instanceof ArenaCacheError) return err;
  const e = err as Partial<grpc.ServiceError> | undefined;
  if (typeof e?.code === 'number') return errorFromStatus(e.code, kindOf(err), e.details || e.message || 'call failed', peerId);
  const message = err instanceof Error ? err.message : String(err);
  return new PeerUnavailableError(`peer ${peerId}: ${message}`, peerId, 'unreachable', { cause: err });
}

/**
 * Whether the client's channel waits to reconnect after a failed attempt (TRANSIENT_FAILURE):
 * grpc-js then fails a fail-fast call at once with UNAVAILABLE, without reaching the peer.
 */
export function backingOff(client: grpc.Client): boolean {
  return client.getChannel().getConnectivityState(false) === grpc.connectivityState.TRANSIENT_FAILURE;
}

/**
 * callError for a fail-fast call made while the channel was backing off (`refusable`): an
 * UNAVAILABLE of grpc-js's own (no error kind from the peer) is the call refused unsent, a
 * NotConnectedError with the same message.
 */
export function failFastError(err: unknown, peerId: string, refusable: boolean): Error {
  const e = callError(err, peerId);
  if (!refusable || (err as Partial<grpc.ServiceError> | undefined)?.code !== grpc.status.UNAVAILABLE || kindOf(err) !== undefined) return e;
  return new NotConnectedError(e.message, peerId, { cause: err });
}

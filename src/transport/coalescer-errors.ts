/**
 * Errors the coalescer gives callers on its own (the transport's errors pass through unchanged).
 * Both are PeerUnavailableErrors, so the cluster treats them as it treats any call the peer did
 * not answer (a local fallback; the breaker counts a timeout). They carry the group and key so a
 * caller, a log line or a test can tell whose request it was.
 */
import { PeerUnavailableError } from '../cluster/errors.js';

/** The caller's own deadline passed before its key was answered (reason `timeout`). */
export class CallerTimeoutError extends PeerUnavailableError {
  constructor(
    peerId: string,
    readonly group: string,
    readonly key: string,
    readonly timeoutMs: number,
  ) {
    super(`peer ${peerId}: no answer for key ${JSON.stringify(key)} of group ${JSON.stringify(group)} within ${timeoutMs} ms`, peerId, 'timeout');
  }
}

/** The transport ended a batch without answering this key (a peer that answered fewer keys; reason `protocol`). */
export class UnansweredKeyError extends PeerUnavailableError {
  constructor(
    peerId: string,
    readonly group: string,
    readonly key: string,
    readonly answered: number,
    readonly sent: number,
  ) {
    super(`peer ${peerId}: it answered ${answered} of ${sent} keys and not ${JSON.stringify(key)} of group ${JSON.stringify(group)}`, peerId, 'protocol');
  }
}

/**
 * The peer answered nothing at all — this key or any other call — for the caller's whole silence
 * limit (the owner deadline; reason `timeout`): it is taken for hung, the caller loads the key itself.
 */
export class OwnerSilenceError extends PeerUnavailableError {
  constructor(
    peerId: string,
    readonly group: string,
    readonly key: string,
    readonly silenceMs: number,
  ) {
    super(`peer ${peerId}: no answer within the owner deadline (${silenceMs} ms)`, peerId, 'timeout');
  }
}

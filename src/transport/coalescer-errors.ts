/**
 * Errors the coalescer gives callers on its own (the transport's errors pass through unchanged).
 * They carry the group and key so a caller, a log line or a test can tell whose request it was.
 */

/** The caller's own deadline passed before its key was answered. */
export class CallerTimeoutError extends Error {
  override readonly name = 'CallerTimeoutError';
  constructor(
    readonly group: string,
    readonly key: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer for key ${JSON.stringify(key)} of group ${JSON.stringify(group)} within ${timeoutMs} ms`);
  }
}

/** The transport ended a batch without answering this key (a peer that answered fewer keys). */
export class UnansweredKeyError extends Error {
  override readonly name = 'UnansweredKeyError';
  constructor(
    readonly group: string,
    readonly key: string,
    readonly answered: number,
    readonly sent: number,
  ) {
    super(`the peer answered ${answered} of ${sent} keys and not ${JSON.stringify(key)} of group ${JSON.stringify(group)}`);
  }
}

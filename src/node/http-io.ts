/**
 * What the HTTP API's handlers share: the error type every handler throws (HttpError), how
 * cluster errors map to statuses, bounded body reading, and JSON / byte responses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ClosedError,
  DeadlineError,
  GroupError,
  InvalidArgumentError,
  LoaderError,
  NotOwnerError,
  PeerUnavailableError,
} from '../cluster/errors.js';

/** Most keys in one get-many request, and items in one set-many request. */
export const MAX_BATCH_KEYS = 4096;

/** An answer other than 2xx: status, JSON `error` code, message, extra headers and JSON fields. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** More fields of the JSON body, beside `error` and `message`. */
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The client went away before its request body was complete: nothing to answer, nothing changed. */
export class ClientAbortedError extends Error {
  override readonly name = 'ClientAbortedError';
  constructor(
    readonly received: number,
    readonly declared: number | undefined,
  ) {
    super(`the client closed the connection after ${received}${declared !== undefined ? ` of ${declared}` : ''} body bytes`);
  }
}

/** Read the body, at most `limit` bytes (413 past it; the connection is then closed). */
export function readBody(req: IncomingMessage, res: ServerResponse, limit: number, what: string): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    res.shouldKeepAlive = false;
    return Promise.reject(new HttpError(413, 'too_large', `body of ${declared} bytes exceeds ${what} (${limit} bytes)`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      total += c.length;
      if (total > limit) {
        failed = true;
        res.shouldKeepAlive = false;
        req.pause();
        reject(new HttpError(413, 'too_large', `body exceeds ${what} (${limit} bytes)`));
        return;
      }
      chunks.push(c);
    });
    const aborted = (): void => {
      if (failed) return;
      failed = true;
      reject(new ClientAbortedError(total, Number.isFinite(declared) ? declared : undefined));
    };
    req.once('end', () => {
      if (failed) return;
      failed = true;
      const b = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
      resolve(new Uint8Array(b.buffer, b.byteOffset, b.length));
    });
    // An upload cut short shows up as 'error' ("aborted", ECONNRESET) and/or 'close' before 'end'.
    req.once('error', aborted);
    req.once('close', () => {
      if (!req.complete) aborted();
    });
  });
}

export function send(res: ServerResponse, status: number, body?: Uint8Array, type?: string): void {
  if (res.headersSent) return;
  res.statusCode = status;
  if (body !== undefined) {
    if (type) res.setHeader('content-type', type);
    res.setHeader('content-length', body.length);
    res.end(body);
  } else {
    res.end();
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, Buffer.from(JSON.stringify(value) + '\n'), 'application/json; charset=utf-8');
}

/** Map an error to its status and JSON body. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof InvalidArgumentError) return new HttpError(400, 'bad_request', err.message);
  if (err instanceof GroupError) return new HttpError(404, 'unknown_group', err.message);
  if (err instanceof DeadlineError) return new HttpError(504, 'origin_timeout', err.message);
  if (err instanceof LoaderError) return new HttpError(502, 'origin_error', err.message);
  if (err instanceof PeerUnavailableError) return new HttpError(503, 'peer_unavailable', err.message);
  if (err instanceof NotOwnerError) return new HttpError(503, 'ring_disagreement', err.message);
  if (err instanceof ClosedError) return new HttpError(503, 'not_ready', err.message);
  return new HttpError(500, 'internal', err instanceof Error ? err.message : String(err));
}


/**
 * Peer authentication: who may call a node's Peer service. Either mutual TLS (tls.ts: the TLS
 * layer refuses clients without a certificate signed by the cluster CA) or a shared cluster
 * secret sent with every call as metadata and compared in constant time — or both.
 *
 * A listener that other hosts can reach must have one of them, unless the operator says
 * otherwise (`insecure`): anyone reaching an unauthenticated port could store values every node
 * then serves, or read cached data.
 *
 * The secret travels in the clear unless TLS is on: it keeps out callers that can reach the port,
 * not eavesdroppers on the path. Use it with TLS on untrusted networks.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError } from '../cluster/errors.js';
import type { TlsConfig } from './tls.js';

/** Call metadata carrying the cluster secret (binary: `-bin`). */
export const SECRET_METADATA_KEY = 'arenacache-cluster-secret-bin';

/** Shortest cluster secret accepted (bytes). */
export const MIN_SECRET_BYTES = 16;

/** The cluster secret in `file`: its bytes, one trailing newline removed. Throws a clear error. */
export function readClusterSecret(file: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the cluster secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0a) end--;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  const secret = raw.subarray(0, end);
  checkSecret(secret, `cluster secret file ${file}`);
  return secret;
}

export function checkSecret(secret: Uint8Array, what = 'cluster secret'): void {
  if (secret.length < MIN_SECRET_BYTES) {
    throw new InvalidArgumentError(`${what}: at least ${MIN_SECRET_BYTES} bytes, got ${secret.length}`);
  }
}

/** 127.0.0.0/8, ::1, `localhost`: only this host can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

export interface PeerSecurity {
  /** The interface the Peer service binds. */
  host: string;
  tls?: TlsConfig | undefined;
  secret?: Uint8Array | undefined;
  /** Serve unauthenticated peers on a non-loopback interface anyway. */
  insecure?: boolean | undefined;
}

/** Throws unless a non-loopback listener authenticates its peers (mutual TLS or a secret), or `insecure`. */
export function checkPeerSecurity(s: PeerSecurity): void {
  if (isLoopbackHost(s.host) || s.tls?.mutual === true || s.secret !== undefined || s.insecure === true) return;
  throw new InvalidArgumentError(
    `the peer gRPC listener on ${s.host} is reachable from other hosts but does not authenticate peers: ` +
      'use mutual TLS (--tls-mutual with --tls-cert/--tls-key/--tls-ca) or a shared secret ' +
      '(--cluster-secret-file), or accept the risk with --insecure-peers',
  );
}

/** The server side: does a call carry the cluster secret? Constant time over equal-length digests. */
export class SecretCheck {
  private readonly digest: Buffer;

  constructor(secret: Uint8Array) {
    this.digest = sha256(secret);
  }

  verify(metadata: grpc.Metadata): boolean {
    const got = metadata.get(SECRET_METADATA_KEY)[0];
    if (got === undefined) return false;
    const bytes = typeof got === 'string' ? Buffer.from(got) : got;
    return timingSafeEqual(sha256(bytes), this.digest);
  }
}

function sha256(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}

/**
 * ── Node wiring of the cluster options added by issue 13, kept in one place ──
 *
 * Flags (and so environment variables and config-file paths) for peer authentication, the owner
 * deadline, the per-peer breaker and the HTTP read token, plus the public view of /v1/stats.
 * Their defaults and validation rules are not here: they live in the layer that uses them
 * (src/cluster/defaults.ts, BREAKER_DEFAULTS, checkPositiveMs; src/transport/auth.ts) and are
 * only called from here. When the node's configuration becomes one schema (issue 16), port the
 * flag table and `clusterSettings` into it; nothing else in src/node knows these flags.
 *
 *   --cluster-secret-file FILE   cluster.secretFile      shared peer secret (≥ 16 bytes)
 *   --insecure-peers             cluster.insecurePeers   non-loopback gRPC without peer auth
 *   --owner-timeout DURATION     cluster.ownerTimeout    longest wait for a silent owner (1s)
 *   --breaker-failures N         cluster.breakerFailures missed calls that make a peer suspect (3)
 *   --breaker-half-open DURATION cluster.breakerHalfOpen pause before probing a suspect peer (1s)
 *   --read-token TOKEN           http.readToken          bearer token for reads (off)
 */
import { BREAKER_DEFAULTS, CLUSTER_DEFAULTS } from '../cluster/defaults.js';
import { InvalidArgumentError } from '../cluster/errors.js';
import { checkPositiveMs } from '../cluster/validate.js';
import { checkPeerSecurity, readClusterSecret } from '../transport/auth.js';
import type { TlsConfig } from '../transport/tls.js';
import type { FlagSpec } from './config.js';

export const CLUSTER_FLAGS: readonly FlagSpec[] = [
  {
    name: 'cluster-secret-file',
    kind: 'file',
    path: 'cluster.secretFile',
    placeholder: 'FILE',
    help: 'file with the shared secret (>= 16 bytes) every peer gRPC call must carry; authenticates peers without mutual TLS',
  },
  {
    name: 'insecure-peers',
    kind: 'bool',
    path: 'cluster.insecurePeers',
    placeholder: '',
    help: 'serve peer gRPC on a non-loopback --grpc-host without mutual TLS or a cluster secret (anyone reaching the port can write)',
  },
  {
    name: 'owner-timeout',
    kind: 'duration',
    path: 'cluster.ownerTimeout',
    default: `${CLUSTER_DEFAULTS.ownerTimeout}ms`,
    placeholder: 'DURATION',
    help: 'longest a get waits for a key owner that answers nothing before loading the key itself',
  },
  {
    name: 'breaker-failures',
    kind: 'int',
    path: 'cluster.breakerFailures',
    default: String(BREAKER_DEFAULTS.failures),
    placeholder: 'N',
    help: 'calls a peer misses in a row before it is suspect (its keys are then loaded locally)',
  },
  {
    name: 'breaker-half-open',
    kind: 'duration',
    path: 'cluster.breakerHalfOpen',
    default: `${BREAKER_DEFAULTS.halfOpenAfterMs}ms`,
    placeholder: 'DURATION',
    help: 'how long a suspect peer is left alone before one probe call',
  },
  {
    name: 'read-token',
    kind: 'string',
    path: 'http.readToken',
    placeholder: 'TOKEN',
    help: 'require "Authorization: Bearer TOKEN" (or the --auth-token) for reads: GET, get-many, /v1/stats, /v1/members, /metrics',
  },
];

/** Config-file keys of the `cluster` section. */
export const CLUSTER_KEYS = new Set(['secretFile', 'insecurePeers', 'ownerTimeout', 'breakerFailures', 'breakerHalfOpen']);

export interface ClusterSettings {
  /** File holding the shared peer secret (read at start). */
  secretFile?: string;
  insecurePeers: boolean;
  ownerTimeout: number;
  breakerFailures: number;
  breakerHalfOpenMs: number;
}

type Pick = (path: string, kind: 'bool' | 'int' | 'duration' | 'string', def: unknown) => unknown;

/**
 * The cluster settings from flags / environment / config file, checked by the rules of the layers
 * that use them. Throws InvalidArgumentError (the caller reports it as a configuration error).
 */
export function clusterSettings(
  pick: Pick,
  pickFile: (path: string) => string | undefined,
  grpc: { host: string; tls?: TlsConfig | undefined },
): ClusterSettings {
  const secretFile = pickFile('cluster.secretFile');
  const s: ClusterSettings = {
    ...(secretFile !== undefined ? { secretFile } : {}),
    insecurePeers: pick('cluster.insecurePeers', 'bool', false) as boolean,
    ownerTimeout: pick('cluster.ownerTimeout', 'duration', CLUSTER_DEFAULTS.ownerTimeout) as number,
    breakerFailures: pick('cluster.breakerFailures', 'int', BREAKER_DEFAULTS.failures) as number,
    breakerHalfOpenMs: pick('cluster.breakerHalfOpen', 'duration', BREAKER_DEFAULTS.halfOpenAfterMs) as number,
  };
  checkPositiveMs(s.ownerTimeout, 'owner timeout');
  checkPositiveMs(s.breakerFailures, 'breaker failures');
  checkPositiveMs(s.breakerHalfOpenMs, 'breaker half-open time');
  const secret = secretFile !== undefined ? readClusterSecret(secretFile) : undefined;
  checkPeerSecurity({ host: grpc.host, tls: grpc.tls, secret, insecure: s.insecurePeers });
  return s;
}

/** The HTTP read token, if one is set (an empty string is none). */
export function readToken(pick: Pick): string | undefined {
  const t = pick('http.readToken', 'string', undefined) as string | undefined;
  if (t === undefined || t === '') return undefined;
  if (t.trim() !== t) throw new InvalidArgumentError('read token: no surrounding spaces');
  return t;
}

/** Redact what redactedConfig must not print of these settings (in place, on its JSON copy). */
export function redactClusterSettings(copy: { http?: Record<string, unknown> }): void {
  if (copy.http?.readToken !== undefined) copy.http.readToken = '<redacted>';
}

/**
 * The configuration as /v1/stats shows it to a caller without a token: no etcd endpoints, no
 * origin URLs, paths or headers, no file paths — only what says how the node behaves.
 */
export function publicConfig(redacted: unknown): unknown {
  const c = JSON.parse(JSON.stringify(redacted)) as Record<string, unknown>;
  const etcd = c.etcd as Record<string, unknown> | undefined;
  if (etcd) {
    c.etcd = {
      endpoints: Array.isArray(etcd.endpoints) ? etcd.endpoints.length : 0,
      prefix: etcd.prefix,
      service: etcd.service,
      leaseTtlSeconds: etcd.leaseTtlSeconds,
      tls: etcd.tls !== undefined,
      auth: etcd.username !== undefined,
    };
  }
  const grpc = c.grpc as Record<string, unknown> | undefined;
  if (grpc?.tls) grpc.tls = { mutual: (grpc.tls as { mutual?: unknown }).mutual === true };
  const cluster = c.cluster as Record<string, unknown> | undefined;
  if (cluster?.secretFile !== undefined) cluster.secretFile = '<set>';
  delete c.peers;
  delete c.baseDir;
  for (const g of (c.groups as Array<Record<string, unknown>> | undefined) ?? []) {
    const o = g.origin as Record<string, unknown> | undefined;
    if (o) g.origin = { type: o.type };
  }
  return c;
}

/**
 * Start etcd membership from a node's configuration (used by the node entry point / CLI).
 */
import { readFileSync } from 'node:fs';
import type { NodeInfo } from '../cluster/membership.js';
import { EtcdMembership } from './etcd/membership.js';
import type { EtcdMembershipOptions, MembershipLogger } from './etcd/options.js';

/** The `etcd` section of a node's config (YAML/flags). File paths are read at start. */
export interface EtcdDiscoveryConfig {
  /** Client URLs; an array or a comma-separated string (`--etcd http://a:2379,http://b:2379`). */
  endpoints: string[] | string;
  prefix?: string;
  service?: string;
  leaseTtlSeconds?: number;
  dialTimeoutMs?: number;
  callTimeoutMs?: number;
  debounceMs?: number;
  startTimeoutMs?: number;
  tls?: {
    caFile?: string;
    certFile?: string;
    keyFile?: string;
    /** Inline PEM, instead of the files. */
    ca?: string;
    cert?: string;
    key?: string;
  };
  username?: string;
  password?: string;
  /** Read the password from this file (trailing newline stripped) instead of `password`. */
  passwordFile?: string;
}

export function parseEndpoints(endpoints: string[] | string): string[] {
  const list = (Array.isArray(endpoints) ? endpoints : endpoints.split(','))
    .flatMap((e) => e.split(','))
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (list.length === 0) throw new RangeError('etcd: no endpoints configured');
  return list;
}

/** Translate the config section into EtcdMembership options (reads TLS and password files). */
export function etcdMembershipOptions(
  self: NodeInfo,
  cfg: EtcdDiscoveryConfig,
  logger?: MembershipLogger,
): EtcdMembershipOptions {
  const opts: EtcdMembershipOptions = { self, endpoints: parseEndpoints(cfg.endpoints) };
  if (cfg.prefix !== undefined) opts.prefix = cfg.prefix;
  if (cfg.service !== undefined) opts.service = cfg.service;
  if (cfg.leaseTtlSeconds !== undefined) opts.leaseTtlSeconds = cfg.leaseTtlSeconds;
  if (cfg.dialTimeoutMs !== undefined) opts.dialTimeoutMs = cfg.dialTimeoutMs;
  if (cfg.callTimeoutMs !== undefined) opts.callTimeoutMs = cfg.callTimeoutMs;
  if (cfg.debounceMs !== undefined) opts.debounceMs = cfg.debounceMs;
  if (cfg.startTimeoutMs !== undefined) opts.startTimeoutMs = cfg.startTimeoutMs;
  if (cfg.tls) {
    const t = cfg.tls;
    const ca = t.ca ?? (t.caFile ? readFileSync(t.caFile, 'utf8') : undefined);
    if (!ca) throw new RangeError('etcd tls: a CA (tls.caFile or tls.ca) is required');
    const cert = t.cert ?? (t.certFile ? readFileSync(t.certFile, 'utf8') : undefined);
    const key = t.key ?? (t.keyFile ? readFileSync(t.keyFile, 'utf8') : undefined);
    if ((cert === undefined) !== (key === undefined)) throw new RangeError('etcd tls: give both a client cert and key, or neither');
    opts.tls = { ca, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
  }
  if (cfg.username !== undefined) {
    const password = cfg.password ?? (cfg.passwordFile ? readFileSync(cfg.passwordFile, 'utf8').replace(/\r?\n$/, '') : undefined);
    if (password === undefined) throw new RangeError('etcd auth: username given without password or passwordFile');
    opts.auth = { username: cfg.username, password };
  }
  if (logger) opts.logger = logger;
  return opts;
}

/**
 * Create and start etcd membership for this node. Call it after the gRPC server is bound, with its
 * real address in `self.grpcAddress`. On failure to start (startTimeoutMs) the instance is closed
 * and the error rethrown.
 */
export async function startEtcdMembership(
  self: NodeInfo,
  cfg: EtcdDiscoveryConfig,
  logger?: MembershipLogger,
): Promise<EtcdMembership> {
  const m = new EtcdMembership(etcdMembershipOptions(self, cfg, logger));
  try {
    await m.start();
  } catch (err) {
    await m.close();
    throw err;
  }
  return m;
}

/**
 * A membership factory for `new Cluster({ membership })`: the cluster calls it with the final self
 * NodeInfo once its gRPC port is bound (so the record carries the real address), then calls
 * start(), and close() first thing in its own close() (revoke before drain).
 */
export function etcdMembershipFactory(
  cfg: EtcdDiscoveryConfig,
  logger?: MembershipLogger,
): (self: NodeInfo) => EtcdMembership {
  return (self) => new EtcdMembership(etcdMembershipOptions(self, cfg, logger));
}

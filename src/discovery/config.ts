/**
 * Start etcd membership from a node's configuration (used by the node entry point / CLI).
 */
import type { NodeInfo } from '../cluster/membership.js';
import { etcdAccess, type EtcdAccessConfig } from './etcd/access.js';
import { EtcdMembership } from './etcd/membership.js';
import type { EtcdMembershipOptions, MembershipLogger } from './etcd/options.js';

/** The `etcd` section of a node's config (YAML/flags). File paths are read at start. */
export interface EtcdDiscoveryConfig extends EtcdAccessConfig {
  /** Client URLs; an array or a comma-separated string (`--etcd http://a:2379,http://b:2379`). */
  endpoints: string[] | string;
  prefix?: string;
  service?: string;
  leaseTtlSeconds?: number;
  dialTimeoutMs?: number;
  callTimeoutMs?: number;
  debounceMs?: number;
  startTimeoutMs?: number;
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
  const access = etcdAccess(cfg);
  if (access.tls) opts.tls = access.tls;
  if (access.auth) opts.auth = access.auth;
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

/**
 * The configuration as others see it: `--print-config` and /v1/stats with a token get it with the
 * secrets replaced (redactedConfig); /v1/stats without a token gets only what says how the node
 * behaves (publicConfig).
 */
import type { NodeConfig } from './rules.js';

const REDACTED = '<redacted>';

export function redactedConfig(cfg: NodeConfig): unknown {
  const copy = structuredClone(cfg) as NodeConfig;
  if (copy.http.authToken !== undefined) copy.http.authToken = REDACTED;
  if (copy.http.readToken !== undefined) copy.http.readToken = REDACTED;
  if (copy.http.adminToken !== undefined) copy.http.adminToken = REDACTED;
  if (copy.etcd?.password !== undefined) copy.etcd.password = REDACTED;
  if (copy.etcd?.tls?.key !== undefined) copy.etcd.tls.key = REDACTED;
  for (const g of copy.groups) {
    if (g.origin.type === 'http' && g.origin.headers) {
      g.origin.headers = Object.fromEntries(Object.keys(g.origin.headers).map((k) => [k, REDACTED]));
    }
  }
  return JSON.parse(JSON.stringify(copy));
}

/**
 * The configuration as /v1/stats shows it to a caller without a token: no etcd endpoints, no
 * origin URLs, paths or headers, no file paths — only what says how the node behaves.
 */
export function publicConfig(cfg: NodeConfig): unknown {
  const c = redactedConfig(cfg) as Record<string, unknown>;
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
  const dns = c.dns as Record<string, unknown> | undefined;
  if (dns) c.dns = { intervalMs: dns.intervalMs, servers: Array.isArray(dns.servers) ? dns.servers.length : 0 };
  const grpc = c.grpc as Record<string, unknown> | undefined;
  if (grpc?.tls) grpc.tls = { mutual: (grpc.tls as { mutual?: unknown }).mutual === true };
  const cluster = c.cluster as Record<string, unknown> | undefined;
  if (cluster?.secretFile !== undefined) cluster.secretFile = '<set>';
  if (c.dataDir !== undefined) c.dataDir = '<set>';
  delete c.peers;
  delete c.baseDir;
  for (const g of (c.groups as Array<Record<string, unknown>> | undefined) ?? []) {
    const o = g.origin as Record<string, unknown> | undefined;
    if (o) g.origin = { type: o.type };
  }
  return c;
}

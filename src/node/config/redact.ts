/** The configuration as `--print-config` and /v1/stats show it: secrets replaced. */
import type { NodeConfig } from './rules.js';

const REDACTED = '<redacted>';

export function redactedConfig(cfg: NodeConfig): unknown {
  const copy = structuredClone(cfg) as NodeConfig;
  if (copy.http.authToken !== undefined) copy.http.authToken = REDACTED;
  if (copy.etcd?.password !== undefined) copy.etcd.password = REDACTED;
  if (copy.etcd?.tls?.key !== undefined) copy.etcd.tls.key = REDACTED;
  for (const g of copy.groups) {
    if (g.origin.type === 'http' && g.origin.headers) {
      g.origin.headers = Object.fromEntries(Object.keys(g.origin.headers).map((k) => [k, REDACTED]));
    }
  }
  return JSON.parse(JSON.stringify(copy));
}

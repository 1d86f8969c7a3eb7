/** The addresses a node publishes. */
import { hostname } from 'node:os';
import { formatHostPort } from '../../cluster/membership.js';

export { formatHostPort };

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** The host peers and clients should dial: --advertise-host, else the bind host (the hostname for a wildcard). */
export function advertiseHostOf(cfg: { advertiseHost?: string | undefined; grpc: { host: string } }): string {
  if (cfg.advertiseHost) return cfg.advertiseHost;
  return isWildcard(cfg.grpc.host) ? hostname() : cfg.grpc.host;
}

/**
 * TLS / mutual TLS for peer traffic. Every node uses one certificate (with the node's address in
 * its subjectAltName) both as a server and as a client, and one CA bundle to verify peers.
 */
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

export interface TlsConfig {
  /** PEM CA bundle that signed the peers' certificates. Required for `mutual`; else the system roots are used. */
  caFile?: string;
  /** PEM certificate chain of this node. */
  certFile: string;
  /** PEM private key of this node. */
  keyFile: string;
  /** Require and verify client certificates (mutual TLS). Default false. */
  mutual?: boolean;
  /** Name to verify in peers' certificates instead of the host part of their grpcAddress. */
  serverName?: string;
}

interface Material {
  ca: Buffer | null;
  cert: Buffer;
  key: Buffer;
}

function read(tls: TlsConfig): Material {
  return {
    ca: tls.caFile ? readFileSync(tls.caFile) : null,
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
  };
}

export function serverCredentials(tls: TlsConfig | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const m = read(tls);
  if (tls.mutual && !m.ca) throw new Error('tls.mutual requires tls.caFile to verify client certificates');
  return grpc.ServerCredentials.createSsl(m.ca, [{ cert_chain: m.cert, private_key: m.key }], tls.mutual === true);
}

export function channelCredentials(tls: TlsConfig | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const m = read(tls);
  return grpc.credentials.createSsl(m.ca, m.key, m.cert);
}

/** Channel options TLS needs (server name override). */
export function tlsChannelOptions(tls: TlsConfig | undefined): grpc.ChannelOptions {
  if (!tls?.serverName) return {};
  return { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName };
}

/**
 * `arenacache/cluster` (package.json "exports"): the cluster layer — Cluster, groups, ring,
 * singleflight, memberships, errors — and the gRPC transport nodes talk over. The two layers stay
 * apart in the source (src/cluster defines the PeerTransport interfaces and imports nothing from
 * src/transport, which implements them); this entry puts them side by side for users:
 *
 *     import { Cluster, grpcTransport } from 'arenacache/cluster';
 *     const cluster = new Cluster({ self: { id: 'a' }, transport: grpcTransport({ port: 7070 }) });
 */
export * from '../cluster/index.js';
export {
  GrpcTransport,
  grpcTransport,
  GRPC_TRANSPORT_DEFAULTS,
  readClusterSecret,
  MIN_SECRET_BYTES,
  errorFromStatus,
  statusOf,
  type GrpcTransportOptions,
  type TlsConfig,
  BATCH_DEFAULTS,
  type BatchOptions,
} from '../transport/index.js';

/**
 * arenacache, the package root (Node.js): the core cache, the cluster (groups, ring, gRPC peers)
 * and etcd discovery. `arenacache/core` is the runtime-agnostic entry for Deno, Bun and browsers.
 */
export * from './core/index.js';
export * from './cluster/index.js';
export * from './discovery/index.js';
export { GrpcTransport, grpcTransport, type GrpcTransportOptions, type TlsConfig, type BatcherOptions } from './transport/index.js';
// Both layers define set options; the root names the core's, the cluster's is GroupSetOptions.
export type { SetOptions } from './core/index.js';
export type { SetOptions as GroupSetOptions } from './cluster/index.js';

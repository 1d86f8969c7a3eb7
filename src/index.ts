/**
 * arenacache, the package root: the cache — `ArenaCache` and its types, the same as
 * `arenacache/core`. Importing it loads no gRPC, etcd or Prometheus module (test/package/root-import
 * checks this), so an application that only wants the cache pays only for the cache.
 *
 *   arenacache/cluster    Cluster, groups, ring, singleflight and the gRPC transport (grpcTransport)
 *   arenacache/discovery  etcd and DNS membership
 *   arenacache/node       the node people run: config, HTTP API, metrics (what `arenacache serve` uses)
 *   arenacache/workers    sharing an arena with worker threads
 */
export * from './core/index.js';

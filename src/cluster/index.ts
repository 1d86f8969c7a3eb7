export { Cluster, defaultCacheFactory } from './cluster.js';
export type { ClusterOptions, ClusterGrpcOptions, ClusterStats, PeerStats } from './cluster.js';
export { Group } from './group.js';
export type { GroupCacheStats, GroupHost, GroupInit } from './group.js';
export { Ring, DEFAULT_REPLICAS } from './ring.js';
export type { RingOptions } from './ring.js';
export { SingleFlight, Flight } from './singleflight.js';
export { StaticMembership } from './membership.js';
export type { Membership, MembershipListener, NodeInfo } from './membership.js';
export { ManualMembership } from './manual-membership.js';
export { fnv1a32, fnv1a32Bytes, ringHash, mix32, utf8Length } from './hash.js';
export {
  ArenaCacheError,
  InvalidArgumentError,
  GroupError,
  LoaderError,
  DeadlineError,
  PeerUnavailableError,
  ClosedError,
  GrpcCode,
  errorFromStatus,
} from './errors.js';
export type { ErrorKind } from './errors.js';
export { checkGroupName, checkKey, checkTtl, GROUP_NAME_RE, MAX_GROUP_NAME_LENGTH } from './validate.js';
export { NOT_FOUND, BATCH_SIZE_BUCKETS } from './types.js';
export type {
  NotFound,
  Loader,
  LoadContext,
  LoadResult,
  GroupOptions,
  GetOptions,
  GetResult,
  ResultSource,
  SetOptions,
  GroupStats,
  CacheFactory,
} from './types.js';

export { Cluster, defaultCacheFactory } from './cluster.js';
export type { ClusterOptions, ClusterStats, PeerStats } from './cluster.js';
export type { OwnershipMark } from './ownership.js';
export { Group } from './group.js';
export type { GroupCacheStats, GroupHost, GroupInit } from './group.js';
export { Ring, DEFAULT_REPLICAS } from './ring.js';
export type { RingOptions } from './ring.js';
export { SingleFlight, Flight } from './singleflight.js';
export { StaticMembership, compareById, sortById, normalizeMembers, formatHostPort } from './membership.js';
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
  NotConnectedError,
  ClosedError,
  NotOwnerError,
  errorOfKind,
} from './errors.js';
export type { ErrorKind, PeerFailure } from './errors.js';
export {
  checkGroupName,
  checkKey,
  checkTtl,
  checkNodeId,
  GROUP_NAME_RE,
  MAX_GROUP_NAME_LENGTH,
} from './validate.js';
export { DEFAULT_MAX_VALUE_BYTES, CLUSTER_DEFAULTS, BREAKER_DEFAULTS } from './cluster-options.js';
export { GROUP_DEFAULTS } from './group-options.js';
export { GuardedPeer } from './peer-guard.js';
export type { BreakerState, PeerGuardOptions } from './peer-guard.js';
export type {
  PeerTransport,
  PeerClient,
  PeerClientHooks,
  PeerClientStats,
  PeerHandler,
  ServedGroup,
  ServerStats,
  MethodCounters,
  TransportLimits,
  FetchResult,
} from './peer.js';
export { LocalOnlyTransport } from './local-transport.js';
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
  FlushResult,
  SetManyItem,
  SetManyResult,
  SnapshotCache,
} from './types.js';

export { EtcdMembership } from './etcd/membership.js';
export {
  ETCD_DEFAULTS,
  type EtcdMembershipOptions,
  type EtcdTlsOptions,
  type EtcdMembershipStats,
  type LeaseState,
  type MembershipCounters,
  type MembershipEvent,
  type MembershipEventListener,
  type MembershipLogger,
} from './etcd/types.js';
export { checkLeaseTtl } from './etcd/lease.js';
export {
  startEtcdMembership,
  etcdMembershipOptions,
  etcdMembershipFactory,
  parseEndpoints,
  type EtcdDiscoveryConfig,
} from './config.js';
export { diffMembers, decodeRecord, encodeRecord, serviceDir, type MembershipDiff } from './record.js';

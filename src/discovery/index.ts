export { EtcdMembership } from './etcd/membership.js';
export {
  ETCD_DEFAULTS,
  checkLeaseTtl,
  type EtcdMembershipOptions,
  type EtcdTlsOptions,
  type EtcdMembershipStats,
  type LeaseState,
  type MembershipCounters,
  type MembershipEvent,
  type MembershipEventListener,
  type MembershipLogger,
} from './etcd/options.js';
export {
  startEtcdMembership,
  etcdMembershipOptions,
  etcdMembershipFactory,
  parseEndpoints,
  type EtcdDiscoveryConfig,
} from './config.js';
export { diffMembers, decodeRecord, encodeRecord, serviceDir, type MembershipDiff } from './record.js';
export { DnsMembership, DNS_DEFAULTS, type DnsMembershipOptions, type DnsLogger } from './dns.js';

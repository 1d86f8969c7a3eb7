export { GrpcTransport, grpcTransport, GRPC_TRANSPORT_DEFAULTS, MESSAGE_OVERHEAD_BYTES } from './grpc-transport.js';
export type { GrpcTransportOptions } from './grpc-transport.js';
export { PeerServer } from './peer-server.js';
export type { PeerServerOptions } from './peer-server.js';
export { GrpcPeerClient } from './peer-client.js';
export type { GrpcPeerClientOptions, GrpcPeerClientStats } from './peer-client.js';
export { Coalescer, Batch } from './coalescer.js';
export type { CoalescerOptions, CoalescerStats, Dispatch } from './coalescer.js';
export { CallerTimeoutError, UnansweredKeyError } from './coalescer-errors.js';
export { BATCH_DEFAULTS, BATCH_OPTION_RULES, MAX_KEYS_PER_REQUEST, batchOptions } from './batch-options.js';
export type { BatchOptions } from './batch-options.js';
export { serverCredentials, channelCredentials, tlsChannelOptions } from './tls.js';
export type { TlsConfig } from './tls.js';
export { statusOf, statusName, errorFromStatus, kindOf } from './status.js';
export { peerService, PROTO_PATH, SERVICE_NAME, ERROR_KIND_KEY } from './proto.js';
export type * from './proto.js';
export {
  checkPeerSecurity,
  isLoopbackHost,
  readClusterSecret,
  SecretCheck,
  SECRET_METADATA_KEY,
  MIN_SECRET_BYTES,
} from './auth.js';
export type { PeerSecurity } from './auth.js';

/**
 * The gRPC transport between nodes (implements the cluster's PeerTransport): one server per node
 * (the arenacache.v1.Peer service + grpc.health.v1) and one persistent channel per peer.
 *
 *     const cluster = new Cluster({ self, transport: grpcTransport({ host: '0.0.0.0', port: 7070, tls }), membership });
 */
import * as grpc from '@grpc/grpc-js';
import { formatHostPort, type NodeInfo } from '../cluster/membership.js';
import type { PeerClientHooks, PeerHandler, PeerTransport, ServerStats, TransportLimits } from '../cluster/peer.js';
import { checkPeerSecurity, checkSecret } from './auth.js';
import { batchOptions, type BatchOptions } from './batch-options.js';
import { GrpcPeerClient } from './peer-client.js';
import { PeerServer } from './peer-server.js';
import { channelCredentials, serverCredentials, tlsChannelOptions, type TlsConfig } from './tls.js';

/** Room for everything in a message besides the value. */
export const MESSAGE_OVERHEAD_BYTES = 64 << 10;

export const GRPC_TRANSPORT_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  shutdownGraceMs: 2000,
  /**
   * HTTP/2 keepalive: every channel pings its peer this often (ms), also while idle, and drops the
   * connection when a ping is not answered within `keepaliveTimeoutMs` — a peer that accepts
   * connections but does not answer (paused, hung) fails its calls within about a second instead
   * of at their deadlines, and the channel reconnects.
   */
  keepaliveMs: 1000,
  keepaliveTimeoutMs: 1000,
  /**
   * Fetch over one long-lived GetStream call per peer (answers key by key as the owner has them),
   * not one unary GetMany call per batch. docs/transport.md has the measurements.
   */
  stream: true,
  /**
   * HTTP/2 receive window of peer channels (bytes, per stream and per connection). All of a
   * peer's answers share one stream: with HTTP/2's 64 KiB default, a batch of 64 × 4 KB values
   * (260 KB) takes four WINDOW_UPDATE round trips to arrive; 4 MiB holds two of the largest
   * batches (`batch.maxBytes`, 2 MiB) in flight.
   */
  flowControlWindow: 4 << 20,
} as const;

export interface GrpcTransportOptions {
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 = ephemeral (the bound port is in the address listen() resolves with). Default 0. */
  port?: number;
  /** Host peers should dial, when it differs from `host` (e.g. binding 0.0.0.0). Default `host`. */
  advertiseHost?: string;
  /** TLS / mutual TLS for peer traffic (server and clients). Mutual TLS authenticates peers. */
  tls?: TlsConfig;
  /**
   * Shared cluster secret (≥ 16 bytes; see readClusterSecret): sent with every call, required of
   * every caller (UNAUTHENTICATED otherwise). Authenticates peers without mutual TLS.
   */
  secret?: Uint8Array;
  /**
   * Serve peers without authentication on an interface other hosts can reach. Without it,
   * listen() refuses a non-loopback host unless mutual TLS or a secret is set.
   */
  insecure?: boolean;
  /** Largest gRPC message. Default the cluster's maxValueBytes + 64 KiB. */
  maxMessageBytes?: number;
  /** Coalescing of fetches, invalidations and handoffs per peer (batch-options.ts). */
  batch?: BatchOptions;
  /** Fetch over one long-lived stream per peer (default) or with one unary GetMany per batch. */
  stream?: boolean;
  /** Extra options for every peer channel. */
  channelOptions?: grpc.ChannelOptions;
  /** Extra grpc.Server options. */
  serverOptions?: grpc.ServerOptions;
  /** Grace period (ms) for in-flight calls at close. Default 2000. */
  shutdownGraceMs?: number;
  /** HTTP/2 keepalive ping interval of peer channels (ms). Default 1000. */
  keepaliveMs?: number;
  /** A ping not answered within this (ms) drops the connection. Default 1000. */
  keepaliveTimeoutMs?: number;
}

export class GrpcTransport implements PeerTransport {
  private server: PeerServer | undefined;
  private credentials: grpc.ChannelCredentials | undefined;
  private maxMessageBytes = 0;
  private serving = false;

  constructor(readonly options: GrpcTransportOptions = {}) {
    batchOptions(options.batch); // a bad batch option fails here, naming it
  }

  async listen(handler: PeerHandler, limits: TransportLimits): Promise<string> {
    if (this.server) throw new Error('grpc transport: listen() called twice');
    const o = this.options;
    const host = o.host ?? GRPC_TRANSPORT_DEFAULTS.host;
    checkPeerSecurity({ host, tls: o.tls, secret: o.secret, insecure: o.insecure });
    if (o.secret !== undefined) checkSecret(o.secret);
    this.maxMessageBytes = o.maxMessageBytes ?? limits.maxValueBytes + MESSAGE_OVERHEAD_BYTES;
    // Read the TLS material now: a missing file fails the start, not the first call.
    const serverCreds = serverCredentials(o.tls);
    this.credentials = channelCredentials(o.tls);
    this.server = new PeerServer(handler, {
      maxMessageBytes: this.maxMessageBytes,
      ...(o.serverOptions ? { serverOptions: o.serverOptions } : {}),
      ...(o.secret ? { secret: o.secret } : {}),
    });
    this.server.setServing(this.serving);
    const port = await this.server.listen(formatHostPort(host, o.port ?? GRPC_TRANSPORT_DEFAULTS.port), serverCreds);
    return formatHostPort(o.advertiseHost ?? host, port);
  }

  connect(node: NodeInfo, hooks?: PeerClientHooks): GrpcPeerClient {
    if (!this.server) throw new Error('grpc transport: connect() before listen()');
    return new GrpcPeerClient(node, {
      ...(this.credentials ? { credentials: this.credentials } : {}),
      maxMessageBytes: this.maxMessageBytes,
      channelOptions: {
        'grpc.keepalive_time_ms': this.options.keepaliveMs ?? GRPC_TRANSPORT_DEFAULTS.keepaliveMs,
        'grpc.keepalive_timeout_ms': this.options.keepaliveTimeoutMs ?? GRPC_TRANSPORT_DEFAULTS.keepaliveTimeoutMs,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc-node.flow_control_window': GRPC_TRANSPORT_DEFAULTS.flowControlWindow,
        ...tlsChannelOptions(this.options.tls),
        ...this.options.channelOptions,
      },
      ...(this.options.batch ? { batch: this.options.batch } : {}),
      stream: this.options.stream ?? GRPC_TRANSPORT_DEFAULTS.stream,
      ...(hooks ? { hooks } : {}),
      ...(this.options.secret ? { secret: this.options.secret } : {}),
    });
  }

  setServing(serving: boolean): void {
    this.serving = serving;
    this.server?.setServing(serving);
  }

  stats(): ServerStats {
    return this.server?.stats() ?? emptyStats();
  }

  async close(): Promise<void> {
    this.serving = false;
    await this.server?.close(this.options.shutdownGraceMs ?? GRPC_TRANSPORT_DEFAULTS.shutdownGraceMs);
  }
}

/** A gRPC transport for `new Cluster({ transport })`. */
export function grpcTransport(options: GrpcTransportOptions = {}): GrpcTransport {
  return new GrpcTransport(options);
}

function emptyStats(): ServerStats {
  const m = () => ({ calls: 0, keys: 0 });
  return { get: m(), getMany: m(), stream: m(), set: m(), remove: m(), invalidate: m(), handoff: m(), flush: m(), errors: {} };
}

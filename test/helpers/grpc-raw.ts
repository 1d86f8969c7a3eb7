/**
 * A raw gRPC client for the Peer service (and grpc.health.v1) that reports status codes and the
 * arenacache-error trailer instead of throwing, and can send undecodable bytes.
 */
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { ERROR_KIND_KEY, peerService, type PeerMethods } from '../../src/transport/proto.js';

export interface RawOutcome<T = unknown> {
  code: number;
  details: string;
  kind: string | undefined;
  response: T | undefined;
}

export class RawPeerClient {
  readonly client: grpc.Client;

  constructor(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}) {
    this.client = new grpc.Client(address, credentials, options);
  }

  /** Call `method` with a message object (and optional call metadata). */
  call<T = unknown>(method: keyof PeerMethods, request: object, timeoutMs = 5000, metadata?: grpc.Metadata): Promise<RawOutcome<T>> {
    const def = peerService()[method] as unknown as {
      path: string;
      requestSerialize: (v: unknown) => Buffer;
      responseDeserialize: (b: Buffer) => T;
    };
    return this.unary(def.path, def.requestSerialize, def.responseDeserialize, request, timeoutMs, metadata);
  }

  /** Call `method` with raw request bytes (to send malformed messages). */
  callBytes(method: keyof PeerMethods, bytes: Uint8Array, timeoutMs = 5000): Promise<RawOutcome> {
    const def = peerService()[method] as unknown as { path: string; responseDeserialize: (b: Buffer) => unknown };
    return this.unary(def.path, (b: Uint8Array) => Buffer.from(b), def.responseDeserialize, bytes, timeoutMs);
  }

  /** grpc.health.v1.Health/Check. Resolves with the status name (or the error code). */
  health(service = '', timeoutMs = 5000): Promise<RawOutcome<{ status: string }>> {
    const check = (healthService as unknown as Record<string, { path: string; requestSerialize: (v: unknown) => Buffer; responseDeserialize: (b: Buffer) => { status: string } }>).Check!;
    return this.unary(check.path, check.requestSerialize, check.responseDeserialize, { service }, timeoutMs);
  }

  /**
   * Open a GetStream call. Requests are written as given (objects through proto-loader's codec,
   * or raw bytes to send malformed frames); responses are decoded by proto-loader's codec.
   */
  stream(metadata = new grpc.Metadata()): RawStream {
    return new RawStream(this.client, metadata);
  }

  close(): void {
    this.client.close();
  }

  private unary<Req, T>(
    path: string,
    serialize: (v: Req) => Buffer,
    deserialize: (b: Buffer) => T,
    req: Req,
    timeoutMs: number,
    metadata = new grpc.Metadata(),
  ): Promise<RawOutcome<T>> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest<Req, T>(
        path,
        serialize,
        deserialize,
        req,
        metadata,
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err) {
            const k = err.metadata?.get(ERROR_KIND_KEY)[0];
            resolve({ code: err.code, details: err.details, kind: typeof k === 'string' ? k : undefined, response: undefined });
          } else {
            resolve({ code: grpc.status.OK, details: '', kind: undefined, response: res });
          }
        },
      );
    });
  }
}

/** A GetStream response as proto-loader decodes it. */
export interface RawFrame {
  items: Array<{ status: string; value?: Buffer; code?: number; kind?: string; message?: string }>;
  batch: number;
  slots: number[];
  more: boolean;
}

/** One GetStream call driven by hand: write frames, read frames as they come, then the status. */
export class RawStream {
  private readonly call: grpc.ClientDuplexStream<unknown, RawFrame>;
  private readonly frames: RawFrame[] = [];
  private waiting: ((f: RawFrame | undefined) => void) | undefined;
  private ended = false;
  /** The call's final status. */
  readonly status: Promise<{ code: number; details: string }>;

  constructor(client: grpc.Client, metadata: grpc.Metadata) {
    const def = peerService().GetStream as unknown as { path: string; requestSerialize: (v: unknown) => Buffer; responseDeserialize: (b: Buffer) => RawFrame };
    const serialize = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v) : def.requestSerialize(v));
    this.call = client.makeBidiStreamRequest(def.path, serialize, def.responseDeserialize, metadata, {});
    this.call.on('data', (f: RawFrame) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(f);
      } else this.frames.push(f);
    });
    this.call.on('error', () => {});
    this.status = new Promise((resolve) =>
      this.call.on('status', (s: grpc.StatusObject) => {
        this.ended = true;
        this.waiting?.(undefined);
        resolve({ code: s.code, details: s.details });
      }),
    );
  }

  write(request: object | Uint8Array): void {
    this.call.write(request);
  }

  /** The next frame, or undefined once the call has ended. */
  next(): Promise<RawFrame | undefined> {
    const f = this.frames.shift();
    if (f !== undefined) return Promise.resolve(f);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Half-close: no more requests. */
  end(): void {
    this.call.end();
  }

  cancel(): void {
    this.call.cancel();
  }
}

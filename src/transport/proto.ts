/**
 * The peer protocol's names (path, service, trailer), the MALFORMED marker, and the protocol
 * loaded with @grpc/proto-loader — typed messages, request deserializers that never throw (an
 * undecodable request becomes a value carrying MALFORMED, which a server answers with
 * INVALID_ARGUMENT; grpc-js would say INTERNAL). Nodes speak the wire codec (wire/); this dynamic
 * codec is the independent reference tests and tools talk to them with.
 */
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { MethodDefinition, ServiceDefinition } from '@grpc/proto-loader';

export const PROTO_PATH = fileURLToPath(new URL('../../proto/arenacache.proto', import.meta.url));
export const SERVICE_NAME = 'arenacache.v1.Peer';
/** Trailer naming the arenacache error kind of a failed call. */
export const ERROR_KIND_KEY = 'arenacache-error';

export interface GetRequest {
  group: string;
  key: Uint8Array;
}
export interface GetResponse {
  value: Uint8Array;
}
export interface GetManyRequest {
  group: string;
  keys: Uint8Array[];
  /** GetStream: the batch id. */
  batch?: number;
}
export type ItemStatus = 'STATUS_UNSPECIFIED' | 'FOUND' | 'NOT_FOUND' | 'ERROR' | 'TOO_LARGE';
export interface GetManyItem {
  status: ItemStatus;
  value?: Uint8Array;
  code?: number;
  kind?: string;
  message?: string;
}
export interface GetManyResponse {
  items: GetManyItem[];
  /** GetStream: more frames for this batch follow. */
  more?: boolean;
  /** GetStream: the keys of the batch the items answer (empty: all, in order). */
  slots?: number[];
  /** GetStream: the batch answered. */
  batch?: number;
}
export interface HandoffResponse {
  items: GetManyItem[];
  holdsNothing: boolean;
}
export interface SetRequest {
  group: string;
  key: Uint8Array;
  value: Uint8Array;
  ttlMs?: number;
}
export type SetResponse = Record<string, never>;
export interface RemoveRequest {
  group: string;
  keys: Uint8Array[];
}
export interface RemoveResponse {
  removed: number;
}
export interface InvalidateRequest {
  group: string;
  keys: Uint8Array[];
}
export type InvalidateResponse = Record<string, never>;
export interface FlushRequest {
  group: string;
}
export interface FlushResponse {
  dropped: number;
}

/** Present on a request object the deserializer could not decode; the value is the reason. */
export const MALFORMED: unique symbol = Symbol('arenacache.malformed');
export type Malformed = { [MALFORMED]: string };

export function isMalformed(x: unknown): x is Malformed {
  return typeof x === 'object' && x !== null && MALFORMED in x;
}

export interface PeerMethods {
  Get: MethodDefinition<GetRequest, GetResponse>;
  GetMany: MethodDefinition<GetManyRequest, GetManyResponse>;
  Set: MethodDefinition<SetRequest, SetResponse>;
  Remove: MethodDefinition<RemoveRequest, RemoveResponse>;
  Invalidate: MethodDefinition<InvalidateRequest, InvalidateResponse>;
  Handoff: MethodDefinition<GetManyRequest, HandoffResponse>;
  Flush: MethodDefinition<FlushRequest, FlushResponse>;
  GetStream: MethodDefinition<GetManyRequest, GetManyResponse>;
}

let cached: PeerMethods | undefined;

/** The service definition (loaded once per process). */
export function peerService(): PeerMethods {
  if (cached) return cached;
  const pkg = protoLoader.loadSync(PROTO_PATH, {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const def = pkg[SERVICE_NAME] as ServiceDefinition;
  const out: Record<string, MethodDefinition<object, object>> = {};
  for (const [name, method] of Object.entries(def)) {
    const decode = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return { [MALFORMED]: err instanceof Error ? err.message : String(err) };
        }
      },
    };
  }
  cached = out as unknown as PeerMethods;
  return cached;
}

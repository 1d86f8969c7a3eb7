/**
 * arenacache.v1.Peer as a grpc-js service definition that serializes with this codec instead of
 * proto-loader's dynamic protobufjs codec. It plugs in wherever grpc-js takes a ServiceDefinition:
 * `server.addService(peerWireService(), impl)`, `grpc.makeGenericClientConstructor(peerWireService(),
 * 'Peer')`, or `client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, …)`.
 *
 * Responses may be handed to grpc-js already encoded (a Buffer from GetManyResponseEncoder.finish or
 * encodeGetResponseFrom): that is how a value goes from the arena into the message in one copy.
 * Request deserializers never throw: an undecodable request arrives as an object carrying the
 * MALFORMED reason (as with proto.ts), so the server answers INVALID_ARGUMENT, not INTERNAL.
 */
import { MALFORMED, SERVICE_NAME, type Malformed } from '../proto.js';
import { decodeGetRequest, decodeGetResponse, encodeGetRequest, encodeGetResponse } from './get.js';
import { decodeGetManyResponse, decodeHandoffResponse } from './get-many-response-decoder.js';
import { encodeGetManyResponse, type GetManyItemIn } from './get-many-response-encoder.js';
import {
  decodeGetManyRequest,
  decodeInvalidateRequest,
  decodeRemoveRequest,
  encodeKeysRequest,
} from './keys-request.js';
import { decodeSetRequest, encodeSetRequest } from './set.js';
import { decodeFlushRequest, decodeFlushResponse, encodeFlushRequest, encodeFlushResponse } from './flush.js';
import {
  decodeInvalidateResponse,
  decodeRemoveResponse,
  decodeSetResponse,
  encodeEmpty,
  encodeRemoveResponse,
} from './small-responses.js';
import type {
  GetManyResult,
  GetRequestIn,
  GetRequestOut,
  HandoffResult,
  KeysRequestIn,
  KeysRequestOut,
  ResponseTail,
  SetRequestIn,
  SetRequestOut,
} from './messages.js';

/**
 * A grpc-js method definition (structurally a MethodDefinition) whose request and response types
 * differ between the sending and the receiving side: keys go out as strings and come back as views.
 */
export interface WireMethod<ReqIn, ReqOut, ResIn, ResOut, Streaming extends boolean = false> {
  path: string;
  requestStream: Streaming;
  responseStream: Streaming;
  originalName: string;
  requestSerialize: (value: ReqIn) => Buffer;
  requestDeserialize: (bytes: Buffer) => ReqOut | Malformed;
  responseSerialize: (value: ResIn | Buffer) => Buffer;
  responseDeserialize: (bytes: Buffer) => ResOut;
}

export interface PeerWireMethods {
  Get: WireMethod<GetRequestIn, GetRequestOut, { value: Uint8Array }, { value: Uint8Array }>;
  GetMany: WireMethod<KeysRequestIn, KeysRequestOut, { items: ReadonlyArray<GetManyItemIn> }, GetManyResult>;
  Set: WireMethod<SetRequestIn, SetRequestOut, Record<string, never>, Record<string, never>>;
  Remove: WireMethod<KeysRequestIn, KeysRequestOut, { removed: number }, { removed: number }>;
  Invalidate: WireMethod<KeysRequestIn, KeysRequestOut, Record<string, never>, Record<string, never>>;
  Flush: WireMethod<{ group: string }, { group: string }, { dropped: number }, { dropped: number }>;
  Handoff: WireMethod<KeysRequestIn, KeysRequestOut, { items: ReadonlyArray<GetManyItemIn>; holdsNothing?: boolean }, HandoffResult>;
  /** Bidirectional: GetManyRequest frames (with `batch`) in, GetManyResponse frames out. */
  GetStream: WireMethod<KeysRequestIn, KeysRequestOut, { items: ReadonlyArray<GetManyItemIn> } & ResponseTail, GetManyResult, true>;
}

/** Request decoders report instead of throwing (see the module comment). */
function lenient<T>(decode: (b: Uint8Array) => T): (b: Buffer) => T | Malformed {
  return (bytes) => {
    try {
      return decode(bytes);
    } catch (err) {
      return { [MALFORMED]: err instanceof Error ? err.message : String(err) };
    }
  };
}

/** A response serializer that passes pre-encoded Buffers through. */
function orEncoded<T>(encode: (v: T) => Buffer): (v: T | Buffer) => Buffer {
  return (v) => (Buffer.isBuffer(v) ? v : encode(v as T));
}

function method<ReqIn, ReqOut, ResIn, ResOut, Streaming extends boolean = false>(
  name: string,
  requestSerialize: (v: ReqIn) => Buffer,
  requestDeserialize: (b: Uint8Array) => ReqOut,
  responseSerialize: (v: ResIn) => Buffer,
  responseDeserialize: (b: Uint8Array) => ResOut,
  streaming = false as Streaming,
): WireMethod<ReqIn, ReqOut, ResIn, ResOut, Streaming> {
  return {
    path: `/${SERVICE_NAME}/${name}`,
    requestStream: streaming,
    responseStream: streaming,
    originalName: name[0]!.toLowerCase() + name.slice(1),
    requestSerialize,
    requestDeserialize: lenient(requestDeserialize),
    responseSerialize: orEncoded(responseSerialize),
    responseDeserialize,
  };
}

let cached: PeerWireMethods | undefined;

export function peerWireService(): PeerWireMethods {
  cached ??= {
    Get: method('Get', encodeGetRequest, decodeGetRequest, (v) => encodeGetResponse(v.value), decodeGetResponse),
    GetMany: method('GetMany', (v: KeysRequestIn) => encodeKeysRequest(v), decodeGetManyRequest, (v) => encodeGetManyResponse(v.items), decodeGetManyResponse),
    Set: method('Set', encodeSetRequest, decodeSetRequest, encodeEmpty, decodeSetResponse),
    Remove: method('Remove', (v: KeysRequestIn) => encodeKeysRequest(v), decodeRemoveRequest, encodeRemoveResponse, decodeRemoveResponse),
    Invalidate: method('Invalidate', (v: KeysRequestIn) => encodeKeysRequest(v), decodeInvalidateRequest, encodeEmpty, decodeInvalidateResponse),
    Flush: method('Flush', encodeFlushRequest, decodeFlushRequest, encodeFlushResponse, decodeFlushResponse),
    Handoff: method(
      'Handoff',
      (v: KeysRequestIn) => encodeKeysRequest(v),
      decodeGetManyRequest,
      (v) => encodeGetManyResponse(v.items, undefined, { holdsNothing: v.holdsNothing === true }),
      decodeHandoffResponse,
    ),
    GetStream: method(
      'GetStream',
      (v: KeysRequestIn) => encodeKeysRequest(v),
      decodeGetManyRequest,
      (v) => encodeGetManyResponse(v.items, undefined, v),
      decodeGetManyResponse,
      true,
    ),
  };
  return cached;
}

/**
 * The reference codec for wire tests: protobufjs loading proto/arenacache.proto (the contract),
 * independent of src/transport/wire.
 */
import protobuf from 'protobufjs';
import { PROTO_PATH } from '../../src/transport/proto.js';

const root = protobuf.loadSync(PROTO_PATH);

export const ref = {
  GetRequest: root.lookupType('arenacache.v1.GetRequest'),
  GetResponse: root.lookupType('arenacache.v1.GetResponse'),
  GetManyRequest: root.lookupType('arenacache.v1.GetManyRequest'),
  GetManyResponse: root.lookupType('arenacache.v1.GetManyResponse'),
  GetManyItem: root.lookupType('arenacache.v1.GetManyItem'),
  HandoffResponse: root.lookupType('arenacache.v1.HandoffResponse'),
  SetRequest: root.lookupType('arenacache.v1.SetRequest'),
  SetResponse: root.lookupType('arenacache.v1.SetResponse'),
  RemoveRequest: root.lookupType('arenacache.v1.RemoveRequest'),
  RemoveResponse: root.lookupType('arenacache.v1.RemoveResponse'),
  InvalidateRequest: root.lookupType('arenacache.v1.InvalidateRequest'),
  InvalidateResponse: root.lookupType('arenacache.v1.InvalidateResponse'),
  FlushRequest: root.lookupType('arenacache.v1.FlushRequest'),
  FlushResponse: root.lookupType('arenacache.v1.FlushResponse'),
};

/**
 * Encode a plain object with the reference codec. Copied: in Node, protobufjs's Writer returns
 * slices of a pooled buffer that the next small encode overwrites.
 */
export function refEncode(type: protobuf.Type, obj: object): Uint8Array {
  return Uint8Array.from(type.encode(obj as protobuf.Message).finish());
}

/** Decode with the reference codec into a plain object: defaults filled, enums and int64 as numbers. */
export function refDecode(type: protobuf.Type, bytes: Uint8Array): Record<string, any> {
  return type.toObject(type.decode(bytes), { defaults: true, longs: Number, enums: Number, bytes: Array });
}

/** Field bytes written by protobufjs's Writer (tests build unknown fields and odd layouts with it). */
export const Writer = protobuf.Writer;

export const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
export const bytesOf = (x: ArrayLike<number> | undefined): number[] => Array.from(x ?? []);

/**
 * The arenacache.v1 messages as the wire codec sees them (proto/arenacache.proto is the contract).
 * Decoded `bytes` fields are views of the received buffer: they stay valid as long as the caller
 * keeps them (grpc-js hands every message over in a fresh Buffer) and cost no copy.
 */

export const MessageType = {
  GetRequest: 'arenacache.v1.GetRequest',
  GetResponse: 'arenacache.v1.GetResponse',
  GetManyRequest: 'arenacache.v1.GetManyRequest',
  GetManyResponse: 'arenacache.v1.GetManyResponse',
  GetManyItem: 'arenacache.v1.GetManyItem',
  HandoffResponse: 'arenacache.v1.HandoffResponse',
  SetRequest: 'arenacache.v1.SetRequest',
  SetResponse: 'arenacache.v1.SetResponse',
  RemoveRequest: 'arenacache.v1.RemoveRequest',
  RemoveResponse: 'arenacache.v1.RemoveResponse',
  InvalidateRequest: 'arenacache.v1.InvalidateRequest',
  InvalidateResponse: 'arenacache.v1.InvalidateResponse',
  FlushRequest: 'arenacache.v1.FlushRequest',
  FlushResponse: 'arenacache.v1.FlushResponse',
} as const;

/** GetManyItem.Status, by number (the wire value). Unknown numbers are kept as they are (open enum). */
export const ItemStatus = {
  UNSPECIFIED: 0,
  FOUND: 1,
  NOT_FOUND: 2,
  ERROR: 3,
  TOO_LARGE: 4,
} as const;

/** A key as the caller has it: a string is written as UTF-8 without an intermediate Buffer. */
export type WireKey = string | Uint8Array;

export interface GetRequestIn {
  group: string;
  key: WireKey;
}
export interface GetRequestOut {
  group: string;
  key: Uint8Array;
}

/** GetManyRequest, RemoveRequest and InvalidateRequest share this shape (group = 1, keys = 2). */
export interface KeysRequestIn {
  group: string;
  keys: ReadonlyArray<WireKey>;
  /** GetManyRequest on GetStream: the batch id (field 15); left out when absent or 0. */
  batch?: number;
}
export interface KeysRequestOut {
  group: string;
  keys: Uint8Array[];
  /** GetManyRequest: the batch id (0 when absent; always 0 for the other two). */
  batch: number;
}

export interface SetRequestIn {
  group: string;
  key: WireKey;
  value: Uint8Array;
  /** Absent = the group's default TTL; present (even 0) is sent, as `optional` requires. */
  ttlMs?: number;
}
export interface SetRequestOut {
  group: string;
  key: Uint8Array;
  value: Uint8Array;
  ttlMs: number | undefined;
}

/** Per-item error details (code/kind/message); only items that carry any of them have one. */
export interface ItemDetail {
  code: number;
  kind: string;
  message: string;
}

/**
 * A decoded GetManyResponse as parallel arrays (no object per item): `status[i]` is the item's
 * status number, `values[i]` its value view (undefined when the item had no value field; a FOUND
 * item without one has the empty value), `details` is allocated only if some item carried an
 * error code, kind or message.
 */
export interface GetManyResult {
  count: number;
  status: number[];
  values: Array<Uint8Array | undefined>;
  details: Array<ItemDetail | undefined> | undefined;
  /** GetStream: the batch answered (0 when absent). */
  batch: number;
  /** GetStream: `slots[i]` is the key of the batch that item i answers; undefined = items answer 0..count-1. */
  slots: number[] | undefined;
  /** GetStream: more responses for this batch follow. */
  more: boolean;
}

/** A decoded HandoffResponse: GetManyResponse's items plus `holds_nothing`. */
export interface HandoffResult extends GetManyResult {
  holdsNothing: boolean;
}

/** The fields a response carries after its items (see GetManyResponseWriter.finish). */
export interface ResponseTail {
  /** GetManyResponse.batch (GetStream). */
  batch?: number;
  /** GetManyResponse.slots (GetStream): which keys the items answer, in item order. */
  slots?: ArrayLike<number>;
  /** GetManyResponse.more (GetStream). */
  more?: boolean;
  /** HandoffResponse.holds_nothing. */
  holdsNothing?: boolean;
}

/**
 * Copies the value of item `index` (`length` bytes, as sized in the first pass) into `dst` at
 * `offset` and returns how many bytes it wrote. This is how a value goes from the cache's memory
 * into the outgoing message in one copy (e.g. `(i, dst, at) => cache.getInto(keys[i], dst, at)`).
 */
export type ValueSource = (index: number, dst: Uint8Array, offset: number, length: number) => number;

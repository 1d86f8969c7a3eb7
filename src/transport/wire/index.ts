export { WireError } from './errors.js';
export { ItemStatus, MessageType } from './messages.js';
export type * from './messages.js';
export { encodeGetRequest, decodeGetRequest, encodeGetResponse, encodeGetResponseFrom, decodeGetResponse } from './get.js';
export {
  BATCH_TAG,
  encodeKeysRequest,
  encodeGetManyRequest,
  encodeRemoveRequest,
  encodeInvalidateRequest,
  decodeGetManyRequest,
  decodeRemoveRequest,
  decodeInvalidateRequest,
} from './keys-request.js';
export { GetManyResponseEncoder, encodeGetManyResponse } from './get-many-response-encoder.js';
export type { GetManyResponseEncoderOptions, GetManyItemIn } from './get-many-response-encoder.js';
export { decodeGetManyResponse, decodeHandoffResponse } from './get-many-response-decoder.js';
export { GetManyResponseWriter } from './get-many-response-writer.js';
export type { GetManyResponseWriterOptions } from './get-many-response-writer.js';
export { encodeSetRequest, decodeSetRequest } from './set.js';
export {
  encodeEmpty,
  decodeSetResponse,
  decodeInvalidateResponse,
  encodeRemoveResponse,
  decodeRemoveResponse,
} from './small-responses.js';
export { encodeFlushRequest, decodeFlushRequest, encodeFlushResponse, decodeFlushResponse } from './flush.js';
export { peerWireService } from './service.js';
export type { PeerWireMethods, WireMethod } from './service.js';

/**
 * The one error the wire codec throws. Decoders never read outside the message and never return a
 * partial result: anything that is not a well-formed arenacache.v1 message of the expected type
 * becomes a WireError naming the message, the byte offset and what was wrong, so the server can
 * answer INVALID_ARGUMENT and the client can fail the batch with a clear reason.
 */
export class WireError extends Error {
  override readonly name = 'WireError';

  constructor(
    /** The protobuf message being decoded, e.g. `arenacache.v1.GetManyResponse`. */
    readonly messageType: string,
    /** Byte offset (from the start of the outermost message) where decoding failed. */
    readonly offset: number,
    reason: string,
  ) {
    super(`malformed ${messageType} at byte ${offset}: ${reason}`);
  }
}

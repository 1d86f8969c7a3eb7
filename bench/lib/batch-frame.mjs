// Stream frames of the transport study: a GetManyRequest/GetManyResponse with the batch id in
// field 15 (varint) in front. Field 15 is unknown to arenacache.v1, so the frame body decodes with
// the ordinary message decoders (they skip it) and the id costs no extra copy (the encoders'
// `head`). Study-only: a real stream method would add `uint32 batch = 15;` to the messages.

const TAG = 0x78; // field 15, varint

/** The encoded id field, to pass as the encoders' `head`. */
export function batchHead(id) {
  const out = [TAG];
  let n = id >>> 0;
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** The id of a frame that starts with it (as batchHead writes), or -1. */
export function readBatchId(buf) {
  if (buf.length < 2 || buf[0] !== TAG) return -1;
  let n = 0;
  for (let i = 1, shift = 0; i < buf.length && i < 6; i++, shift += 7) {
    const b = buf[i];
    n |= (b & 0x7f) << shift;
    if (b < 0x80) return n >>> 0;
  }
  return -1;
}

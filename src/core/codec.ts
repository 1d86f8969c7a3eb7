/**
 * Writing keys and values into the core's I/O area without allocating: ASCII strings are copied
 * char by char, everything else goes through TextEncoder.encodeInto.
 */

const encoder = new TextEncoder();

/** Strings up to this many UTF-16 units take the char-by-char ASCII path. */
const ASCII_LOOP_MAX = 64;

/**
 * Writes `text` as UTF-8 into `u8` at `at`, at most `limit` bytes. Returns the byte length, or -1
 * when it does not fit. `scratch` must be a view of the same buffer starting at `at` with at least
 * `limit + 4` bytes when `at` is the I/O area's start; otherwise pass undefined (one subarray is made).
 */
export function writeUtf8(u8: Uint8Array, at: number, text: string, limit: number, scratch?: Uint8Array): number {
  const n = text.length;
  if (n > limit) return -1; // every UTF-16 unit takes at least one byte
  if (n <= ASCII_LOOP_MAX) {
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      u8[at + i] = c;
    }
    if (i === n) return n;
  }
  const view = scratch ?? u8.subarray(at, Math.min(u8.length, at + limit + 4));
  const { read, written } = encoder.encodeInto(text, view);
  if (read < n || written > limit) return -1;
  return written;
}

/** The UTF-8 length of `text` (lone surrogates count as U+FFFD, as TextEncoder writes them). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** The byte length of a key or value, or -1 for a wrong type. */
export function byteLength(x: unknown): number {
  if (typeof x === 'string') return utf8Length(x);
  if (x instanceof Uint8Array) return x.length;
  return -1;
}

export function toBytes(x: string | Uint8Array): Uint8Array {
  return typeof x === 'string' ? encoder.encode(x) : x;
}

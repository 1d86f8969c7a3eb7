/**
 * Checksum: the snapshot's integrity check. Two lanes of multiply-xorshift over alternate 32-bit
 * little-endian words (the lanes' multiplies are independent, so they run in parallel), folded
 * into one u32 at the end. It catches a truncated, reordered or altered stream (every bit of
 * every word reaches the result), not an attacker: it is not a MAC.
 */

export class Checksum {
  private a = 0x9e3779b1;
  private b = 0x85ebca77;
  /** Which lane the next word goes to (spans may hold an odd number of words). */
  private lane = 0;

  /** Adds `bytes`, a multiple of 4 long. */
  add(bytes: Uint8Array): void {
    const n = bytes.length >>> 2;
    if (n === 0) return;
    const words = (bytes.byteOffset & 3) === 0
      ? new Uint32Array(bytes.buffer, bytes.byteOffset, n)
      : new Uint32Array(bytes.slice(0, n * 4).buffer);
    let { a, b } = this;
    let i = 0;
    if (this.lane === 1) b = mix(b, words[i++]);
    for (; i + 1 < n; i += 2) {
      a = mix(a, words[i]);
      b = mix(b, words[i + 1]);
    }
    if (i < n) {
      a = mix(a, words[i]);
      this.lane = 1;
    } else {
      this.lane = 0;
    }
    this.a = a;
    this.b = b;
  }

  get value(): number {
    return (mix(this.a, this.b) ^ (this.b >>> 7)) >>> 0;
  }
}

function mix(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x9e3779b1);
  return h ^ (h >>> 15);
}

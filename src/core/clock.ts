/**
 * ArenaClock: the `now` the host passes to the core. The clock is not even read until some entry
 * has had an expiry (the header's TTL_SEEN word says so): until then time cannot matter, so
 * caches without TTLs never pay for Date.now().
 */
export class ArenaClock {
  private readonly u32: Uint32Array;
  private readonly ttlSeenWord: number;

  /** `ttlSeenAt` is the byte offset of the header's TTL_SEEN word. */
  constructor(memory: ArrayBufferLike, ttlSeenAt: number, readonly read: () => number) {
    this.u32 = new Uint32Array(memory);
    this.ttlSeenWord = ttlSeenAt >>> 2;
  }

  /** Whether any entry of the arena has ever had an expiry. */
  get ttlsUsed(): boolean {
    return this.u32[this.ttlSeenWord] !== 0;
  }

  /** The time for a call that may expire entries: 0 until TTLs matter. */
  now(): number {
    return this.u32[this.ttlSeenWord] !== 0 ? this.read() : 0;
  }
}

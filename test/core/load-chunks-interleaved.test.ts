/**
 * ArenaCache.loadChunks is a stream: between two chunks the caller awaits, and meanwhile the
 * cache may be used — by the caller, or by the TTL sweeper's timer. Both write the I/O area, where
 * the loader lays out records for set_many. Records must never wait there between chunks.
 * (Found by the node's warm restart: a restore read from a file in 1 MiB chunks failed with
 * "set_many returned BAD_ARG" when a sweeper tick fell between two chunks.)
 */
import { describe, expect, it } from 'vitest';
import { ArenaCache } from '../../src/core/index.js';

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString('utf8'));

/** The snapshot in pieces of `size` bytes (cutting records anywhere). */
function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

describe('loadChunks with the cache used between chunks', () => {
  it('restores every entry when gets, sets and sweeps run between the chunks', async () => {
    const src = await ArenaCache.create({ maxBytes: 4 << 20, sweepIntervalMs: 0 });
    for (let i = 0; i < 2000; i++) src.set(`k${i}`, `value-${i}-${'x'.repeat(i % 50)}`, i % 3 === 0 ? { ttl: 3_600_000 } : undefined);
    const snapshot = src.dump();

    const dst = await ArenaCache.create({ maxBytes: 4 << 20, sweepIntervalMs: 0 });
    async function* interleaved(): AsyncGenerator<Uint8Array> {
      for (const piece of pieces(snapshot, 4096)) {
        yield piece;
        // What other code may do while the loader waits for the next chunk:
        dst.get('some-other-key-that-is-long-enough-to-cover-a-record-header');
        dst.set('other', 'value');
        dst.sweep(64);
      }
    }
    const r = await dst.loadChunks(interleaved());
    expect(r).toEqual({ loaded: 2000, expired: 0, skipped: 0, overflow: 0 });
    for (let i = 0; i < 2000; i++) expect(text(dst.get(`k${i}`))).toBe(`value-${i}-${'x'.repeat(i % 50)}`);
    expect(dst.size).toBe(2001);
    dst.checkIntegrity();
    src.close();
    dst.close();
  });
});

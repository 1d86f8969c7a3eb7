// The host sizes a shared memory with the core's own arena_size: it must be exactly where init
// ends the arena, for any layout (policy, entry limit, log, prefault, thread count).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Header, type CoreExports } from '../../src/core/abi.js';
import * as abi from '../../src/core/abi.generated.js';
import { defaultModule } from '../../src/core/wasm.js';

describe('arena_size', () => {
  it('is the end of the arena that init lays out', async () => {
    const module = await defaultModule('release');
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          segments: fc.constantFrom(1, 2, 16, 64),
          share: fc.integer({ min: 4096, max: 300_000 }),
          threads: fc.integer({ min: 1, max: 8 }),
          maxKeyBytes: fc.integer({ min: 1, max: 65535 }),
          maxValueBytes: fc.integer({ min: 0, max: 2_000_000 }),
          perEntry: fc.constantFrom(0, 64, 200, 4096),
          policy: fc.constantFrom(abi.POLICY_LRU, abi.POLICY_CLOCK, abi.POLICY_S3FIFO),
          flags: fc.constantFrom(0, abi.INIT_LOG, abi.INIT_LOG | abi.INIT_PREFAULT),
        }),
        async ({ segments, share, threads, maxKeyBytes, maxValueBytes, perEntry, policy, flags }) => {
          const maxBytes = segments * share + (share % 13);
          // At least the per-segment minimum (smaller limits are refused: another test).
          const maxEntries = perEntry === 0 ? 0 : Math.max(2 * segments, Math.floor(maxBytes / perEntry));
          const ex = (await WebAssembly.instantiate(module, {})).exports as unknown as CoreExports;
          const size = ex.arena_size(maxBytes, segments, threads, maxKeyBytes, maxValueBytes, maxEntries, policy, flags);
          const h = ex.init(maxBytes, segments, threads, maxKeyBytes, maxValueBytes, maxEntries, policy, flags, 0, 0, 1, 2, 3, 4);
          expect(h).toBeGreaterThan(0);
          expect(new Uint32Array(ex.memory.buffer)[(h + Header.END) >> 2]).toBe(size);
          expect(ex.memory.buffer.byteLength).toBeGreaterThanOrEqual(size);
        },
      ),
      { numRuns: 150 },
    );
  });
});

// The host predicts the arena `init` lays out (to size a shared memory to exactly the arena): the
// prediction must be what init does, for any layout.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Header, type CoreExports } from '../../src/core/abi.js';
import { predictLayout } from '../../src/core/arena.js';
import { defaultModule } from '../../src/core/wasm.js';

describe('predictLayout', () => {
  it('is the I/O area size and the end of the arena that init lays out', async () => {
    const module = await defaultModule('release');
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          segments: fc.constantFrom(1, 2, 16, 64),
          share: fc.integer({ min: 1024, max: 300_000 }),
          threads: fc.integer({ min: 1, max: 8 }),
          maxKeyBytes: fc.integer({ min: 1, max: 65535 }),
          maxValueBytes: fc.integer({ min: 0, max: 2_000_000 }),
          logs: fc.boolean(),
        }),
        async ({ segments, share, threads, maxKeyBytes, maxValueBytes, logs }) => {
          const layout = { maxBytes: segments * share + (share % 13), segments, maxKeyBytes, maxValueBytes, ttl: 0, logs };
          const ex = (await WebAssembly.instantiate(module, {})).exports as unknown as CoreExports;
          const h = ex.init(layout.maxBytes, segments, threads, maxKeyBytes, maxValueBytes, logs ? 1 : 0, 0);
          expect(h).toBeGreaterThan(0);
          const u32 = new Uint32Array(ex.memory.buffer);
          expect(predictLayout(layout, threads, ex.header())).toEqual({
            ioBytes: u32[(h + Header.IO_BYTES) >> 2],
            end: u32[(h + Header.END) >> 2],
          });
        },
      ),
      { numRuns: 150 },
    );
  });
});

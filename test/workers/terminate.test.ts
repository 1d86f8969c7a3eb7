// A worker terminated while it holds a segment lock must not hang the other threads.
//
// Deterministic setup: the test corrupts one segment's queue (trapSegment in fixtures/util.mjs) so
// that the victim's set() of a key there loops forever inside the core while holding the
// segment's lock. The main thread watches the lock word
// (Atomics.load over the shared memory) until it names the victim's slot, so termination provably
// happens inside a core call, under the lock. Recovery resets that segment, which also removes
// the cycle.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ArenaCache } from '../../src/core/index.js';
import { stopWatchdog, watchdogReady } from '../../src/workers/node.js';
import { spawn, until, within, sleep, type Spawned } from './harness.js';
// @ts-expect-error: plain JS helper shared with the worker scripts
import { arenaView, keysIn, ownerWord, segmentOf, trapSegment, TEST_SEED } from './fixtures/util.mjs';

afterAll(() => stopWatchdog());

const SEGMENTS = 4;

/** Makes every set of `key` loop forever (see above). Returns its segment. */
function trap(cache: ArenaCache, view: ReturnType<typeof arenaView>, key: string): number {
  const seg = segmentOf(key, SEGMENTS);
  trapSegment(view, seg);
  return seg;
}

describe('a worker terminated inside a core call', () => {
  for (const watchdog of [false, true]) {
    it(`does not hang the others; its segment is recovered (${watchdog ? "watchdog + 'exit'" : "'exit' listener only"})`, async () => {
      // clock: one queue per segment, so the trap catches every set in it.
      const { cache, handle } = await ArenaCache.createShared({ maxBytes: 1 << 20, segments: SEGMENTS, threads: 8, sweepIntervalMs: 0, seed: TEST_SEED, policy: 'clock' });
      const view = arenaView(handle);
      const seg = segmentOf('K', SEGMENTS);
      const locked = keysIn('L', seg, SEGMENTS, 40);
      const free = keysIn('F', seg, SEGMENTS, 40, true);
      for (const k of [...locked, ...free]) cache.set(k, 'before');
      trap(cache, view, 'K');
      const before = cache.stats();
      const spawned: Spawned[] = [];
      try {
        const victim = spawn(cache, 'hold-lock.mjs', { key: 'K' }, { watchdog });
        spawned.push(victim);
        const { slot } = await victim.next<{ slot: number }>((m) => 'slot' in m, 10_000, 'victim attached');
        if (watchdog) await watchdogReady();
        victim.worker.postMessage('go');
        await until(() => view.lockWord(seg) >> 1 === ownerWord(slot) >> 1, 10_000, 'the victim to hold the lock');

        // Threads on the held segment block (they set the waiters bit)...
        const blocked = [1, 2, 3].map((id) => spawn(cache, 'segment-ops.mjs', { id, keys: locked, count: 200 }, { watchdog }));
        spawned.push(...blocked);
        await Promise.all(blocked.map((b) => b.next((m) => 'attached' in m, 10_000, 'blocked worker attached')));
        await until(() => (view.lockWord(seg) & 1) === 1, 10_000, 'a waiter on the held lock');
        // ...while threads on the other segments make progress (segments are independent).
        const bystander = spawn(cache, 'segment-ops.mjs', { id: 4, keys: free, count: 500 }, { watchdog });
        spawned.push(bystander);
        const by = await bystander.next<{ ops: number; errors: string[] }>((m) => 'done' in m, 20_000, 'bystander done');
        expect(by.errors).toEqual([]);
        expect(by.ops).toBe(1000);
        expect(view.lockWord(seg) >> 1).toBe(ownerWord(slot) >> 1); // still held: the victim spins
        expect(blocked.some((b) => b.messages.some((m) => (m as { done?: boolean }).done))).toBe(false);

        // Terminate the victim inside its call. Its 'exit' (and the watchdog) release its slot.
        await within(victim.worker.terminate(), 10_000, 'terminate');
        expect(victim.messages.some((m) => (m as { returned?: boolean }).returned)).toBe(false);
        const results = await Promise.all(
          blocked.map((b) => b.next<{ ops: number; errors: string[] }>((m) => 'done' in m, 20_000, 'blocked worker finished after recovery')),
        );
        for (const r of results) {
          expect(r.errors).toEqual([]);
          expect(r.ops).toBe(400);
        }
        await Promise.all(spawned.map((s) => within(s.exited, 10_000, 'exit')));

        const after = cache.stats();
        expect(after.recoveries).toBe(1);
        expect(after.segments[seg].recoveries).toBe(1);
        cache.checkIntegrity();
        // The other segments kept their entries; the recovered one lost its old ones.
        for (const k of free) expect(cache.peek(k)).toBeDefined();
        expect(cache.peek('K')).toBeUndefined();
        expect(after.segments.filter((_, i) => i !== seg).every((s, i) => s.recoveries === 0)).toBe(true);
        expect(before.recoveries).toBe(0);
        // The victim's slot is free again, the lock word is clear, and the segment works.
        expect(view.lockWord(seg)).toBe(0);
        // (The watchdog may still be between its recovery and freeing the slot.)
        await until(() => Atomics.load(view.i32 as Int32Array, view.slotAddress(slot) >> 2) === 0, 5_000, 'the slot to be free');
        cache.set('K', 'again');
        expect(new TextDecoder().decode(cache.get('K'))).toBe('again');
      } finally {
        await Promise.all(spawned.map((s) => s.worker.terminate()));
        cache.close();
      }
    });
  }

  it('recovers even while the terminating thread is itself blocked on that lock (watchdog)', async () => {
    // The parent terminates the victim and at once calls set() on the held segment, without
    // yielding to its event loop: its own 'exit' listener cannot run until that call returns,
    // so only the watchdog thread can release the victim. Run in a child process so that a hang
    // fails the test (by timeout) instead of freezing the test runner.
    const script = fileURLToPath(new URL('./fixtures/blocked-parent.mjs', import.meta.url));
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [script], { timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      });
    });
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result).toMatchObject({ ok: true, value: 'after', recoveries: 1, integrity: true, slotFree: true });
  });

  it('workers terminated at random moments while hammering one segment never wedge the others', async () => {
    // Not deterministic (that is the test above): the hammer spends most of its time inside long
    // core calls under segment 0's lock, so many terminations land inside one, at whatever
    // instruction the thread reached: a half-updated segment that recovery must reset.
    // clock: one queue takes the whole segment, so a 200 kB value fits a 256 kB segment.
    const { cache, handle } = await ArenaCache.createShared({ maxBytes: 1 << 20, segments: SEGMENTS, threads: 8, sweepIntervalMs: 0, seed: TEST_SEED, policy: 'clock' });
    const view = arenaView(handle);
    const keys = keysIn('H', 0, SEGMENTS, 3000);
    const survivor = spawn(cache, 'segment-ops.mjs', { id: 99, keys: keys.slice(0, 30), count: 1_000_000_000, payload: 200 });
    const spawned: Spawned[] = [survivor];
    const rounds = 5;
    let heldAtTermination = 0;
    try {
      await survivor.next((m) => 'attached' in m, 10_000, 'survivor attached');
      for (let round = 0; round < rounds; round++) {
        const hammer = spawn(cache, 'hammer.mjs', { id: round, smallKeys: keys.slice(30), bigKey: keys[0], bigBytes: 200_000 });
        spawned.push(hammer);
        const { slot } = await hammer.next<{ slot: number }>((m) => 'slot' in m, 10_000, 'hammer attached');
        await hammer.next((m) => 'progress' in m, 10_000, 'hammer running');
        await sleep(1 + round * 3);
        // Spin (bounded) until the hammer holds the lock, then terminate at once: the interrupt
        // usually lands before its long call ends.
        const spinEnd = Date.now() + 200;
        while (view.lockWord(0) >> 1 !== ownerWord(slot) >> 1 && Date.now() < spinEnd);
        const terminated = hammer.worker.terminate();
        if (view.lockWord(0) >> 1 === ownerWord(slot) >> 1) heldAtTermination++;
        await within(terminated, 10_000, 'terminate hammer');
        // The survivor, working on the same segment, keeps making progress after every termination.
        const mark = survivor.messages.length;
        await until(() => survivor.messages.length > mark + 1, 10_000, `survivor progress after round ${round}`);
      }
      await within(survivor.worker.terminate(), 10_000, 'terminate survivor');
      const s = cache.stats();
      cache.checkIntegrity();
      console.log(`random terminations: lock observed held at ${heldAtTermination}/${rounds}, ${s.recoveries} recoveries`);
      expect(survivor.messages.filter((m) => (m as { errors?: string[] }).errors?.length)).toEqual([]);
      // Every recovery reset segment 0 only.
      expect(s.segments.slice(1).every((x) => x.recoveries === 0)).toBe(true);
      cache.set('x', 'y');
      expect(cache.get('x')).toBeDefined();
    } finally {
      await Promise.all(spawned.map((s) => s.worker.terminate()));
      cache.close();
    }
  });
});

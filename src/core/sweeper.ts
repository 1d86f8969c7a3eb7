/**
 * Sweeper: removing expired entries that nobody reads. `sweep` examines a bounded number of blocks
 * of one segment (round-robin), `purge` every block of every segment, and a timer sweeps one
 * segment per tick once some entry has had an expiry. The core's sweep stops early when the
 * eviction log fills, keeping its place; the loops here then drain the log and go on, so no
 * expired entry is left behind and no record is lost.
 */
import { STATUS_NAMES, Sweep, U32_MAX } from './abi.js';
import type { Arena } from './arena.js';
import type { ArenaClock } from './clock.js';
import type { EvictLog } from './evict-log.js';
import type { IoArea } from './io-area.js';

/** Blocks a timer tick examines. */
export const SWEEP_STEPS = 4096;

export class Sweeper {
  private next = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly tick = () => {
    if (this.clock.ttlsUsed) this.sweep(SWEEP_STEPS);
  };

  constructor(
    private readonly arena: Arena,
    private readonly io: IoArea,
    private readonly log: EvictLog | undefined,
    private readonly clock: ArenaClock,
    private readonly segments: number,
    private readonly intervalMs: number,
  ) {}

  /**
   * Sweeps the next segment: examines at most `maxSteps` blocks from its sweep cursor (never past
   * the end of a pass) and removes the expired entries. Returns how many expired.
   */
  sweep(maxSteps: number): number {
    const seg = this.next;
    this.next = (seg + 1) % this.segments;
    const now = this.clock.read();
    let removed = 0;
    let left = maxSteps;
    try {
      for (;;) {
        removed += this.core(seg, left, now, 0);
        left -= this.io.getU32(this.io.start + Sweep.EXAMINED);
        const done = this.io.getU32(this.io.start + Sweep.PASS_DONE) !== 0;
        if (this.log === undefined || !this.log.filled) break;
        this.log.drain(); // the log filled: the call may have stopped early, keeping its place
        if (done || left <= 0) break;
      }
    } finally {
      this.log?.deliver();
    }
    return removed;
  }

  /** Removes every expired entry now: one whole pass over every segment. Returns how many expired. */
  purge(): number {
    const now = this.clock.read();
    const log = this.log;
    let total = 0;
    let failed = false;
    let error: unknown;
    for (let seg = 0; seg < this.segments; seg++) {
      let flags: number = Sweep.RESTART;
      for (;;) {
        total += this.core(seg, U32_MAX, now, flags);
        flags = 0;
        const done = this.io.getU32(this.io.start + Sweep.PASS_DONE) !== 0;
        if (log !== undefined && log.filled) {
          log.drain();
          try {
            log.deliver();
          } catch (e) {
            // An onEvict error: finish the purge, then report the first one.
            if (!failed) error = e;
            failed = true;
          }
        }
        if (done) break;
      }
    }
    if (failed) throw error;
    return total;
  }

  /** Starts the timer (idempotent): one segment per tick, every segment once per interval. */
  start(): void {
    if (this.intervalMs === 0 || this.timer !== undefined) return;
    const period = Math.max(1, Math.floor(this.intervalMs / this.segments));
    const timer = setInterval(this.tick, period);
    (timer as { unref?: () => void }).unref?.();
    this.timer = timer;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private core(seg: number, maxSteps: number, now: number, flags: number): number {
    const r = this.arena.ex.sweep(this.arena.slot, seg, maxSteps >>> 0, now, flags);
    if (r < 0) throw new Error(`arenacache: sweep failed (${STATUS_NAMES[r] ?? r})`);
    return r;
  }
}

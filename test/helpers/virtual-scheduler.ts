/**
 * A Scheduler whose time only moves when the test says so: end-of-turn callbacks run on
 * `runTurn()`, timers fire in due order on `advance()`, each at exactly its due time.
 */
import type { Scheduler } from '../../src/transport/scheduler.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** Lets promise reactions (then-handlers) run. */
export const settleMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

export class VirtualScheduler implements Scheduler {
  t = 0;
  private turn: Array<() => void> = [];
  private timers: Timer[] = [];
  private seq = 0;

  constructor(
    /** Called before each scheduled callback runs (tests snapshot state there). */
    private readonly beforeCallback: () => void = () => {},
  ) {}

  now(): number {
    return this.t;
  }

  endOfTurn(fn: () => void): void {
    this.turn.push(fn);
  }

  after(ms: number, fn: () => void): unknown {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  cancel(handle: unknown): void {
    (handle as Timer).cancelled = true;
  }

  get idle(): boolean {
    return this.turn.length === 0 && this.timers.every((t) => t.cancelled);
  }

  /** One event-loop turn: the callbacks queued so far (ones they queue wait for the next turn). */
  async runTurn(): Promise<void> {
    const fns = this.turn;
    this.turn = [];
    for (const fn of fns) {
      this.beforeCallback();
      fn();
      await settleMicrotasks();
    }
  }

  /** Moves time forward by `ms`, firing due timers in order, each at its due time. */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: Timer | undefined;
      for (const t of this.timers) if (t.at <= until && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.t = Math.max(this.t, next.at);
      this.beforeCallback();
      next.fn();
      await settleMicrotasks();
    }
    this.t = until;
  }
}

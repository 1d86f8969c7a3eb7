/**
 * Coalesces per-key fetches headed for one peer into batches, one per group, and hands each batch
 * to a transport (unary GetMany, a stream frame, ...) through `dispatch`. Pure: time comes from an
 * injectable Scheduler, so tests can replay any interleaving of arrivals, answers, peer errors
 * and deadlines (test/transport/coalescer.test.ts).
 *
 * When a batch goes out:
 * - at once when it reaches `maxKeys`, or when the next key would take it past `maxBytes`;
 * - idle peer (no batch in flight): at the end of the current event-loop turn — a lone request
 *   never waits for a window;
 * - busy peer: once `windowUs` has passed since the batch's first key (0 = end of the turn),
 *   and only while fewer than `maxInFlight` batches are in flight; when one comes back, pending
 *   batches are looked at again at the end of that turn (so callers it answered, asking again
 *   in the same turn, join them).
 *
 * The response path is allocation-free per key: each caller is one promise whose resolve/reject
 * sit in the batch's arrays (made by one shared executor, no closure per caller); the transport
 * answers slot by slot with `settle`/`fail` — in any order and over several messages, so keys the
 * owner has cached need not wait for keys it must load — then `end()`s the batch (or `failAll`s
 * it). Every caller is settled exactly once: by its answer, by the batch's failure, by its own
 * deadline, or by the peer's silence (below), whichever comes first — one timer per coalescer,
 * armed for the earliest of them.
 *
 * Silence (the owner deadline): a caller may also give `silenceMs`. It waits as long as the peer
 * answers something — its batch or any other call; the transport reports every answer with
 * `heard()` — at least every `silenceMs`; after `silenceMs` with no answer at all it gets an
 * OwnerSilenceError. That decision is taken at the end of the event-loop turn in which the timer
 * fired, after the turn's I/O: answers already waiting in the socket after a long turn of this
 * process count (its own lag is not the peer's silence).
 */
import { utf8Length } from '../core/codec.js';
import { CallerTimeoutError, OwnerSilenceError, UnansweredKeyError } from './coalescer-errors.js';
import { eventLoopScheduler, type Scheduler } from './scheduler.js';

export interface CoalescerOptions {
  /** How long a batch may gather keys while the peer is busy, in µs. 0 (default) = one turn. */
  windowUs?: number;
  /** Most keys in one batch. Default 256. */
  maxKeys?: number;
  /** Most bytes in one batch: UTF-8 key bytes plus the `extraBytes` callers declare. Default 1 MiB. */
  maxBytes?: number;
  /** Batches in flight to one peer before non-full batches wait for one to return. Default no limit. */
  maxInFlight?: number;
  /** The peer's id, named in the errors the coalescer makes (CallerTimeoutError, UnansweredKeyError). */
  peer?: string;
}

export interface CoalescerStats {
  batches: number;
  batchedKeys: number;
  maxBatchSize: number;
  /** Callers whose own deadline passed first. */
  timeouts: number;
  /** Callers that gave up on a silent peer (silenceMs). */
  silences: number;
}

/** Sends a batch. Must eventually call batch.end() or batch.failAll(); may throw (= failAll). */
export type Dispatch<V> = (batch: Batch<V>) => void;

type Resolve<V> = (value: V) => void;
type Reject = (reason: unknown) => void;

/** The batch the next `new Promise(executor)` belongs to (set just before; executors run synchronously). */
let target: Batch<never> | undefined;
function executor(resolve: Resolve<never>, reject: Reject): void {
  target!.resolves.push(resolve);
  target!.rejects.push(reject);
}

/**
 * Times within this many ms count as reached. A timer armed for `at - now` fires at a clock value
 * that can be an ulp short of `at`; without the slack the coalescer would re-arm a zero-length
 * timer for the same instant forever.
 */
const SLACK_MS = 1e-6;

const PENDING = 0;
const IN_FLIGHT = 1;
const ENDED = 2;

export class Batch<V> {
  /** Keys in slot order; `settle(i, …)` answers `keys[i]`. */
  keys: string[] = [];
  /** The latest caller deadline (scheduler ms): what the RPC may wait at most. */
  deadline = 0;
  bytes = 0;
  /** @internal per-slot callers; a settled slot's entries are cleared */
  resolves: Array<Resolve<V> | undefined> = [];
  /** @internal */
  rejects: Array<Reject | undefined> = [];
  /** @internal per-slot deadlines and timeouts (scheduler ms) */
  deadlines: number[] = [];
  /** @internal */
  timeouts: number[] = [];
  /** @internal per-slot silence limit (ms, Infinity = none) and when the slot started waiting for news (scheduler ms) */
  silences: number[] = [];
  /** @internal */
  since: number[] = [];
  /** @internal callers not settled yet */
  open = 0;
  /** @internal */
  state = PENDING;
  /** Slots the transport answered (settle or fail). */
  answered = 0;

  constructor(
    readonly group: string,
    /** When the first key arrived (scheduler ms). */
    readonly openedAt: number,
    private readonly owner: Coalescer<V>,
  ) {}

  /** Answer slot `i`. False when that caller was already settled (its deadline passed) or the batch ended. */
  settle(i: number, value: V): boolean {
    if (this.state === ENDED) return false;
    const resolve = this.resolves[i];
    if (resolve === undefined) return false;
    this.clear(i);
    this.answered++;
    resolve(value);
    return true;
  }

  /** Fail slot `i` alone (a per-key error from the peer). */
  fail(i: number, err: unknown): boolean {
    if (this.state === ENDED) return false;
    const reject = this.rejects[i];
    if (reject === undefined) return false;
    this.clear(i);
    this.answered++;
    reject(err);
    return true;
  }

  /** The transport is done with this batch: callers it did not answer get an UnansweredKeyError. */
  end(): void {
    if (this.state === ENDED) return;
    const sent = this.keys.length;
    if (this.open > 0) {
      for (let i = 0; i < sent; i++) {
        const reject = this.rejects[i];
        if (reject !== undefined) {
          this.clear(i);
          reject(new UnansweredKeyError(this.owner.peer, this.group, this.keys[i]!, this.answered, sent));
        }
      }
    }
    this.finish();
  }

  /** The batch failed as a whole (transport error, peer down): every unanswered caller gets `err`. */
  failAll(err: unknown): void {
    if (this.state === ENDED) return;
    if (this.open > 0) {
      for (let i = 0; i < this.keys.length; i++) {
        const reject = this.rejects[i];
        if (reject !== undefined) {
          this.clear(i);
          reject(err);
        }
      }
    }
    this.finish();
  }

  /**
   * @internal Reject callers whose deadline is ≤ now. A caller whose silence limit is reached
   * waits on if the peer was heard from since it started waiting (its wait starts again now); if
   * not, it is rejected when `decide`, else it is left for the end-of-turn decision (`undecided`).
   * Returns the earliest time anything remaining is due.
   */
  expire(now: number, heardAt: number, decide: boolean): number {
    let next = Infinity;
    for (let i = 0; i < this.keys.length; i++) {
      const reject = this.rejects[i];
      if (reject === undefined) continue;
      const d = this.deadlines[i]!;
      if (d <= now + SLACK_MS) {
        this.clear(i);
        this.owner.counters.timeouts++;
        reject(new CallerTimeoutError(this.owner.peer, this.group, this.keys[i]!, this.timeouts[i]!));
        continue;
      }
      let quiet = this.since[i]! + this.silences[i]!;
      if (quiet <= now + SLACK_MS) {
        if (heardAt > this.since[i]!) {
          this.since[i] = now;
          quiet = now + this.silences[i]!;
        } else if (decide) {
          this.clear(i);
          this.owner.counters.silences++;
          reject(new OwnerSilenceError(this.owner.peer, this.group, this.keys[i]!, this.silences[i]!));
          continue;
        } else {
          this.owner.undecided = true;
          quiet = Infinity;
        }
      }
      next = Math.min(next, d, quiet);
    }
    return next;
  }

  /** @internal drop slots settled before dispatch (their deadline passed while pending). */
  compact(): void {
    let j = 0;
    for (let i = 0; i < this.keys.length; i++) {
      if (this.resolves[i] === undefined) continue;
      this.keys[j] = this.keys[i]!;
      this.resolves[j] = this.resolves[i];
      this.rejects[j] = this.rejects[i];
      this.deadlines[j] = this.deadlines[i]!;
      this.timeouts[j] = this.timeouts[i]!;
      this.silences[j] = this.silences[i]!;
      this.since[j] = this.since[i]!;
      j++;
    }
    this.keys.length = this.resolves.length = this.rejects.length = this.deadlines.length = this.timeouts.length = j;
    this.silences.length = this.since.length = j;
  }

  private clear(i: number): void {
    this.resolves[i] = undefined;
    this.rejects[i] = undefined;
    if (--this.open === 0) this.owner.quiet(this);
  }

  private finish(): void {
    const wasInFlight = this.state === IN_FLIGHT;
    this.state = ENDED;
    if (wasInFlight) this.owner.returned();
  }
}

export class Coalescer<V> {
  /** @internal */
  readonly counters: CoalescerStats = { batches: 0, batchedKeys: 0, maxBatchSize: 0, timeouts: 0, silences: 0 };
  /** @internal a silent peer's callers wait for the end-of-turn decision */
  undecided = false;
  private heardAt = -Infinity;
  private decideScheduled = false;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly maxBytes: number;
  private readonly maxInFlight: number;
  /** @internal */
  readonly peer: string;
  private pending = new Map<string, Batch<V>>();
  /** Batches with callers still waiting (pending or in flight): what the deadline timer scans. */
  private readonly waiting = new Set<Batch<V>>();
  private inFlight = 0;
  private turnScheduled = false;
  private windowTimer: unknown = undefined;
  private deadlineTimer: unknown = undefined;
  private deadlineAt = Infinity;

  constructor(
    private readonly dispatchBatch: Dispatch<V>,
    options: CoalescerOptions = {},
    private readonly scheduler: Scheduler = eventLoopScheduler,
  ) {
    this.windowMs = Math.max(0, options.windowUs ?? 0) / 1000;
    this.maxKeys = Math.max(1, options.maxKeys ?? 256);
    this.maxBytes = Math.max(1, options.maxBytes ?? 1 << 20);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? Infinity);
    this.peer = options.peer ?? '';
  }

  /**
   * The value of `key` in `group`, fetched in a batch. Rejects with the transport's error, a
   * per-key error, CallerTimeoutError once `timeoutMs` has passed without an answer, or
   * OwnerSilenceError after `silenceMs` in which the peer answered nothing at all.
   * `extraBytes` counts toward `maxBytes` (e.g. the value size the caller expects).
   */
  enqueue(group: string, key: string, timeoutMs: number, extraBytes = 0, silenceMs = Infinity): Promise<V> {
    const now = this.scheduler.now();
    const deadline = now + timeoutMs;
    const size = utf8Length(key) + extraBytes;
    let b = this.pending.get(group);
    if (b !== undefined && b.bytes + size > this.maxBytes) {
      this.pending.delete(group);
      this.dispatch(b);
      b = undefined;
    }
    if (b === undefined) {
      b = new Batch<V>(group, now, this);
      this.pending.set(group, b);
      this.scheduleLook(b);
    }
    target = b as unknown as Batch<never>;
    const promise = new Promise<V>(executor);
    target = undefined;
    b.keys.push(key);
    b.deadlines.push(deadline);
    b.timeouts.push(timeoutMs);
    b.silences.push(silenceMs);
    b.since.push(now);
    b.bytes += size;
    if (b.open++ === 0) this.waiting.add(b);
    if (deadline > b.deadline) b.deadline = deadline;
    const due = Math.min(deadline, now + silenceMs);
    if (due < this.deadlineAt) this.armDeadline(due, now);
    if (b.keys.length >= this.maxKeys || b.bytes >= this.maxBytes) {
      this.pending.delete(group);
      this.dispatch(b);
    }
    return promise;
  }

  /** The peer answered something (any call): callers waiting on its silence wait on. */
  heard(): void {
    this.heardAt = this.scheduler.now();
  }

  /** Send everything pending now, regardless of windows and limits (before closing). */
  flush(): void {
    this.look(true);
  }

  get batchesInFlight(): number {
    return this.inFlight;
  }

  get pendingKeys(): number {
    let n = 0;
    for (const b of this.pending.values()) n += b.open;
    return n;
  }

  stats(): CoalescerStats {
    return { ...this.counters };
  }

  /** @internal a batch has no waiting callers left. */
  quiet(b: Batch<V>): void {
    this.waiting.delete(b);
  }

  /** @internal an in-flight batch ended. */
  returned(): void {
    this.inFlight--;
    if (this.pending.size > 0) this.lookAtEndOfTurn();
  }

  // ---------------------------------------------------------------- internals

  private scheduleLook(b: Batch<V>): void {
    if (this.inFlight === 0 || this.windowMs === 0) this.lookAtEndOfTurn();
    else this.armWindow(b.openedAt + this.windowMs);
  }

  private lookAtEndOfTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    this.scheduler.endOfTurn(this.onTurn);
  }

  private readonly onTurn = (): void => {
    this.turnScheduled = false;
    this.look(false);
  };

  private readonly onWindow = (): void => {
    this.windowTimer = undefined;
    this.look(false);
  };

  /** Send the pending batches that may go now; arm the window for the ones that must wait. */
  private look(force: boolean): void {
    if (this.pending.size === 0) return this.disarmWindow();
    const now = this.scheduler.now();
    const idle = this.inFlight === 0;
    let wait = Infinity;
    for (const [group, b] of this.pending) {
      if (!force) {
        if (this.inFlight >= this.maxInFlight) break; // looked at again when one returns
        if (!idle && b.openedAt + this.windowMs - now > SLACK_MS) {
          wait = Math.min(wait, b.openedAt + this.windowMs);
          continue;
        }
      }
      this.pending.delete(group);
      this.dispatch(b);
    }
    if (wait !== Infinity) this.armWindow(wait);
    else if (this.pending.size === 0) this.disarmWindow();
  }

  /** Nothing left to wait for: stop a sub-millisecond window from spinning the loop in vain. */
  private disarmWindow(): void {
    if (this.windowTimer === undefined) return;
    this.scheduler.cancel(this.windowTimer);
    this.windowTimer = undefined;
  }

  private armWindow(at: number): void {
    if (this.windowTimer !== undefined) return; // an earlier window is armed; it re-arms for the rest
    this.windowTimer = this.scheduler.after(Math.max(0, at - this.scheduler.now()), this.onWindow);
  }

  private dispatch(b: Batch<V>): void {
    if (b.open === 0) return; // every caller's deadline passed while it waited: nothing to ask
    if (b.open < b.keys.length) b.compact();
    b.state = IN_FLIGHT;
    this.inFlight++;
    const c = this.counters;
    c.batches++;
    c.batchedKeys += b.keys.length;
    if (b.keys.length > c.maxBatchSize) c.maxBatchSize = b.keys.length;
    try {
      this.dispatchBatch(b);
    } catch (err) {
      b.failAll(err);
    }
  }

  private armDeadline(at: number, now: number): void {
    if (this.deadlineTimer !== undefined) this.scheduler.cancel(this.deadlineTimer);
    this.deadlineAt = at;
    this.deadlineTimer = this.scheduler.after(Math.max(0, at - now), this.onDeadline);
  }

  private readonly onDeadline = (): void => {
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    this.sweep(false);
  };

  /** The end-of-turn decision on callers whose peer was silent for their whole silence limit. */
  private readonly onDecide = (): void => {
    this.decideScheduled = false;
    this.sweep(true);
  };

  private sweep(decide: boolean): void {
    const now = this.scheduler.now();
    this.undecided = false;
    let next = Infinity;
    for (const b of this.waiting) {
      const n = b.expire(now, this.heardAt, decide);
      if (n < next) next = n;
    }
    if (this.undecided && !this.decideScheduled) {
      this.decideScheduled = true;
      this.scheduler.endOfTurn(this.onDecide);
    }
    if (next !== Infinity && next < this.deadlineAt) this.armDeadline(next, now);
  }
}

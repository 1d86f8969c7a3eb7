/**
 * A peer as the cluster calls it: its transport client behind a circuit breaker (cockatiel's
 * CircuitBreaker with a ConsecutiveBreaker) and the owner deadline.
 *
 * A get waits for the key's owner as long as the owner answers something — this call or another —
 * at least every `ownerTimeout`; after `ownerTimeout` of silence the caller loads the key itself.
 * The breaker counts calls that ended without any answer from the peer — unreachable, a deadline
 * passed, or the owner deadline passed in silence — and opens after `failures` of them in a row. While it is open the peer is *suspect*: gets of its keys go to the
 * local load path at once, writes for its keys fail at once, invalidations are not sent. After
 * `halfOpenAfterMs` one call goes through as a probe (others keep treating the peer as suspect);
 * an answer closes the breaker, a miss opens it again.
 *
 * A call the transport refused without reaching the peer (NotConnectedError: the connection waits
 * to retry after a failed attempt) is neither a miss nor an answer: it leaves the count as it was.
 * Counting it would make a peer that started after this node suspect as soon as a few calls met
 * the channel still in its reconnect backoff. A probe refused that way leaves the peer suspect.
 *
 * cockatiel is used rather than a hand-written breaker: etcd3 already depends on it (the same
 * copy), and its half-open probe and consecutive-failure counting are what is needed here.
 */
import {
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  isBrokenCircuitError,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { NotConnectedError, PeerUnavailableError } from './errors.js';
import type { NodeInfo } from './membership.js';
import type { FetchResult, PeerClient, PeerClientStats } from './peer.js';

export interface PeerGuardOptions {
  /** Consecutive missed calls that make a peer suspect. */
  failures: number;
  /** How long a suspect peer is not called before one probe call (ms). */
  halfOpenAfterMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Errors of calls that reached (or tried to reach) the peer and got no answer: what the breaker counts. */
function isMiss(err: unknown): boolean {
  return unanswered(err) && !(err instanceof NotConnectedError);
}

/** The peer gave no answer (a miss, or a call never sent): anything else is the peer answering. */
function unanswered(err: unknown): boolean {
  return err instanceof PeerUnavailableError && (err.reason === 'timeout' || err.reason === 'unreachable');
}

export class GuardedPeer {
  readonly client: PeerClient;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly consecutive: ConsecutiveBreaker;
  /** Answers the peer gave (any call): a waiter compares it with the count when it started waiting. */
  private answers = 0;
  private suspectSince: number | null = null;
  /** The last miss counted on the lean path: the callers of one failed batch share its error, and it is one miss. */
  private lastMiss: unknown = undefined;
  private opened = 0;

  constructor(
    client: PeerClient,
    options: PeerGuardOptions,
    onChange?: (state: BreakerState, peer: GuardedPeer) => void,
  ) {
    this.client = client;
    this.consecutive = new ConsecutiveBreaker(options.failures);
    // A probe the transport refused unsent is a failed probe: the peer has not answered yet.
    const failed = (err: Error): boolean => isMiss(err) || (err instanceof NotConnectedError && this.breaker.state === CircuitState.HalfOpen);
    this.breaker = circuitBreaker(handleWhen(failed), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: this.consecutive,
    });
    this.breaker.onBreak(() => {
      this.opened++;
      this.suspectSince ??= Date.now();
      onChange?.('open', this);
    });
    this.breaker.onReset(() => {
      this.suspectSince = null;
      onChange?.('closed', this);
    });
  }

  get id(): string {
    return this.client.id;
  }

  get peer(): NodeInfo {
    return this.client.peer;
  }

  /** Connection state (transport-defined). */
  state(): string {
    return this.client.state();
  }

  /** Suspect: its breaker is open (or a probe is running). Its keys are loaded locally meanwhile. */
  get suspect(): boolean {
    return this.breaker.state !== CircuitState.Closed;
  }

  get breakerState(): BreakerState {
    switch (this.breaker.state) {
      case CircuitState.Closed:
        return 'closed';
      case CircuitState.HalfOpen:
        return 'half-open';
      default:
        return 'open';
    }
  }

  stats(): { breaker: BreakerState; suspectSince: number | null; timesSuspect: number; calls: PeerClientStats } {
    return { breaker: this.breakerState, suspectSince: this.suspectSince, timesSuspect: this.opened, calls: this.client.stats() };
  }

  /**
   * A key from its owner, waiting at most `ownerTimeoutMs` of silence (the RPC itself has
   * `timeoutMs`). The common case — a healthy peer (breaker closed, no miss since its last answer)
   * whose transport keeps the owner deadline — costs one promise on top of the transport's: the
   * outcome goes to the breaker only when it is a miss (a success would change nothing).
   */
  fetch(group: string, key: string, timeoutMs: number, ownerTimeoutMs: number): Promise<FetchResult> {
    if (this.client.ownerDeadlines === true && this.consecutive.state === 0 && this.breaker.state === CircuitState.Closed) {
      return this.client.fetch(group, key, timeoutMs, ownerTimeoutMs).then(this.answered, this.missedOrAnswered);
    }
    if (this.client.ownerDeadlines === true) return this.guard(() => this.client.fetch(group, key, timeoutMs, ownerTimeoutMs));
    return this.guard(() => this.client.fetch(group, key, timeoutMs), ownerTimeoutMs);
  }

  /** The previous owner's copy of a key this node gained recently (undefined: none; null: it holds nothing at all). */
  handoff(group: string, key: string, ownerTimeoutMs: number): Promise<FetchResult | null> {
    return this.guard(() => this.client.handoff(group, key, ownerTimeoutMs), ownerTimeoutMs);
  }

  set(group: string, key: string, value: Uint8Array, ttl: number | undefined, timeoutMs: number): Promise<void> {
    return this.guard(() => this.client.set(group, key, value, ttl, timeoutMs));
  }

  remove(group: string, keys: readonly string[], timeoutMs: number): Promise<number> {
    return this.guard(() => this.client.remove(group, keys, timeoutMs));
  }

  invalidate(group: string, key: string, timeoutMs: number): Promise<void> {
    return this.guard(() => this.client.invalidate(group, key, timeoutMs));
  }

  invalidateMany(group: string, keys: readonly string[], timeoutMs: number): Promise<void> {
    return this.guard(() => this.client.invalidateMany(group, keys, timeoutMs));
  }

  /** Drop every entry of `group` on the peer, waiting at most `ownerTimeoutMs` of its silence. */
  flush(group: string, timeoutMs: number, ownerTimeoutMs: number): Promise<number> {
    return this.guard(() => this.client.flush(group, timeoutMs), ownerTimeoutMs);
  }

  close(): void {
    this.client.close();
  }

  private guard<T>(call: () => Promise<T>, ownerTimeoutMs?: number): Promise<T> {
    // While a probe is running the peer stays suspect for everyone else (cockatiel would make
    // them wait for the probe instead).
    if (this.breaker.state === CircuitState.HalfOpen) return Promise.reject(this.suspectError());
    return this.breaker.execute(() => this.observe(call, ownerTimeoutMs)).catch((err: unknown) => {
      throw isBrokenCircuitError(err) ? this.suspectError() : err;
    });
  }

  /**
   * Run the call and note whether the peer answered. With an owner deadline, the wait is cut when
   * the peer answered nothing — this call or any other — for `ownerTimeoutMs`: a hung peer costs
   * one owner deadline. A peer that keeps answering other calls is alive but busy (a slow load):
   * the wait goes on, checked again every `ownerTimeoutMs`, up to the call's own deadline, so a
   * slow origin is not loaded a second time by every node that asked.
   */
  private observe<T>(call: () => Promise<T>, ownerTimeoutMs: number | undefined): Promise<T> {
    let p: Promise<T>;
    try {
      p = call();
    } catch (err) {
      p = Promise.reject(err);
    }
    p.then(
      () => this.heard(),
      (err: unknown) => {
        if (!unanswered(err)) this.heard();
      },
    );
    if (ownerTimeoutMs === undefined) return p;
    return new Promise<T>((resolve, reject) => {
      let since = this.answers;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      const decide = (): void => {
        if (settled) return;
        if (this.answers > since) {
          since = this.answers; // it answered something meanwhile: alive, keep waiting
          timer = setTimeout(check, ownerTimeoutMs);
          return;
        }
        reject(new PeerUnavailableError(`peer ${this.id}: no answer within the owner deadline (${ownerTimeoutMs} ms)`, this.id, 'timeout'));
      };
      // Timers run before pending I/O in a loop turn: after a long turn of this process, answers
      // may be waiting in the socket. Decide after the I/O of this turn (setImmediate), so this
      // node's own lag is not taken for the peer's silence.
      const check = (): void => void setImmediate(decide);
      timer = setTimeout(check, ownerTimeoutMs);
      p.then(
        (v) => {
          settled = true;
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          settled = true;
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  private heard(): void {
    this.answers++;
  }

  private readonly answered = (v: FetchResult): FetchResult => {
    this.heard();
    return v;
  };

  /** A fetch failed on the lean path: a miss counts for the breaker (through cockatiel), an answer does not. */
  private readonly missedOrAnswered = (err: unknown): never => {
    if (isMiss(err)) {
      if (err !== this.lastMiss && this.breaker.state === CircuitState.Closed) {
        this.lastMiss = err;
        void this.breaker.execute(() => Promise.reject(err)).catch(() => {});
      }
    } else if (!unanswered(err)) {
      this.heard();
    }
    throw err;
  };

  private suspectError(): PeerUnavailableError {
    return new PeerUnavailableError(`peer ${this.id} is suspect (it missed its recent deadlines); not called`, this.id, 'suspect');
  }
}
